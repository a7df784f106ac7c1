#!/usr/bin/env bats
# Flow control (issue 10): max_length with overflow = refuse or drop-oldest,
# the min_free reserve, the pause file.

load test_helper

teardown() {
	if [ -n "${MNT:-}" ] && mountpoint -q "$MNT"; then
		umount "$MNT"
	fi
}

# limit Q KEY VALUE: set a setting in Q/config.
limit() {
	echo "$2 = $3" >>"$1/config"
}

@test "a full queue refuses a put: exit 5, said so, nothing left" {
	mkq q
	limit q max_length 2
	put q >/dev/null
	put q >/dev/null
	run -5 --separate-stderr put q
	[ -z "$output" ]
	[ "$stderr" = "mqput: q: full (max_length = 2): 1 message refused" ]
	[ "$(count q/new)" = 2 ]
	[ "$(count q/tmp)" = 0 ]
}

@test "a batch into an almost full queue: the ids printed are those enqueued" {
	mkq q
	limit q max_length 5
	put q >/dev/null
	run -5 --separate-stderr mqput -l q < <(seq 10)
	[ "${#lines[@]}" = 4 ]
	[ "$stderr" = "mqput: q: full (max_length = 5): 6 messages refused" ]
	for id in "${lines[@]}"; do [ -e "q/new/$id" ]; done
	[ "$(count q/new)" = 5 ]
	[ "$(count q/tmp)" = 0 ]
	# A consumer makes room; the producer goes on.
	mqget -n 2 q | mqack
	run -0 mqput -l q < <(seq 2)
}

@test "claims in flight do not count: max_length is of new/" {
	mkq q
	limit q max_length 1
	put q >/dev/null
	mqget q >/dev/null
	run -0 put q
}

@test "drop-oldest: the oldest waiting goes to dead/ with reason overflow" {
	mkq q
	limit q max_length 3
	limit q overflow drop-oldest
	for i in 1 2 3 4 5; do echo "m$i" | mqput q >>ids; done
	[ "$(count q/new)" = 3 ]
	[ "$(count q/dead)" = 2 ]
	# The two first, each whole, named for the reason.
	for i in 1 2; do
		id=$(sed -n "${i}p" ids)
		[ "$(cat "q/dead/$id,roverflow")" = "m$i" ]
	done
	for i in 3 4 5; do [ -e "q/new/$(sed -n "${i}p" ids)" ]; done
	# A dead letter comes back as any other (mqreap -k).
	run -0 mqreap -k "q/dead/$(sed -n 1p ids),roverflow"
}

@test "bad limits in the config are refused with their line" {
	mkq q
	limit q overflow drop-newest
	run -100 --separate-stderr mqput q <<<x
	[[ $stderr == "mqput: q/config:"*": overflow: bad value" ]]
	mkq r
	limit r min_free 100%
	run -100 --separate-stderr mqget r
	[[ $stderr == *"min_free: bad value" ]]
	mkq s
	limit s max_length -1
	run -100 mqget s
}

# small SIZE: a tmpfs of SIZE at ./small with a queue small/q in it.
small() {
	mkdir -p small
	mount -t tmpfs -o size="$1" tmpfs small 2>/dev/null ||
		skip "cannot mount tmpfs"
	MNT=$BATS_TEST_TMPDIR/small
	mkq small/q
}

@test "below min_free puts are refused, exit 5; consumers still work" {
	small 1m
	put small/q >/dev/null
	limit small/q min_free 600k
	run -0 put small/q
	# Fill the file system past the reserve, as another writer would.
	head -c 500k /dev/zero >small/filler
	run -5 --separate-stderr put small/q
	[ "$stderr" = "mqput: small/q: file system below min_free: 1 message refused" ]
	[ -z "$output" ]
	[ "$(count small/q/new)" = 2 ]
	[ "$(count small/q/tmp)" = 0 ]
	mqget -n 2 small/q | mqack
	[ "$(count small/q/done)" = 2 ]
	rm small/filler
	run -0 put small/q
}

@test "min_free as a percentage" {
	small 1m
	limit small/q min_free 40%
	run -0 put small/q
	head -c 700k /dev/zero >small/filler
	run -5 put small/q
}

@test "a really full file system is a temporary failure, not a refusal" {
	small 256k
	limit small/q min_free 1k
	head -c 300k /dev/urandom >big
	run -111 --separate-stderr mqput small/q <big
	[[ $stderr == "mqput: small/q/tmp/"*": No space left on device" ]]
	[ "$(count small/q/new)" = 0 ]
	[ "$(count small/q/tmp)" = 0 ]
}

@test "a paused queue: mqget says so (exit 6), puts go on" {
	mkq q
	put q >/dev/null
	touch q/paused
	run -6 --separate-stderr mqget q
	[ "$stderr" = "mqget: q: paused (remove q/paused to resume)" ]
	[ -z "$output" ]
	run -0 put q
	[ "$(count q/new)" = 2 ]
	# A wait that runs out on a paused queue says so too.
	run -6 mqget -w 100ms q
	rm q/paused
	run -0 mqget q
}

