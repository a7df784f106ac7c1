#!/usr/bin/env bats
# Waiting for the work (issue 20): mqwait, mqput -W, results (mqack -R,
# mqwatch's MQ_RESULT), end records in ends/, each end with its status.

load test_helper

# waiter OUT ARGS...: mqwait ARGS in the background, stdout to OUT, its exit
# status to OUT.rc; returns once it is registered for every id given.
waiter() {
	local out=$1 q=$2 id
	shift
	# Not "cmd; echo $?": bats runs tests under set -e, subshells too.
	(r=0; mqwait "$@" >"$out" 2>"$out.err" || r=$?; echo $r >"$out.rc") \
	    3>&- &
	shift
	for id; do
		[[ $id == -* ]] && continue
		until_ok test -p "$q/ends/wait/$id" || return 1
	done
	# Registered is not yet holding the FIFO: wait for its descriptor.
	within 60 holders "$q" 1 || return 1
}

# has_new Q: a message is in Q/new/.
has_new() {
	[ -n "$(ls "$1/new")" ]
}

# holders Q N: mqput and mqwait processes hold at least N descriptors of
# FIFOs of this test's Q/ends/wait/ (one ls for them all: on a loaded
# machine, reading every process's fds took seconds).
holders() {
	local pids fifos=$PWD/$1/ends/wait/
	pids=$(pgrep -d ' ' -x 'mqput|mqwait') || return 1
	[ "$(cd /proc && ls -l $(printf '%s/fd ' $pids) 2>/dev/null |
	    grep -c "$fifos")" -ge "$2" ]
}

# lines_in FILE N: FILE has at least N lines.
lines_in() {
	[ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]
}

# done_rc OUT: the exit status of the waiter writing OUT, once it is done.
done_rc() {
	until_ok test -s "$1.rc" || return 1
	cat "$1.rc"
}

@test "mqwait says a message was acknowledged, and -r prints its result" {
	mkq q
	id=$(put q)
	waiter w q "$id"
	m=$(mqget q)
	echo 'the answer' | mqack -R - "$m"
	[ "$(done_rc w)" = 0 ]
	[ "$(cat w)" = "$id acknowledged" ]
	run -0 mqwait -r q "$id"
	[ "$output" = "the answer" ]
	# The record is a plain file: the end, then the result.
	[ "$(cat "q/ends/$id")" = "$(printf 'acknowledged\nthe answer')" ]
}

# The record comes before the move to done/: a waiter that looked for it a
# moment too early, then finds the message in done/, must look again
# (CI once saw live video's requesters exit 0 with no result).  strace
# makes that moment: the waiter's last open of the record (the one that
# finds it, counted in a plain run) is told ENOENT.
@test "a waiter that misses the record by a moment and then finds its message in done/ still prints the result" {
	mkq q
	id=$(put q -K k)
	echo 'the answer' | mqack -R - "$(mqget q)"
	# Twice: the first makes ends/wait/, which the second finds.
	mqwait q "$id" >/dev/null
	strace -o plain -e trace=openat mqwait -r q "$id" >/dev/null
	n=$(grep -n "\"$id\"" plain | tail -n 1 | cut -d: -f1)
	run -0 strace -o missed -e trace=openat \
	    -e inject=openat:error=ENOENT:when="$n" mqwait -r q "$id"
	grep "\"$id\".*(INJECTED)" missed
	[ "$output" = "the answer" ]
}

@test "a waiter on a dead-lettered message exits 7 with the reason" {
	mkq q
	id=$(put q)
	waiter w q "$id"
	mqack -f bad-input "$(mqget q)"
	[ "$(done_rc w)" = 7 ]
	[ "$(cat w)" = "$id dead bad-input" ]
}

@test "a waiter on a message expired by its TTL exits 8" {
	command -v faketime >/dev/null || skip "no faketime"
	mkq q
	id=$(put q -e 1m)
	waiter w q "$id"
	faketime -f '+2h' mqreap q
	[ "$(done_rc w)" = 8 ]
	[ "$(cat w)" = "$id expired" ]
}

@test "a waiter on a purged message exits 9" {
	mkq q
	id=$(put q)
	waiter w q "$id"
	mqpurge -s waiting q
	[ "$(done_rc w)" = 9 ]
	[ "$(cat w)" = "$id purged" ]
}

