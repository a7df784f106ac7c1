#!/usr/bin/env bats
# mqwatch: the push consumer.  Handlers that must stay busy wait on a lock
# the test holds (fd 4), so every wait here is for an event, never a sleep.
load test_helper

teardown() {
	if [ -n "${wpid:-}" ]; then
		kill -9 "$wpid" 2>/dev/null || true
	fi
}

is_count() { [ "$(count "$1")" = "$2" ]; }
lines() { [ -f "$1" ] && [ "$(wc -l <"$1")" = "$2" ]; }
gone() { ! kill -0 "$1" 2>/dev/null; }

# hold: take the lock every blocked handler waits for.
hold() {
	exec 4>"$BATS_TEST_TMPDIR/lock"
	flock 4
}

@test "messages waiting at start are handled in order, each body on stdin" {
	mkq q
	printf 'one\ntwo\nthree\n' | mqput -l q >/dev/null
	run -0 --separate-stderr mqwatch -n 3 q -- sh -c 'cat >>out'
	[ "$output" = "" ] && [ "$stderr" = "" ]
	[ "$(cat out)" = "$(printf 'one\ntwo\nthree')" ]
	is_count q/done 3
	is_count q/new 0
	is_count q/cur 0
}

@test "the handler gets the claim's path, id, queue, deliveries and enqueue time" {
	mkq q
	id=$(echo hello | mqput q)
	run -0 mqwatch -n 1 q -- sh -c \
	    'echo "$MQ_ID|$MQ_QUEUE|$MQ_DELIVERIES|$MQ_ENQUEUED|$MQ_PATH"'
	IFS='|' read -r mid mq md me mp <<<"$output"
	[ "$mid" = "$id" ]
	[ "$mq" = q ]
	[ "$md" = 1 ]
	[ "$me" = "${id%%.*}" ]
	[[ "$mp" == "q/cur/$id,d1,"* ]]
}

@test "exit 0 acknowledges, exit 100 buries with the reason, a crash or other exit releases with a delay" {
	mkq q
	echo a | mqput q >/dev/null
	run -0 --separate-stderr mqwatch -n 1 q -- sh -c 'exit 100'
	[[ "$stderr" == *": exit 100: to dead/" ]]
	[[ "$(ls q/dead)" == *",d1,rexit100" ]]

	echo b | mqput q >/dev/null
	run -0 --separate-stderr mqwatch -n 1 q -- sh -c 'exit 3'
	[[ "$stderr" == *": exit 3" ]]
	touch ref
	is_count q/new 1
	f=$(ls q/new)
	[[ "$f" == *",d1" ]]
	[ "q/new/$f" -nt ref ] # visible only after the backoff delay

	touch -d '-1 minute' "q/new/$f"
	run -0 --separate-stderr mqwatch -n 1 q -- sh -c 'kill -9 $$'
	[[ "$stderr" == *": Killed" ]]
	[[ "$(ls q/new)" == *",d2" ]]
}

@test "a message reaching max_deliveries goes to dead/ instead of back to new/" {
	mkq q
	sed -i 's/^max_deliveries = .*/max_deliveries = 2/' q/config
	echo a | mqput q >/dev/null
	run -0 mqwatch -n 1 q -- false
	touch -d '-1 minute' q/new/*
	run -0 mqwatch -n 1 q -- false
	is_count q/new 0
	[[ "$(ls q/dead)" == *",d2,rmaxdeliveries" ]]
}

@test "-j 2 runs two handlers at once and claims nothing it cannot start" {
	mkq q
	seq 5 | mqput -l q >/dev/null
	hold
	mqwatch -j 2 -n 5 q -- sh -c \
	    'ls q/cur | wc -l >>conc; echo x >>started; flock lock true' \
	    3>&- 4>&- &
	wpid=$!
	until_ok lines started 2
	is_count q/cur 2
	is_count q/new 3
	# Nothing more is claimed while both slots are busy.
	run -2 inotifywait -qq -t 1 -e moved_to q/cur
	exec 4>&-
	wait "$wpid"
	is_count q/done 5
	[ "$(sort -n conc | tail -n 1)" -le 2 ]
}

@test "more than 16384 arrivals while busy: none is missed" {
	mkq q
	sed -i 's/^sync = .*/sync = no/' q/config
	echo first | mqput q >/dev/null
	hold
	# The reader takes the first path, then blocks: mqwatch, holding
	# nothing more, reads no events, and the inotify queue overflows.
	{ mqwatch -n 17001 q; echo $? >rc; } 3>&- 4>&- | {
		read -r m
		flock lock true
		mqack "$m"
		xargs -n 1000 mqack
	} 3>&- 4>&- &
	wpid=$!
	until_ok is_count q/cur 1
	seq 17000 | mqput -S -l q >/dev/null
	exec 4>&-
	wait "$wpid"
	[ "$(cat rc)" = 0 ]
	is_count q/done 17001
	is_count q/new 0
	is_count q/cur 0
}

