#!/usr/bin/env bats
# mqput: every option, every error path.

load test_helper

teardown() {
	if [ -n "${MNT:-}" ] && mountpoint -q "$MNT"; then
		umount "$MNT"
	fi
}

# names DIR: the ids of DIR's messages (fields stripped), in ls order.
ids_in() {
	LC_ALL=C ls "$1" | sed 's/,.*//'
}

@test "mqput -c creates a queue with its directories and a config" {
	run -0 mqput -c q </dev/null
	for d in tmp new cur done dead; do
		[ -d "q/$d" ]
	done
	[ -f q/config ]
	[ "$(stat -c %a q)" = 700 ]
	[ "$(stat -c %a q/new)" = 700 ]
	[ "$(stat -c %a q/config)" = 600 ]
	[ "$(count q/new)" = 1 ]
}

@test "mqput -c on an existing queue keeps its messages and its config" {
	mkq q
	echo one | mqput q >/dev/null
	echo 'timeout = 5m' >q/config
	echo two | mqput -c q >/dev/null
	[ "$(count q/new)" = 2 ]
	[ "$(cat q/config)" = 'timeout = 5m' ]
	[ ! -e q/config.tmp ]
}

@test "mqput -c is not stopped by a leftover temporary config" {
	mkdir q
	touch q/config.tmp
	run -0 mqput -c q </dev/null
	grep -q '^timeout = 30s' q/config
}

@test "concurrent mqput -c of one new queue all succeed" {
	for i in 1 2 3 4 5 6; do
		(mqput -c q <<<"$i" >/dev/null || echo "$i failed" >>errors) 3>&- &
	done
	wait
	[ ! -e errors ]
	[ "$(count q/new)" = 6 ]
	[ -z "$(ls q | grep -v -x -e tmp -e new -e cur -e done -e dead -e config)" ]
}

@test "mqput prints the id of the message, which is its name in new/" {
	mkq q
	run -0 --separate-stderr mqput q <<<hello
	[ -z "$stderr" ]
	[ "${#lines[@]}" = 1 ]
	[ -f "q/new/$output" ]
	[ "$(cat "q/new/$output")" = hello ]
	[ "$(count q/tmp)" = 0 ]
	[[ $output =~ ^[0-9]{10}\.[0-9]{6}\.P[0-9]+Q[0-9]+R[0-9a-f]{4}\. ]]
}

@test "a message body is byte-exact, NULs and all" {
	mkq q
	head -c 100000 /dev/urandom >blob
	printf 'a\0b\0\n\0' >>blob
	id=$(mqput q <blob)
	cmp blob "q/new/$id"
}

@test "an empty message is a message" {
	mkq q
	id=$(mqput q </dev/null)
	[ -f "q/new/$id" ]
	[ ! -s "q/new/$id" ]
}

@test "mqput -l puts one message per line, newline kept, in ls order" {
	mkq q
	printf 'a\nb\n\nc' | mqput -l q >ids
	[ "$(wc -l <ids)" = 4 ]
	[ "$(ids_in q/new)" = "$(cat ids)" ]
	mapfile -t id <ids
	[ "$(od -An -c "q/new/${id[0]}" | tr -d ' ')" = 'a\n' ]
	[ "$(od -An -c "q/new/${id[2]}" | tr -d ' ')" = '\n' ]
	[ "$(cat "q/new/${id[3]}")" = c ]
}

@test "LC_ALL=C ls new/ lists messages in put order" {
	mkq q
	seq 1 3000 | mqput -l -S q >ids
	[ "$(ids_in q/new)" = "$(cat ids)" ]
	for f in $(LC_ALL=C ls q/new | sed -n '1p;1500p;3000p'); do
		cat "q/new/$f"
	done >got
	printf '1\n1500\n3000\n' | cmp - got
	for i in 1 2 3; do mqput q <<<"x$i"; done >>ids
	[ "$(ids_in q/new)" = "$(cat ids)" ]
}

@test "mqput -0 puts one message per NUL-terminated record, NUL dropped" {
	mkq q
	printf 'a b\nc\0d\0' | mqput -0 q >ids
	mapfile -t id <ids
	[ "${#id[@]}" = 2 ]
	printf 'a b\nc' | cmp - "q/new/${id[0]}"
	printf 'd' | cmp - "q/new/${id[1]}"
}

@test "mqput with FILE operands puts one message per file, in order" {
	mkq q
	printf 'one' >f1
	printf 'two\n' >f2
	: >f3
	mqput q f1 f2 f3 >ids
	mapfile -t id <ids
	[ "${#id[@]}" = 3 ]
	cmp f1 "q/new/${id[0]}"
	cmp f2 "q/new/${id[1]}"
	cmp f3 "q/new/${id[2]}"
	[ "$(ids_in q/new)" = "$(cat ids)" ]
}

@test "mqput -l with FILE operands splits each file" {
	mkq q
	printf 'a\nb\n' >f1
	printf 'c\n' >f2
	run -0 mqput -l q f1 f2
	[ "${#lines[@]}" = 3 ]
}

