#!/usr/bin/env bats
# The claim index (src/lib/index.c): a hint that spares one-shot claims the
# full scan of a long new/, and never changes what is claimed.

load test_helper

# fill Q N: N one-line messages "1".."N", in that order, without syncing
fill() {
	seq "$2" | mqput -S -q -l "$1"
}

@test "a long backlog leaves a hidden index; ls new/ shows only messages" {
	mkq q
	fill q 200
	run -0 mqget q
	[ -f q/.index ]
	[ "$(count q/new)" = 199 ]
	run -0 ls -A q/new
	[ "${#lines[@]}" = 199 ]
	[[ $output != *$'\n'.* && $output != .* ]]
}

@test "claims through the index come in arrival order, none twice" {
	mkq q
	fill q 300
	for i in $(seq 300); do
		mqget -b q
	done >bodies
	run -0 seq 300
	[ "$(cat bodies)" = "$output" ]
	run -1 mqget q
}

@test "an odd entry at the head of new/ makes no claim jump ahead, with an index or without" {
	echo x >outside
	for q in a b c; do
		mkq $q
		# Older than every message: the first entry of every scan.
		ln outside $q/new/1000000000.000001.hard
		fill $q 100
		for i in $(seq 100); do
			mqget -b $q 2>>err
		done >bodies
		run -0 seq 100
		[ "$(cat bodies)" = "$output" ]
		# Skipped, and left alone.
		[ "$(ls $q/new)" = 1000000000.000001.hard ]
	done
	grep -q "hard: skipped: has more than one link" err
}

@test "a waiting mqget woken to a long backlog claims its head and indexes the rest" {
	mkq q
	mqget -w 30 q >got &
	pid=$!
	until_ok looked "$pid" q
	kill -STOP "$pid"
	fill q 100
	kill -CONT "$pid"
	wait "$pid"
	[ "$(cat "$(cat got)")" = 1 ]
	[ -f q/.index ]
	for i in $(seq 99); do
		mqget -b q
	done >bodies
	run -0 seq 2 100
	[ "$(cat bodies)" = "$output" ]
}

@test "a message put while the index is in use is claimed after the indexed ones" {
	mkq q
	fill q 100
	run -0 mqget -b q
	[ "$output" = 1 ]
	echo late | mqput -q q
	run -0 mqget -b -n 200 q
	[ "${lines[0]}" = 2 ]
	[ "${lines[98]}" = 100 ]
	[ "${lines[99]}" = late ]
}

@test "a released message comes back once the index is spent" {
	mkq q
	fill q 100
	p=$(mqget q)
	mqack -r "$p"
	run -0 mqget -b -n 200 q
	[ "${#lines[@]}" = 100 ]
	[ "${lines[99]}" = 1 ] || [ "${lines[0]}" = 1 ]
}

@test "a garbage or foreign index is only a hint: nothing is lost or taken twice" {
	mkq q
	fill q 100
	run -0 mqget q
	printf 'mqindex1 9999999999999 000000000036\n../../etc/passwd\n.x\n' >q/.index
	run -0 mqget -b -n 200 q
	[ "${#lines[@]}" = 99 ]
	printf 'junk\n' >q/.index
	echo more | mqput -q q
	run -0 mqget -b q
	[ "$output" = more ]
}

@test "an index pointing at taken names costs retries, not messages" {
	mkq q
	fill q 100
	run -0 mqget q
	cp q/.index saved
	run -0 mqget -n 50 q
	cp saved q/.index
	run -0 mqget -b -n 200 q
	[ "${#lines[@]}" = 49 ]
	[ "${lines[0]}" = 52 ]
}

@test "concurrent claimers through the index: each message exactly once" {
	mkq q
	fill q 2000
	for w in 1 2 3; do
		(while mqget -b -n 7 q; do :; done >out.$w) 3>&- &
	done
	wait
	run -0 sh -c 'cat out.* | sort -n | uniq | wc -l'
	[ "$output" = 2000 ]
	run -0 sh -c 'cat out.* | wc -l'
	[ "$output" = 2000 ]
}