@test "a waiter on a message moved to another queue exits 9" {
	mkq q
	mkq r
	id=$(put q)
	waiter w q "$id"
	mqmove -s waiting q r
	[ "$(done_rc w)" = 9 ]
	[ "$(cat w)" = "$id moved" ]
	[ "$(count r/new)" = 1 ]
}

@test "an unknown id is an error (100), a malformed one usage (2), a missing queue 100" {
	mkq q
	run -100 --separate-stderr mqwait q 1796219970.644072.P1Q0R0.nohost
	[[ $stderr == *"no such message"* ]]
	run -2 --separate-stderr mqwait q ../etc/passwd
	[[ $stderr == *"not a message id"* ]]
	id=$(put q)
	run -2 mqwait q "$id,d1"
	run -100 --separate-stderr mqwait nosuch "$id"
	[[ $stderr == *"no such queue"* ]]
}

@test "a wait that runs out exits 1 and leaves the message alone" {
	mkq q
	id=$(put q)
	run -1 mqwait -t 200ms q "$id"
	[ -z "$output" ]
	[ "$(count q/new)" = 1 ]
}

@test "a late waiter learns the end from done/ and dead/, or from a keyed message's record" {
	mkq q
	a=$(put q)
	b=$(put q)
	c=$(put q -K k1)
	mqack "$(mqget q)"
	mqack -f nope "$(mqget q)"
	mqack "$(mqget q)"
	run -7 mqwait q "$a" "$b" "$c"
	[ "${lines[0]}" = "$a acknowledged" ]
	[ "${lines[1]}" = "$b dead nope" ]
	[ "${lines[2]}" = "$c acknowledged" ]
	[ -f "q/ends/$c" ]
	# Unkeyed ends nobody waited for wrote no record.
	[ ! -e "q/ends/$a" ] && [ ! -e "q/ends/$b" ]
}

@test "with keep_done = no a plain ack nobody waited for is unknown; record_ends = yes keeps it" {
	mkq q
	echo 'keep_done = no' >>q/config
	a=$(put q)
	mqack "$(mqget q)"
	run -100 mqwait q "$a"
	echo 'record_ends = yes' >>q/config
	b=$(put q)
	mqack "$(mqget q)"
	run -0 mqwait q "$b"
	[ "$output" = "$b acknowledged" ]
}

# calls OUT CMD...: CMD under strace, its fsync, renames and unlinks in OUT.
calls() {
	local out=$1
	shift
	strace -f -e trace=openat,fsync,rename,renameat,renameat2,unlinkat \
	    -o "$out" "$@"
}

@test "an end that deletes a message someone waits for is recorded and synced before the message goes" {
	mkq q
	echo 'keep_done = no' >>q/config
	id=$(put q)
	run -1 mqwait -t 0 q "$id"	# its registration stays
	c=$(mqget q)
	calls s mqack "$c"
	run -0 mqwait q "$id"
	[ "$output" = "$id acknowledged" ]
	# The record's name in ends/, the fsync of ends/, then the unlink.
	rec=$(grep -n "rename.*\"$id\")" s | cut -d: -f1)
	gone=$(grep -n "unlinkat([0-9]*, \"${c##*/}\"" s | cut -d: -f1)
	[ -n "$rec" ] && [ -n "$gone" ] && [ "$rec" -lt "$gone" ]
	sed -n "$rec,${gone}p" s | grep -q '^[0-9]* *fsync('
}

@test "an end that leaves its message in done/ writes its record in place, unsynced: done/ tells it" {
	mkq q
	id=$(put q)
	run -1 mqwait -t 0 q "$id"
	calls s mqack "$(mqget q)"
	grep -q "openat(.*\"ends/$id\", O_WRONLY|O_CREAT|O_EXCL" s
	! grep -q 'rename.*ends' s
	# No fsync more than an ack nobody waits for makes.
	mkq r
	calls t mqack "$(put r >/dev/null; mqget r)"
	[ "$(grep -c 'fsync(' s)" = "$(grep -c 'fsync(' t)" ]
	# A record cut short (its writer killed before its line) is no
	# record: a waiter learns the end where the message is.
	: >"q/ends/$id"
	run -0 mqwait q "$id"
	[ "$output" = "$id acknowledged" ]
}

@test "ends/ that cannot be opened is an error of mqwait and mqput -W, not 'nothing recorded'" {
	mkq q
	id=$(put q)
	mqack "$(mqget q)"
	echo planted >q/ends
	run -100 --separate-stderr mqwait -t 5s q "$id"
	[ "$stderr" = "mqwait: q/ends: Not a directory" ]
	run -100 --separate-stderr mqput -W 5s q <<<x
	[[ "$stderr" == "mqput: q/ends: Not a directory"* ]]
	[ "$(count q/new)" = 0 ]
}