@test "mqget -w on a paused queue resumes as soon as the pause file goes" {
	mkq q
	put q >/dev/null
	touch q/paused
	mqget -w 60s q >got 3>&- &
	pid=$!
	until_ok has_fd "$pid" signalfd
	# Still paused: it has claimed nothing.
	[ "$(count q/cur)" = 0 ]
	rm q/paused
	wait "$pid"
	[ "$(cat "$(cat got)")" = body ]
}

@test "mqget -w paused while it waits: a message waits with it, and comes once the pause file goes" {
	mkq q
	mqget -w 60s q >got 3>&- &
	pid=$!
	until_ok looked "$pid" q
	touch q/paused
	put q >/dev/null
	# Woken by the arrival, it finds the queue paused and waits on.
	kill -0 "$pid"
	[ "$(count q/cur)" = 0 ]
	rm q/paused
	wait "$pid"
	[ "$(cat "$(cat got)")" = body ]
}

@test "a waiting mqget does not rescan for the hints' rewrites, only for arrivals" {
	command -v strace >/dev/null || skip "no strace"
	mkq q
	strace -f -o trace -e trace=lseek mqget -w 60s q >got 3>&- &
	pid=$!
	# The traced mqget is strace's child.
	traced_looked() { looked "$(pgrep -P "$pid" mqget)" q; }
	until_ok traced_looked
	# Names leaving the queue directory, as a rewritten hint's do.
	for i in $(seq 20); do
		: >q/.index.new
		mv q/.index.new q/.x
		rm q/.x
	done
	put q >/dev/null
	wait "$pid"
	[ "$(cat "$(cat got)")" = body ]
	# One rescan (a rewind of new/): the arrival's.
	[ "$(grep -c 'lseek(.*, 0, SEEK_SET)' trace)" = 1 ]
}

@test "mqwatch stops claiming as soon as the pause file appears, and resumes when it goes" {
	mkq q
	mqwatch -n 2 q -- sh -c 'cat >>handled' 3>&- &
	pid=$!
	until_ok has_fd "$pid" inotify
	put q >/dev/null
	until_ok test -s handled
	touch q/paused
	put q >/dev/null
	# Nothing is claimed while paused (its coming is an inotify event).
	run -2 inotifywait -qq -t 1 -e moved_to q/cur
	[ "$(count q/new)" = 1 ]
	rm q/paused
	wait "$pid"
	[ "$(cat handled)" = "$(printf 'body\nbody')" ]
}

@test "mqwatch waits while paused and handles the message once resumed" {
	mkq q
	touch q/paused
	put q >/dev/null
	mqwatch -n 1 q -- sh -c 'cat >handled' 3>&- &
	pid=$!
	until_ok has_fd "$pid" inotify
	[ ! -e handled ]
	[ "$(count q/cur)" = 0 ]
	rm q/paused
	wait "$pid"
	[ "$(cat handled)" = body ]
}

@test "concurrent putters into a limited queue: no message lost or half-made" {
	mkq q
	limit q max_length 20
	pids=()
	for i in $(seq 1 40); do
		(rc=0; echo "m$i" | mqput q >"id$i" 2>/dev/null || rc=$?
		    echo "$rc" >"rc$i") 3>&- &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p"; done
	ok=0
	for i in $(seq 1 40); do
		rc=$(cat "rc$i")
		if [ "$rc" = 0 ]; then
			ok=$((ok + 1))
			[ "$(cat "q/new/$(cat "id$i")")" = "m$i" ]
		else
			[ "$rc" = 5 ] && [ ! -s "id$i" ]
		fi
	done
	echo "accepted $ok of 40, in new/ $(count q/new)"
	[ "$ok" = "$(count q/new)" ]
	[ "$ok" -ge 20 ]
	[ "$(count q/tmp)" = 0 ]
}

@test "SIGKILL at each syscall of drop-oldest: every message in new/ or dead/" {
	command -v strace >/dev/null || skip "no strace"
	for n in 1 2 3; do
		rm -rf q
		mkq q
		limit q max_length 2
		limit q overflow drop-oldest
		put q >/dev/null
		put q >/dev/null
		# renameat2 1 puts the new message into new/, 2 buries the oldest.
		run strace -f -o /dev/null -e inject=renameat2:signal=KILL:when=$n \
			mqput q <<<last
		[ $(( $(count q/new) + $(count q/dead) )) -ge 2 ]
		[ $(( $(count q/new) + $(count q/dead) )) -le 3 ]
		[ "$(count q/tmp)" -le 1 ]
		for f in q/dead/*; do
			[ -e "$f" ] || continue
			[[ $f == *,roverflow ]]
		done
	done
}