@test "a handler running longer than the timeout keeps its claim" {
	mkq q
	echo long | mqput q >/dev/null
	hold
	mqwatch -t 1s q -- sh -c 'echo x >started; flock lock true' 3>&- 4>&- &
	wpid=$!
	until_ok test -s started
	# Each heartbeat sets the deadline (an mtime: IN_MODIFY); after 7, a
	# third of a second apart, the first deadline and the settle time
	# (2 s) are long gone.
	for i in 1 2 3 4 5 6 7; do
		inotifywait -qq -t 5 -e modify q/cur
	done
	run -1 mqget q
	exec 4>&-
	until_ok is_count q/done 1
	[[ "$(ls q/done)" == *",d1" ]]
}

@test "after a SIGKILL of mqwatch its handler dies and the message is delivered again" {
	mkq q
	echo m | mqput q >/dev/null
	mqwatch -t 2s q -- sh -c \
	    'echo "$MQ_DELIVERIES" >>seen; echo $$ >hpid; exec sleep 60' 3>&- &
	wpid=$!
	until_ok lines seen 1
	until_ok test -s hpid
	kill -9 "$wpid"
	# The parent-death signal: no orphan goes on with the message.
	until_ok gone "$(cat hpid)"
	is_count q/cur 1
	run -0 timeout 20 mqwatch -n 1 q -- sh -c 'echo "$MQ_DELIVERIES" >>seen'
	[ "$(cat seen)" = "$(printf '1\n2')" ]
	is_count q/done 1
}

@test "SIGTERM stops claiming and lets the running handler finish" {
	mkq q
	printf 'a\nb\n' | mqput -l q >/dev/null
	hold
	mqwatch q -- sh -c 'echo x >>started; flock lock true' 3>&- 4>&- &
	wpid=$!
	until_ok lines started 1
	kill -TERM "$wpid"
	run -2 inotifywait -qq -t 1 -e moved_to q/cur
	exec 4>&-
	wait "$wpid"
	wpid=
	is_count q/done 1
	is_count q/new 1
	is_count q/cur 0
}

@test "a handler outliving the stop grace is killed and its message released" {
	mkq q
	echo a | mqput q >/dev/null
	mqwatch -k 1s q -- sh -c 'echo $$ >hpid; exec sleep 60' 3>&- &
	wpid=$!
	until_ok test -s hpid
	kill -INT "$wpid"
	st=0
	wait "$wpid" || st=$?
	wpid=
	[ "$st" = 111 ]
	gone "$(cat hpid)"
	is_count q/cur 0
	is_count q/new 1
	[[ "$(ls q/new)" == *",d1" ]]
}

@test "polling mode (-P) uses no inotify and still sees new messages" {
	mkq q
	mqwatch -P -n 1 q -- sh -c 'cat >got' 3>&- &
	wpid=$!
	until_ok has_fd "$wpid" signalfd
	! has_fd "$wpid" inotify
	echo polled | mqput q >/dev/null
	wait "$wpid"
	wpid=
	[ "$(cat got)" = polled ]
}

@test "an expired claim and a delayed message are taken at their time" {
	mkq q
	echo late | mqput -d 1s q >/dev/null
	echo early | mqput q >/dev/null
	mqget -t 1s q >/dev/null
	run -0 timeout 20 mqwatch -n 2 q -- sh -c \
	    'echo "$(cat) $MQ_DELIVERIES" >>got'
	[ "$(sort got)" = "$(printf 'early 2\nlate 1')" ]
}