@test "mqput -W puts, waits and prints the result instead of the id" {
	mkq q
	(r=0; echo question | mqput -W 30s q >out || r=$?; echo $r >out.rc) \
	    3>&- &
	until_ok has_new q
	m=$(mqget q)
	[ "$(cat "$m")" = question ]
	echo answer | mqack -R - "$m"
	[ "$(done_rc out)" = 0 ]
	[ "$(cat out)" = answer ]
}

@test "mqput -W says how a message that was not acknowledged ended" {
	mkq q
	(r=0; echo x | mqput -W 30s q >out 2>err || r=$?; echo $r >out.rc) \
	    3>&- &
	until_ok has_new q
	mqack -f broken "$(mqget q)"
	[ "$(done_rc out)" = 7 ]
	[ ! -s out ]
	grep -q 'dead broken' err
	run -1 --separate-stderr mqput -W 100ms q <<<y
	[[ $stderr == *"not ended yet"* ]]
	run -2 mqput -l -W 1s q <<<z
}

@test "every requester coalesced by -K -W waits for the one message and gets its result" {
	mkq q
	for i in 1 2 3 4; do
		(r=0; echo seg | mqput -K seg9 -W 30s q >"out$i" || r=$?
		    echo $r >"out$i.rc") 3>&- &
	done
	within 60 holders q 4
	[ "$(count q/new)" = 1 ]
	m=$(mqget q)
	echo 'segment nine' | mqack -R - "$m"
	for i in 1 2 3 4; do
		[ "$(done_rc "out$i")" = 0 ]
		[ "$(cat "out$i")" = 'segment nine' ]
	done
}

@test "an mqwatch handler leaves its result in MQ_RESULT" {
	mkq q
	id=$(put q)
	mqwatch -n 1 q -- sh -c 'echo "got $(cat)" >"$MQ_RESULT"'
	run -0 mqwait -r q "$id"
	[ "$output" = "got body" ]
	# Nothing left behind for the next handler.
	[ -z "$(ls -A q/ends | grep '^\.')" ]
}

@test "a result larger than max_size is refused (100) and the claim stays" {
	mkq q
	echo 'max_size = 10' >>q/config
	put q >/dev/null
	m=$(mqget q)
	run -100 --separate-stderr mqack -R - "$m" <<<'a result far too long'
	[[ $stderr == *"larger than max_size"* ]]
	[ -f "$m" ]
}

@test "a waiter killed changes nothing; its end is still recorded" {
	mkq q
	id=$(put q)
	waiter w q "$id"
	kill -9 $(pgrep -f "mqwait q $id")
	until_ok test -s w.rc
	[ "$(count q/new)" = 1 ]
	mqack "$(mqget q)"
	run -0 mqwait q "$id"
	[ "$output" = "$id acknowledged" ]
}

@test "a consumer killed mid-work: the message is retried and the waiter still gets its end" {
	mkq q
	id=$(put q)
	waiter w q "$id"
	mqget -t 1s q >/dev/null
	# The consumer died: its claim expires, and mqreap brings it back.
	reaped() { mqreap q && has_new q; }
	until_ok reaped
	[ ! -s w.rc ]
	m=$(mqget q)
	echo second | mqack -R - "$m"
	[ "$(done_rc w)" = 0 ]
	run -0 mqwait -r q "$id"
	[ "$output" = second ]
}

@test "mqreap forgets records past end_retention and registrations nobody refreshed" {
	mkq q
	id=$(put q -K k)
	mqack "$(mqget q)"
	mkdir -p q/ends/wait && mkfifo q/ends/wait/stale.id
	[ -f "q/ends/$id" ]
	run -0 mqreap -v q
	[ -f "q/ends/$id" ]
	touch -d '-2 days' "q/ends/$id"
	touch -d '-1 hour' q/ends/wait/stale.id
	run -0 mqreap -v q
	[[ $output == *"forget q/ends/$id"* ]]
	[[ $output == *"unwait q/ends/wait/stale.id"* ]]
	[ ! -e "q/ends/$id" ]
	[ ! -e q/ends/wait/stale.id ]
}