# hold BYTE of q/.index with an OFD write lock until lockfifo is written to
hold_index_lock() {
	mkfifo lockfifo
	python3 -c '
import fcntl, os, struct, sys
fd = os.open("q/.index", os.O_RDWR)
fcntl.fcntl(fd, fcntl.F_OFD_SETLKW,
    struct.pack("hhqqi", fcntl.F_WRLCK, 0, int(sys.argv[1]), 1, 0))
print("held", flush=True)
open("lockfifo").read()
' "$1" >held 3>&- &
	until_ok grep -q held held
}

@test "claimers reserve their names under the index lock: a held lock holds them" {
	mkq q
	fill q 200
	run -0 mqget -b q
	[ "$output" = 1 ]
	hold_index_lock 0
	mqget -b -n 5 q >got 3>&- &
	pid=$!
	# nothing is claimed while the cursor is locked
	run -2 inotifywait -qq -t 1 -e moved_to q/cur
	[ "$(count q/cur)" = 0 ]
	echo >lockfifo
	wait "$pid"
	run -0 seq 2 6
	[ "$(cat got)" = "$output" ]
}

@test "a spent index is scanned for by one claimer; the others wait for its index" {
	mkq q
	fill q 200
	run -0 mqget -b q
	# spend the index: its cursor at its end
	size=$(stat -c %s q/.index)
	printf '%012d' "$size" | dd of=q/.index bs=1 seek=23 conv=notrunc status=none
	hold_index_lock 1
	mqget -b -n 3 q >got 3>&- &
	pid=$!
	# the claimer waits for the scanner (here: the lock holder)
	run -2 inotifywait -qq -t 1 -e moved_to q/cur
	echo >lockfifo
	wait "$pid"
	# and then scans itself, as no new index came: nothing lost, in order
	run -0 seq 2 4
	[ "$(cat got)" = "$output" ]
}

# The note of cur/ (src/lib/sweep.c): a claim that looked at every entry
# of cur/ leaves QUEUE/.cur, and for a second the next claims skip cur/
# while nothing there can be due and none of its owners died.

@test "a look at all of cur/ leaves a note: the next claim stats no claim held" {
	mkq q
	fill q 50
	run -0 mqget -n 50 q
	[ -f q/.cur ]
	run -1 strace -o trace -e trace=newfstatat mqget q
	# none of the 50 claims in cur/ was looked at
	[ "$(count q/cur)" = 50 ]
	run -1 grep -c ',d1,c' trace
}

@test "the note hides no claim whose deadline passes" {
	mkq q
	echo m | mqput -q q
	run -0 mqget -t 1s q
	[ -f q/.cur ]
	run -0 mqget -w 10s -b q
	[ "$output" = m ]
}

@test "the note names the owners it saw: one that dies gives its claims back" {
	mkq q
	echo m | mqput -q q
	sleep 1000 >/dev/null 2>&1 3>&- &
	pid=$!
	run -0 mqget -p "$pid" -t 1h q
	grep -q -- "-$pid\$" q/.cur
	kill "$pid"
	wait "$pid" || true
	# without the owner's death this would wait an hour
	run -0 mqget -w 10s -b q
	[ "$output" = m ]
}

@test "a note is trusted for a second at most, and not from the future" {
	mkq q
	echo m | mqput -q q
	run -0 mqget -t 1s q
	# a note claiming nothing is due for ever, written now
	printf 'mqcur1 %013d 9999999999999\n' "$(date +%s%3N)" >q/.cur
	run -0 mqget -w 10s -b q
	[ "$output" = m ]
	echo n | mqput -q q
	run -0 mqget -t 1s q
	printf 'mqcur1 9999999999999 9999999999999\n' >q/.cur
	run -0 mqget -w 10s -b q
	[ "$output" = n ]
}

@test "a FIFO in cur/ leaves no note: every claim still says so" {
	mkq q
	mkfifo q/cur/1000000000.000001.fifo,d1,c1
	run -1 --separate-stderr mqget q
	[[ $stderr == *"skipped: a FIFO"* ]]
	[ ! -e q/.cur ]
	run -1 --separate-stderr mqget q
	[[ $stderr == *"skipped: a FIFO"* ]]
}