@test "a missing FILE operand is reported, the others are still put" {
	mkq q
	echo x >f1
	run -100 --separate-stderr mqput q nosuch f1
	[ "$stderr" = "mqput: nosuch: No such file or directory" ]
	[ "${#lines[@]}" = 1 ]
	[ "$(count q/new)" = 1 ]
}

@test "mqput -q prints no ids" {
	mkq q
	run -0 mqput -q q <<<x
	[ -z "$output" ]
	[ "$(count q/new)" = 1 ]
}

@test "mqput -S puts without syncing (no fsync, no syncfs)" {
	mkq q
	run -0 strace -f -o trace -e trace=fsync,syncfs,fdatasync mqput -S q <<<x
	[ "$(count q/new)" = 1 ]
	! grep -E 'fsync|syncfs' trace
	# Without -S: the file and new/ are fsync'ed.
	run -0 strace -f -o trace -e trace=fsync,syncfs mqput q <<<y
	[ "$(grep -c fsync trace)" -ge 2 ]
}

@test "a queue with sync = no is never synced" {
	mkq q
	echo 'sync = no' >q/config
	run -0 strace -f -o trace -e trace=fsync,syncfs mqput q <<<x
	! grep -E 'fsync|syncfs' trace
}

@test "mqput -d delays: the mtime in new/ is when the message is due" {
	mkq q
	now=$(date +%s)
	id=$(mqput -d 1h q <<<later)
	t=$(stat -c %Y "q/new/$id")
	[ "$t" -ge $((now + 3599)) ] && [ "$t" -le $((now + 3602)) ]
	run -1 mqget q
	run -0 faketime -f '+2h' mqget q
}