@test "1000 waiters on one queue, past the 128 inotify instances: every one returns" {
	mkq q
	local i ids=()
	for i in $(seq 5); do ids+=("$(put q)"); done
	for i in $(seq 1000); do
		(r=0; mqwait -t 600s q "${ids[i % 5]}" >/dev/null || r=$?
		    echo $r >>rcs) 3>&- &
	done
	within 300 holders q 1000
	mqget -n 5 q | mqack
	within 300 lines_in rcs 1000
	[ "$(grep -cx 0 rcs)" = 1000 ]
}

# within SECONDS CMD...: true once CMD succeeds, false after SECONDS of
# the clock (a bounded poll, for the many-process tests on a loaded
# machine, where CMD itself may take a while).
within() {
	local end=$(($(date +%s) + $1))
	shift
	until "$@"; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.05
	done
}

# requesters: req.sh I, one viewer of segment I % 5, "mqput -K SEG -W";
# writes req/I: the segment, the exit status, whether the segment's cache
# file existed when it returned, and what it printed (the result).  A sh
# script, not a function: 500 forks of bats' bash are much heavier.
requesters() {
	cat >req.sh <<-'EOS'
	s=$(($1 % 5)) r=0 c=early
	out=$(echo "segment $s" | mqput -K "seg$s" -W 600s live) || r=$?
	[ -e "cache/seg$s" ] && c=cached
	echo "$s $r $c $out" >"req/$1.tmp" && mv "req/$1.tmp" "req/$1"
	EOS
}

# The consumers' handler: "fetch" (0.2 s), fill the cache, answer.  Two
# fetches of one segment at once are recorded in overlaps.
fetcher() {
	cat >fetch.sh <<-'EOS'
	seg=$(cat); n=${seg#segment }
	mkdir "inflight/$n" 2>/dev/null || echo "$n" >>overlaps
	echo "$n" >>fetches
	sleep 0.2
	echo "data of $seg" >"cache/seg$n.tmp" && mv "cache/seg$n.tmp" "cache/seg$n"
	rmdir "inflight/$n"
	echo "result $seg" >"$MQ_RESULT"
	EOS
}

# every requester returned 0 with its segment's result, after its cache file
all_served() {
	local f bad=0
	for f in req/*; do
		read -r s r c out <"$f"
		[ "$r $c $out" = "0 cached result segment $s" ] ||
		    { echo "$f: $(cat "$f")"; bad=1; }
	done
	return $bad
}

@test "live video: 500 requesters of 5 segments, consumers stopped, then 2: exactly 5 fetches, all served from the cache" {
	mkq live
	mkdir cache req inflight
	fetcher
	requesters
	for i in $(seq 500); do
		sh req.sh "$i" 3>&- &
	done
	# Every requester is in its wait before any consumer runs.
	within 120 holders live 500
	[ "$(count live/new)" = 5 ]
	[ "$(count cache)" = 0 ]
	mqwatch -n 5 -j 2 live -- sh fetch.sh
	within 120 files_in req 500
	wait
	[ "$(wc -l <fetches)" = 5 ]
	[ "$(sort -u fetches | wc -l)" = 5 ]
	[ ! -e overlaps ]
	all_served
}

@test "live video, coalesce = claimed: requesters arriving during the fetches join them, at most one fetch per segment in flight" {
	mkq live
	echo 'coalesce = claimed' >>live/config
	mkdir cache req inflight
	fetcher
	requesters
	for i in $(seq 250); do
		sh req.sh "$i" 3>&- &
	done
	within 120 holders live 250
	mqwatch -j 2 live -- sh fetch.sh 3>&- &
	watcher=$!
	# 250 more while the fetches run (and after: those fetch again).
	for i in $(seq 251 500); do
		sh req.sh "$i" 3>&- &
	done
	within 180 files_in req 500
	kill -TERM "$watcher"
	wait
	[ ! -e overlaps ]
	[ "$(sort -u fetches | wc -l)" = 5 ]
	all_served
	echo "# $(wc -l <fetches) fetches for 500 requesters" >&3
}

@test "a message that ended keeps its record when done/ or dead/ lets it go later" {
	mkq q
	a=$(put q -K ka)
	b=$(put q -K kb)
	echo 'the result' | mqack -R - "$(mqget q)"
	mqack -f broken "$(mqget q)"
	mqpurge -s done,dead q
	run -7 mqwait -r q "$a" "$b"
	[ "$output" = 'the result' ]
	run -7 mqwait q "$b"
	[ "$output" = "$b dead broken" ]
}
