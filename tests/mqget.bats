#!/usr/bin/env bats
# mqget: every option, every error path.

load test_helper

@test "mqget claims the oldest message: prints its path in cur/" {
	mkq q
	a=$(mqput q <<<first)
	mqput q <<<second >/dev/null
	run -0 --separate-stderr mqget q
	[ -z "$stderr" ]
	[[ $output == "q/cur/$a,d1,c"* ]]
	[ "$(cat "$output")" = first ]
	[ "$(count q/new)" = 1 ]
	[ "$(count q/cur)" = 1 ]
}

@test "an empty queue: exit 1, nothing printed" {
	mkq q
	run -1 --separate-stderr mqget q
	[ -z "$output" ]
	[ -z "$stderr" ]
}

@test "a trailing slash in the queue path is dropped from the paths" {
	mkq q
	mqput -q q <<<x
	run -0 mqget q///
	[[ $output == q/cur/* ]]
}

@test "mqget -n claims a batch, oldest first" {
	mkq q
	seq 1 5 | mqput -l q >ids
	run -0 mqget -n 3 q
	[ "${#lines[@]}" = 3 ]
	for i in 0 1 2; do
		[ "$(cat "${lines[$i]}")" = $((i + 1)) ]
	done
	run -0 mqget -n 10 q
	[ "${#lines[@]}" = 2 ]
	run -2 mqget -n 0 q
	run -2 mqget -n 10001 q
	run -2 mqget -n x q
}

@test "mqget -0 ends each path with a NUL" {
	mkq q
	seq 1 2 | mqput -l q >/dev/null
	mqget -0 -n 2 q >out
	[ "$(tr -cd '\0' <out | wc -c)" = 2 ]
	[ "$(tr -cd '\n' <out | wc -c)" = 0 ]
	xargs -0 cat <out >bodies
	printf '1\n2\n' | cmp - bodies
}

@test "mqget -b prints the bodies and acknowledges them" {
	mkq q
	printf 'a\0b' >m1
	printf 'c' >m2
	mqput q m1 m2 >/dev/null
	mqget -b -n 2 q >out
	printf 'a\0bc' | cmp - out
	[ "$(count q/cur)" = 0 ]
	[ "$(count q/new)" = 0 ]
	[ "$(count q/done)" = 2 ]
}

@test "mqget -b -0 ends each body with a NUL" {
	mkq q
	seq 1 2 | mqput -l q >/dev/null
	mqget -b -0 -n 2 q >out
	printf '1\n\0002\n\000' | cmp - out
}

@test "mqget -b with keep_done = no deletes the bodies" {
	mkq q
	echo 'keep_done = no' >q/config
	mqput -q q <<<x
	run -0 mqget -b q
	[ "$output" = x ]
	[ "$(count q/done)" = 0 ]
	[ "$(count q/cur)" = 0 ]
}

@test "a closed stdout: error, and the claim is given back to new/ uncounted" {
	mkq q
	id=$(mqput q <<<x)
	run bash -c 'mqget q >&-'
	[ "$status" -ne 0 ]
	[[ $output == *stdout* ]]
	[ "$(count q/cur)" = 0 ]
	[ -f "q/new/$id" ]
	run -0 mqget q
}

@test "mqget -n: paths go out in whole lines; those not written are given back" {
	mkq q
	seq 500 | mqput -l q >/dev/null
	# a file that may hold 8 KiB: the write that crosses it fails (EFBIG)
	run bash -c "trap '' XFSZ; ulimit -f 8; mqget -n 500 q >out"
	[ "$status" = 111 ]
	[[ $output == *stdout* ]]
	# every claim left in cur/ was handed out on a whole line
	held=0
	while read -r p; do
		[ -f "$p" ] && held=$((held + 1))
	done <out
	[ "$held" -gt 0 ]
	[ "$(count q/cur)" = "$held" ]
	[ $(($(count q/cur) + $(count q/new))) = 500 ]
	# and fewer than 500 made it
	[ "$held" -lt 500 ]
}

@test "mqget -b with a closed stdout: error, the message is released" {
	mkq q
	id=$(mqput q <<<x)
	run bash -c 'mqget -b q >&-'
	[ "$status" -ne 0 ]
	[ "$(count q/cur)" = 0 ]
	[ "$(count q/done)" = 0 ]
	[ -f "q/new/$id" ]
}

@test "mqget -b into a pipe closed early: the unwritten bodies are released" {
	mkq q
	head -c 300000 /dev/urandom >big
	mqput q big big big >/dev/null
	run bash -c 'mqget -b -n 3 q | head -c 1 >/dev/null; echo ${PIPESTATUS[0]}'
	[ "$output" != 0 ]
	[ $(( $(count q/done) + $(count q/new) )) = 3 ]
	[ "$(count q/cur)" = 0 ]
}

@test "mqget -t sets the claim's deadline (its mtime)" {
	mkq q
	mqput -q q <<<x
	now=$(date +%s)
	c=$(mqget -t 10m q)
	t=$(stat -c %Y "$c")
	[ "$t" -ge $((now + 599)) ] && [ "$t" -le $((now + 602)) ]
	run -2 mqget -t 0 q
	run -2 mqget -t soon q
}

@test "the config timeout is the default deadline" {
	mkq q
	echo 'timeout = 1h' >q/config
	mqput -q q <<<x
	now=$(date +%s)
	c=$(mqget q)
	t=$(stat -c %Y "$c")
	[ "$t" -ge $((now + 3599)) ] && [ "$t" -le $((now + 3602)) ]
}

@test "mqget -p records the owner in the claim's name" {
	mkq q
	mqput -q q <<<x
	run -0 mqget -p $$ q
	[[ $output == *",o"*"-$$,c"* ]]
	run -2 mqget -p 0 q
	run -2 mqget -p x q
}

@test "a claim whose owner died comes back before its deadline" {
	mkq q
	mqput -q q <<<x
	bash -c 'exit 0' &
	dead=$!
	wait $dead
	c=$(mqget -p $dead -t 1h q)
	# Within the settle time, even a dead owner's claim stays.
	run -1 mqget q
	run -0 faketime -f '+5s' mqget q
	[[ $output == *,d2,c* ]]
}

@test "a claim whose owner lives is not taken back before its deadline" {
	mkq q
	mqput -q q <<<x
	mqget -p $$ -t 1h q >/dev/null
	run -1 faketime -f '+5s' mqget q
}

@test "an expired claim comes back with its delivery count raised" {
	mkq q
	id=$(mqput q <<<x)
	run -0 mqget q
	[[ $output == "q/cur/$id,d1,c"* ]]
	run -1 mqget q
	run -0 faketime -f '+1h' mqget q
	[[ $output == "q/cur/$id,d2,c"* ]]
	run -0 faketime -f '+2h' mqget q
	[[ $output == "q/cur/$id,d3,c"* ]]
	[ "$(cat "$output")" = x ]
	[ "$(count q/cur)" = 1 ]
}

@test "a fresh claim is never taken back within the settle time" {
	mkq q
	mqput -q q <<<x
	c=$(mqget q)
	# An mtime in the past says "expired", but the ctime is fresh.
	touch -d '-1 hour' "$c"
	run -1 mqget q
	run -0 faketime -f '+3s' mqget q
}

@test "after max_deliveries the message goes to dead/ with the reason" {
	mkq q
	echo 'max_deliveries = 2' >q/config
	id=$(mqput q <<<x)
	mqget q >/dev/null
	faketime -f '+1h' mqget q >/dev/null
	run -1 faketime -f '+2h' mqget q
	[ "$(count q/cur)" = 0 ]
	[ -f "q/dead/$id,d2,rmaxdeliveries" ]
	[ "$(cat "q/dead/$id,d2,rmaxdeliveries")" = x ]
}

@test "max_deliveries = 0 never buries" {
	mkq q
	echo 'max_deliveries = 0' >q/config
	id=$(mqput q <<<x)
	for h in 0 1 2 3 4 5 6 7; do
		faketime -f "+${h}h" mqget q >/dev/null
	done
	[ -f q/cur/"$id",d8,* ]
}

@test "a message past its TTL is deleted, never delivered" {
	mkq q
	mqput -q -e 1m q <<<x
	run -0 faketime -f '+30s' mqget -t 1s q
	run -1 faketime -f '+1h' mqget q
	[ "$(count q/new)" = 0 ]
	[ "$(count q/cur)" = 0 ]
	[ "$(count q/dead)" = 0 ]
}

@test "with expired = dead a message past its TTL goes to dead/" {
	mkq q
	echo 'expired = dead' >q/config
	id=$(mqput -e 1m q <<<x)
	run -1 faketime -f '+1h' mqget q
	[ -f q/dead/"$id",t*,rexpired ]
}

@test "a delayed message is invisible until due" {
	mkq q
	mqput -q -d 1h q <<<later
	mqput -q q <<<now
	run -0 mqget -b q
	[ "$output" = now ]
	run -1 mqget q
	run -1 faketime -f '+59m' mqget q
	run -0 faketime -f '+61m' mqget -b q
	[ "$output" = later ]
}

@test "mqget -w on an empty queue waits, then exits 1" {
	mkq q
	start=$(date +%s%N)
	run -1 mqget -w 1s q
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	[ "$ms" -ge 990 ] && [ "$ms" -lt 3000 ]
	run -2 mqget -w x q
}

@test "mqget -w is woken at once by a put from another process" {
	mkq q
	mqget -w 10s q >out 2>err 3>&- &
	pid=$!
	until_ok has_fd "$pid" signalfd
	start=$(date +%s%N)
	mqput q <<<hello >/dev/null
	status=0
	wait $pid || status=$?
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	[ "$status" = 0 ]
	[ "$(cat "$(cat out)")" = hello ]
	[ "$ms" -lt 2000 ]
	[ ! -s err ]
}

@test "mqget -w waits on dnotify, not on an inotify instance whose close holds its exit" {
	mkq q
	mqget -w 10s q >out 3>&- &
	pid=$!
	until_ok has_fd "$pid" signalfd
	! has_fd "$pid" inotify
	mqput q <<<hello >/dev/null
	wait "$pid"
	[ "$(cat "$(cat out)")" = hello ]
}

@test "mqget -w wakes when a delayed message becomes due" {
	mkq q
	mqput -q -d 1s q <<<later
	start=$(date +%s%N)
	run -0 mqget -b -w 10s q
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	[ "$output" = later ]
	[ "$ms" -lt 3000 ]
}

@test "symlinks, FIFOs, hard links and directories in new/ are skipped" {
	mkq q
	echo secret >secret
	ln -s "$PWD/secret" q/new/1000000000.000000.link
	mkfifo q/new/1000000000.000001.fifo
	ln secret q/new/1000000000.000002.hard
	mkdir q/new/1000000000.000003.dir
	run -1 --separate-stderr timeout 10 mqget -n 10 q
	[ -z "$output" ]
	[[ $stderr == *"q/new/1000000000.000000.link: skipped: "* ]]
	[[ $stderr == *"q/new/1000000000.000001.fifo: skipped: "* ]]
	[[ $stderr == *"q/new/1000000000.000002.hard: skipped: "* ]]
	[[ $stderr == *"q/new/1000000000.000003.dir: skipped: "* ]]
	run -1 --separate-stderr timeout 10 mqget -b -n 10 q
	[ -z "$output" ]
	[ -L q/new/1000000000.000000.link ]
	[ -p q/new/1000000000.000001.fifo ]
	[ "$(cat secret)" = secret ]
	# A real message among them is still delivered.
	mqput -q q <<<real
	run -0 --separate-stderr timeout 10 mqget -b -n 10 q
	[ "$output" = real ]
}

@test "symlinks, FIFOs, hard links and directories in cur/ are skipped" {
	mkq q
	echo secret >secret
	ln -s "$PWD/secret" q/cur/1000000000.000000.link,d1,c1
	mkfifo q/cur/1000000000.000001.fifo,d1,c1
	ln secret q/cur/1000000000.000002.hard,d1,c1
	mkdir q/cur/1000000000.000003.dir,d1,c1
	touch -h -d '-1 hour' q/cur/*
	run -1 --separate-stderr timeout 10 faketime -f '+1h' mqget -n 10 q
	[ -z "$output" ]
	[ "$(grep -c skipped <<<"$stderr")" = 4 ]
	# The hard link, settled, was moved aside; the rest is left alone.
	[ "$(count q/cur)" = 3 ]
	[ -e q/dead/1000000000.000002.hard,d1,rlinks ]
	[ "$(count q/new)" = 0 ]
}

@test "unsafe names in new/ are skipped" {
	mkq q
	echo x >'q/new/-rf'
	echo x >'q/new/a b'
	echo x >$'q/new/a\nb'
	run -1 --separate-stderr timeout 10 mqget q
	[ "$(grep -c 'skipped: unsafe name' <<<"$stderr")" -ge 2 ]
	[ "$(count q/new)" = 3 ]
}

@test "a foreign maildir-style name is delivered with its commas" {
	mkq q
	echo x >'q/new/123.M4P5.host,S=99'
	run -0 mqget q
	[[ $output == 'q/cur/123.M4P5.host,S=99,d1,c'* ]]
	run -0 mqack "$output"
	[ -f 'q/done/123.M4P5.host,S=99,d1' ]
}

@test "bad options and operands exit 2 with the usage" {
	run -2 --separate-stderr mqget
	[ "$stderr" = "usage: mqget [-0b] [-n count] [-p pid] [-t timeout] [-w wait] queue" ]
	run -2 mqget q q
	run -2 mqget -z q
}

@test "a missing queue: exit 100 and a clear message" {
	run -100 --separate-stderr mqget nosuch
	[ "$stderr" = "mqget: nosuch: no such queue (mqput -c creates one)" ]
	[ ! -e nosuch ]
}

@test "a directory that is not a queue: exit 100" {
	mkdir -p notq/tmp notq/new
	run -100 --separate-stderr mqget notq
	[ "$stderr" = "mqget: notq: not a queue (no cur/)" ]
}

@test "a queue nobody may not enter: exit 100" {
	mkq q
	mqput -q q <<<x
	chmod 755 "$BATS_TEST_TMPDIR"
	chown root:root q
	chmod 700 q
	run -100 --separate-stderr as_nobody mqget q
	[ "$stderr" = "mqget: q: Permission denied" ]
	[ "$(count q/new)" = 1 ]
}

@test "a queue nobody may read but not claim from: exit 100, nothing moved" {
	mkq q
	mqput -q q <<<x
	chmod 755 "$BATS_TEST_TMPDIR" q q/*
	run -100 --separate-stderr as_nobody mqget q
	[[ $stderr == "mqget: q/new/"*": Permission denied" ]]
	[ "$(count q/new)" = 1 ]
	[ "$(count q/cur)" = 0 ]
}

@test "a group queue: another uid in the group claims, reads and acks" {
	mqput -c -g q </dev/null >/dev/null
	rm q/new/*
	chgrp -R nogroup q
	chmod 755 "$BATS_TEST_TMPDIR"
	id=$(mqput q <<<shared)
	[ "$(stat -c '%a %G' "q/new/$id")" = "640 nogroup" ]
	member() { setpriv --reuid="$1" --regid="$1" --groups=nogroup -- "${@:2}"; }
	run -0 --separate-stderr member 4242 mqget -t 1h q
	c=$output
	[ -z "$stderr" ]
	# The claimer adopted the message: its own file, readable, deadline set.
	[ "$(stat -c '%u %G %a' "$c")" = "4242 nogroup 640" ]
	[ "$(stat -c %Y "$c")" -gt $(( $(date +%s) + 3500 )) ]
	run -0 member 4242 cat "$c"
	[ "$output" = shared ]
	[ "$(count q/tmp)" = 0 ]
	# A third uid of the group acknowledges it.
	run -0 member 4343 mqack -q q "${c##*/}"
	[ "$(count q/done)" = 1 ]
	[ "$(cat q/done/*)" = shared ]
	# Outside the group: refused.
	mqput q <<<private >/dev/null
	run -100 setpriv --reuid=4242 --regid=4242 --clear-groups -- mqget q
	[ "$(count q/new)" = 1 ]
}

@test "a bad config is refused with its line" {
	mkq q
	printf '# c\nvisibility = 5s\n' >q/config
	run -100 --separate-stderr mqget q
	[ "$stderr" = "mqget: q/config:2: visibility: unknown setting" ]
}

@test "concurrent claimers never get the same message" {
	mkq q
	seq 1 200 | mqput -l -S q >/dev/null
	for i in 1 2 3 4; do
		(while mqget -n 7 q; do :; done >got$i) 3>&- &
	done
	wait
	cat got1 got2 got3 got4 | xargs cat | sort -n >bodies
	seq 1 200 | cmp - bodies
}

@test "a message with a planted hard link goes to dead/ once settled, the rest is claimed" {
	mkq q
	a=$(mqput q <<<linked)
	b=$(mqput q <<<plain)
	ln "q/new/$a" other
	# Fresh: skipped and reported, left where it is.
	run -0 --separate-stderr mqget -t 1h q
	[[ $output == "q/cur/$b,d1,c"* ]]
	[[ $stderr == *"q/new/$a: skipped: has more than one link" ]]
	[ -e "q/new/$a" ]
	# Its link settled (ctime 2 s old): a dead letter, the reason in its name.
	run -1 --separate-stderr faketime -f '+3s' mqget q
	[[ $stderr == *"q/new/$a: skipped: has more than one link: to dead/" ]]
	[ "$(cat "q/dead/$a,rlinks")" = linked ]
	[ "$(count q/new)" = 0 ]
}

@test "a group member who cannot read a message dead-letters it and claims the next" {
	mqput -c -g q </dev/null >/dev/null
	rm q/new/*
	chgrp -R nogroup q
	chmod 755 "$BATS_TEST_TMPDIR"
	a=$(mqput q <<<private)
	b=$(mqput q <<<shared)
	chmod 600 "q/new/$a"
	member() { setpriv --reuid=4242 --regid=4242 --groups=nogroup -- "$@"; }
	run -0 --separate-stderr member mqget q
	[[ $output == "q/cur/$b,d1,c"* ]]
	[[ $stderr == *"/cur/$a,d1,c"*": skipped: cannot be read: to dead/" ]]
	[ "$(cat "q/dead/$a,d1,runreadable")" = private ]
	# No claim left behind, nothing for the next claimer to trip on.
	[ "$(count q/cur)" = 1 ]
	[ "$(count q/tmp)" = 0 ]
	run -1 member mqget q
}