@test "mqput -e sets a TTL field in the name" {
	mkq q
	now=$(date +%s)
	id=$(mqput -e 10m q <<<x)
	f=$(ls q/new)
	[[ $f == "$id",t* ]]
	t=${f##*,t}
	[ "$t" -ge $((now + 599)) ] && [ "$t" -le $((now + 602)) ]
}

@test "the config ttl is the default TTL and -e 0 overrides it" {
	mkq q
	echo 'ttl = 1h' >q/config
	mqput q <<<x >/dev/null
	[[ $(ls q/new) == *,t* ]]
	rm q/new/*
	mqput -e 0 q <<<x >/dev/null
	[[ $(ls q/new) != *,t* ]]
}

@test "mqput -s refuses a bigger message: exit 100, nothing left" {
	mkq q
	head -c 2000 /dev/zero >big
	run -100 --separate-stderr mqput -s 1k q <big
	[ "$stderr" = "mqput: stdin: message larger than 1024 bytes" ]
	[ -z "$output" ]
	[ "$(count q/new)" = 0 ]
	[ "$(count q/tmp)" = 0 ]
	head -c 1024 /dev/zero | mqput -s 1k q >/dev/null
	[ "$(count q/new)" = 1 ]
}

@test "max_size in the config refuses a bigger message, -s 0 lifts it" {
	mkq q
	echo 'max_size = 100' >q/config
	head -c 101 /dev/zero >big
	run -100 mqput q <big
	run -100 mqput -l q <big
	run -100 mqput q big
	[ "$(count q/new)" = 0 ]
	[ "$(count q/tmp)" = 0 ]
	run -0 mqput -s 0 q <big
}

@test "mqput -l: an oversize line fails, the lines before it are put" {
	mkq q
	{ echo short; head -c 300 /dev/zero | tr '\0' x; echo; echo after; } >in
	run -100 --separate-stderr mqput -l -s 100 q <in
	[[ $stderr == *"record longer than 100 bytes"* ]]
	[ "${#lines[@]}" = 1 ]
	[ "$(count q/new)" = 1 ]
	[ "$(count q/tmp)" = 0 ]
}

@test "bad options and operands exit 2 with the usage" {
	run -2 --separate-stderr mqput
	[ "$stderr" = "usage: mqput [-0clgqS] [-d delay] [-e ttl] [-G group] [-K key] [-p level] [-s size] [-W wait] queue [file ...]" ]
	run -2 mqput -x q
	run -2 --separate-stderr mqput -d soon q
	[ "$stderr" = "mqput: -d soon: bad duration" ]
	run -2 mqput -d -1 q
	run -2 mqput -e 1y q
	run -2 mqput -s 1T q
	run -2 --separate-stderr mqput -g q
	[ "$stderr" = "mqput: -g: only with -c" ]
}

@test "a missing queue: exit 100 and a clear message" {
	run -100 --separate-stderr mqput nosuch <<<x
	[ "$stderr" = "mqput: nosuch: no such queue (mqput -c creates one)" ]
	[ ! -e nosuch ]
}

@test "a directory that is not a queue, or a file: exit 100" {
	mkdir notq
	run -100 --separate-stderr mqput notq <<<x
	[ "$stderr" = "mqput: notq: not a queue (no tmp/)" ]
	touch file
	run -100 --separate-stderr mqput file <<<x
	[ "$stderr" = "mqput: file: Not a directory" ]
}

@test "a queue whose config is bad is refused" {
	mkq q
	echo 'max_deliveries = lots' >q/config
	run -100 --separate-stderr mqput q <<<x
	[ "$stderr" = "mqput: q/config:1: max_deliveries: bad value" ]
	[ "$(count q/new)" = 0 ]
}

@test "a queue nobody may not write: exit 100, nothing left" {
	mkq q
	chmod 755 "$BATS_TEST_TMPDIR"
	run -100 --separate-stderr as_nobody mqput q <<<x
	[ "$stderr" = "mqput: q: Permission denied" ]
	chmod 755 q q/*
	chmod 700 q/tmp
	run -100 --separate-stderr as_nobody mqput q <<<x
	[ "$stderr" = "mqput: q/tmp: Permission denied" ]
	chmod 755 q/tmp
	run -100 --separate-stderr as_nobody mqput q <<<x
	[[ $stderr == "mqput: q/tmp/"*": Permission denied" ]]
	[ "$(count q/tmp)" = 0 ]
	[ "$(count q/new)" = 0 ]
}

@test "mqput -c -g makes a group queue: dirs setgid 2770, files 0640" {
	run -0 mqput -c -g q <<<x
	for d in q q/tmp q/new q/cur q/done q/dead; do
		[ "$(stat -c %a $d)" = 2770 ]
	done
	[ "$(stat -c %a q/new/*)" = 640 ]
	chgrp -R nogroup q
	# A member of the group may put, and the file gets the queue's group.
	chmod 755 "$BATS_TEST_TMPDIR"
	run -0 setpriv --reuid=nobody --regid=65533 --groups=nogroup -- \
		mqput q <<<y
	f="q/new/$output"
	[ "$(stat -c '%a %U %G' "$f")" = "640 nobody nogroup" ]
	# Someone outside the group may not.
	run -100 setpriv --reuid=nobody --regid=65533 --clear-groups -- \
		mqput q <<<z
}

@test "a full disk: exit 111, nothing left in new/ or tmp/" {
	mkq q
	mkdir -p small
	mount -t tmpfs -o size=64k tmpfs small 2>/dev/null || skip "cannot mount tmpfs"
	MNT=$BATS_TEST_TMPDIR/small
	mqput -c small/q </dev/null >/dev/null
	rm small/q/new/*
	head -c 200000 /dev/urandom >big
	run -111 --separate-stderr mqput small/q <big
	[[ $stderr == "mqput: small/q/tmp/"*": No space left on device" ]]
	[ -z "$output" ]
	[ "$(count small/q/new)" = 0 ]
	[ "$(count small/q/tmp)" = 0 ]
	for i in $(seq 200); do printf '%0100d\n' "$i"; done >lines
	run -111 --separate-stderr mqput -l small/q <lines
	[ "$(count small/q/tmp)" = 0 ]
	# Each id printed is a whole message in new/.
	for id in "${lines[@]}"; do
		[ "$(stat -c %s small/q/new/"$id")" = 101 ]
	done
	[ "$(count small/q/new)" = "${#lines[@]}" ]
}

@test "a closed stdout is an error, said once, and what was enqueued is said" {
	mkq q
	run -111 bash -c 'mqput q <<<x >&-'
	[ "${lines[0]}" = "mqput: stdout: Bad file descriptor" ]
	[ "${lines[1]}" = "mqput: q: 1 message enqueued all the same: check before putting again" ]
	[ "${#lines[@]}" = 2 ]
	[ "$(count q/new)" = 1 ]
	# Many ids: still a stdout failure, so temporary, never 100.
	run -111 bash -c 'seq 1 10000 | mqput -l -S q >&-'
	[ "$(grep -c 'stdout: Bad file descriptor' <<<"$output")" = 1 ]
	# it stops at the first batch it cannot report, and says how many
	n=$(sed -n 's/^mqput: q: \([0-9]*\) messages enqueued all the same.*/\1/p' <<<"$output")
	[ "$n" -gt 0 ]
	[ "$(count q/new)" = $((n + 1)) ]
}

@test "mqput into a full pipe reader that went away is an error" {
	mkq q
	set +o pipefail
	run -0 bash -c 'seq 1 2000 | mqput -l -S q | head -1 >/dev/null; echo ${PIPESTATUS[1]}'
	[ "$output" != 0 ]
}

@test "SIGTERM while waiting for input: nothing left, killed by the signal" {
	mkq q
	mkfifo in
	exec 4<>in
	mqput -l q <in >out 2>err 3>&- &
	pid=$!
	echo first >&4
	for _ in $(seq 100); do
		[ -s out ] && break
		inotifywait -qq -t 1 -e modify out || :
	done
	[ -s out ]
	printf 'partial' >&4
	kill -TERM $pid
	status=0
	wait $pid || status=$?
	exec 4>&-
	[ "$status" = $((128 + 15)) ]
	[ "$(count q/new)" = 1 ]
	[ "$(count q/tmp)" = 0 ]
	grep -q interrupted err
}