@test "without a command, paths are printed and at most one claim waits for the reader" {
	mkq q
	seq 4 | mqput -l q >/dev/null
	hold
	mqwatch -n 4 q 3>&- 4>&- | {
		read -r m
		echo "$m" >first
		flock lock true
		mqack "$m"
		while read -r m; do
			cat "$m" >>got
			mqack "$m"
		done
	} 3>&- 4>&- &
	wpid=$!
	until_ok test -s first
	until_ok is_count q/cur 2
	run -2 inotifywait -qq -t 1 -e moved_to q/cur
	is_count q/new 2
	[[ "$(cat first)" == q/cur/*,d1,c* ]]
	exec 4>&-
	wait "$wpid"
	is_count q/done 4
	[ "$(cat got)" = "$(printf '2\n3\n4')" ]
}

@test "-0 ends each path with a NUL" {
	mkq q
	printf 'a\nb\n' | mqput -l q >/dev/null
	mqwatch -0 -n 2 q >out
	[ "$(tr '\0' '\n' <out | grep -c '^q/cur/')" = 2 ]
	[ "$(tr -cd '\0' <out | wc -c)" = 2 ]
	xargs -0 mqack <out
	is_count q/done 2
}

@test "-i stops an idle mqwatch: status 1 if it found nothing, 0 otherwise" {
	mkq q
	run -1 --separate-stderr mqwatch -i 200ms q -- true
	[ "$stderr" = "" ]
	echo a | mqput q >/dev/null
	run -0 mqwatch -i 200ms q -- true
	is_count q/done 1
}

@test "-o sends the handlers' stdout and stderr to a log" {
	mkq q
	echo a | mqput q >/dev/null
	run -0 --separate-stderr mqwatch -n 1 -o log q -- sh -c 'echo out; echo err >&2'
	[ "$output" = "" ] && [ "$stderr" = "" ]
	[ "$(cat log)" = "$(printf 'out\nerr')" ]
}

@test "the handler inherits no spool, inotify or signal descriptor" {
	mkq q
	echo a | mqput q >/dev/null
	run -0 mqwatch -n 1 q -- sh -c \
	    'for f in /proc/$$/fd/*; do echo "${f##*/} $(readlink "$f")"; done' 3>&-
	[[ "${lines[0]}" == "0 $PWD/q/cur/"* ]]
	! grep -E 'inotify|signalfd|/q$|/q/(new|cur|tmp|done|dead)$' <<<"$output"
}

@test "a command that cannot be run stops mqwatch and gives the message back" {
	mkq q
	echo a | mqput q >/dev/null
	run -100 --separate-stderr mqwatch q -- ./no-such-handler
	[ "$stderr" = "mqwatch: ./no-such-handler: No such file or directory" ]
	is_count q/new 1
	is_count q/cur 0
}

@test "-j 4 with a command that cannot be run: one error, every message back" {
	mkq q
	seq 6 | mqput -l q >/dev/null
	run -100 --separate-stderr mqwatch -j 4 q -- ./no-such-handler
	[ "$stderr" = "mqwatch: ./no-such-handler: No such file or directory" ]
	is_count q/new 6
	is_count q/cur 0
	is_count q/done 0
}

@test "bad usage exits 2 with the synopsis; a missing queue exits 100" {
	mkq q
	run -2 --separate-stderr mqwatch q true
	[ "$stderr" = "usage: mqwatch [-0P] [-i idle] [-j jobs] [-k grace] [-n count] [-o log] [-r rate] [-t timeout] queue [-- command [arg ...]]" ]
	run -2 mqwatch -j 0 q -- true
	run -2 mqwatch -j 2 q
	run -2 mqwatch -0 q -- true
	run -2 mqwatch -t 1x q -- true
	run -100 --separate-stderr mqwatch nosuch -- true
	[[ "$stderr" == "mqwatch: nosuch: no such queue"* ]]
}

@test "pushed messages are claimed by the names inotify gives, without a rescan each" {
	mkq q
	# (make check-asan: LeakSanitizer cannot work in a traced process.)
	ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 \
		mqwatch -n 30 q >paths 2>err 3>&- &
	wpid=$!
	until_ok has_fd "$wpid" inotify
	# strace counts the directory reads of the running mqwatch
	strace -f -c -e trace=getdents64 -o trace -p "$wpid" 3>&- &
	spid=$!
	until_ok sh -c "grep -q TracerPid:.[1-9] /proc/$wpid/status"
	for i in $(seq 30); do
		echo "$i" | mqput q >/dev/null
		until_ok lines paths "$i"
	done
	wait "$wpid"
	wait "$spid" || true
	# one scan at start and one a second, not one per message
	reads=$(awk '$NF == "getdents64" { print $4 }' trace)
	[ "${reads:-0}" -lt 30 ]
	is_count q/new 0
	is_count q/cur 30
}
