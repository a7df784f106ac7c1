#!/usr/bin/env bats
# mqack: every option, every error path.

load test_helper

# claim Q [BODY]: put BODY, claim it; sets $id and $c (the handle).
claim() {
	id=$(mqput "$1" <<<"${2:-x}")
	c=$(mqget "$1")
}

@test "mqack acknowledges: the message goes to done/ without its handle" {
	mkq q
	claim q body
	run -0 --separate-stderr mqack "$c"
	[ -z "$output" ] && [ -z "$stderr" ]
	[ "$(count q/cur)" = 0 ]
	[ "$(cat "q/done/$id,d1")" = body ]
}

@test "with keep_done = no an acknowledged message is deleted" {
	mkq q
	echo 'keep_done = no' >q/config
	claim q
	run -0 mqack "$c"
	[ "$(count q/cur)" = 0 ]
	[ "$(count q/done)" = 0 ]
}

@test "an absolute handle works, and so does a handle through a symlinked queue" {
	mkq q
	claim q
	run -0 mqack "$PWD/$c"
	ln -s q link
	claim q
	run -0 mqack "link/cur/${c##*/}"
	[ "$(count q/done)" = 2 ]
}

@test "handles on stdin: mqget -n 3 | mqack" {
	mkq q
	seq 1 5 | mqput -l q >/dev/null
	mqget -n 3 q | mqack
	[ "$(count q/done)" = 3 ]
	[ "$(count q/new)" = 2 ]
	[ "$(count q/cur)" = 0 ]
}

@test "handles of two queues in one call" {
	mkq a
	mkq b
	claim a
	ca=$c
	claim b
	printf '%s\n' "$ca" "$c" | mqack
	[ "$(count a/done)" = 1 ]
	[ "$(count b/done)" = 1 ]
}

@test "mqack -q takes bare handles" {
	mkq q
	claim q
	run -0 mqack -q q "${c##*/}"
	[ "$(count q/done)" = 1 ]
	claim q
	echo "${c##*/}" | mqack -q q
	[ "$(count q/done)" = 2 ]
	run -100 mqack -q nosuch "${c##*/}"
}

@test "mqack -r releases: back in new/, visible at once, deliveries kept" {
	mkq q
	claim q
	run -0 mqack -r "$c"
	[ -f "q/new/$id,d1" ]
	[ "$(count q/cur)" = 0 ]
	run -0 mqget q
	[[ $output == "q/cur/$id,d2,c"* ]]
}

@test "mqack -d releases with a delay: invisible until due" {
	mkq q
	claim q
	now=$(date +%s)
	run -0 mqack -d 1h "$c"
	t=$(stat -c %Y "q/new/$id,d1")
	[ "$t" -ge $((now + 3599)) ] && [ "$t" -le $((now + 3602)) ]
	run -1 mqget q
	run -0 faketime -f '+61m' mqget q
	run -2 mqack -d soon "$c"
}

@test "mqack -t extends the deadline" {
	mkq q
	id=$(mqput q <<<x)
	c=$(mqget -t 1m q)
	before=$(stat -c %Y "$c")
	run -0 mqack -t 1h "$c"
	after=$(stat -c %Y "$c")
	[ "$after" -ge $((before + 3500)) ]
	[ "$after" -le $(( $(date +%s) + 3602 )) ]
	# The claim is still live, with the same handle.
	run -1 faketime -f '+30m' mqget q
	run -0 faketime -f '+30m' mqack "$c"
	run -2 mqack -t 0 "$c"
	run -2 mqack -t x "$c"
}

@test "mqack -f sends to dead/ with the reason in the name" {
	mkq q
	claim q
	run -0 mqack -f badinput "$c"
	[ -f "q/dead/$id,d1,rbadinput" ]
	[ "$(count q/cur)" = 0 ]
	claim q
	run -0 mqack -f 'no such/user, sorry' "$c"
	[ -f "q/dead/$id,d1,rno-such-user--sorry" ]
	claim q
	run -0 mqack -f '' "$c"
	[ -f "q/dead/$id,d1,runknown" ]
}

@test "acknowledged twice: stale, exit 3, nothing changed" {
	mkq q
	claim q
	mqack "$c"
	run -3 --separate-stderr mqack "$c"
	[ "$stderr" = "mqack: $c: stale claim (expired, or finished or claimed again)" ]
	[ "$(count q/done)" = 1 ]
	for op in -r '-d 1s' '-t 1m' '-f x'; do
		run -3 mqack $op "$c"
	done
	[ "$(count q/done)" = 1 ]
	[ "$(count q/new)" = 0 ]
	[ "$(count q/dead)" = 0 ]
}

@test "an expired claim is stale: exit 3, the claim stays in cur/" {
	mkq q
	claim q
	for op in '' -r '-d 1s' '-t 1m' '-f x'; do
		run -3 faketime -f '+1h' mqack $op "$c"
		[ -f "$c" ]
	done
	[ "$(count q/done)" = 0 ]
	[ "$(count q/new)" = 0 ]
	[ "$(count q/dead)" = 0 ]
}

@test "a claim taken again: the old handle is stale, the new one works" {
	mkq q
	claim q
	old=$c
	c2=$(faketime -f '+1h' mqget q)
	run -3 faketime -f '+1h' mqack "$old"
	run -0 faketime -f '+1h' mqack "$c2"
	[ "$(count q/done)" = 1 ]
}

@test "a good and a stale handle: the good one is done, exit 3" {
	mkq q
	claim q
	mqack "$c"
	stale=$c
	claim q
	run -3 mqack "$stale" "$c"
	[ "$(count q/done)" = 2 ]
	[ "$(count q/cur)" = 0 ]
}

@test "handles that are not claims are refused: exit 100" {
	mkq q
	claim q
	echo x >q/new/"$id"x
	for bad in ../x /etc/passwd "q/new/${id}x" q/cur/.x .x '' \
	    "q/cur/../new/${id}x" q/cur q/cur/ "q/cur/a b" q/done/x \
	    q/tmp/x nosuch/cur/x; do
		run -100 --separate-stderr mqack -- "$bad"
		[ -n "$stderr" ]
	done
	run -100 mqack -- -x
	for bad in ../x .x -x "a b" "a/b"; do
		run -100 mqack -q q -- "$bad"
	done
	[ -f "$c" ]
	[ -f "q/new/${id}x" ]
	[ "$(count q/done)" = 0 ]
	[ -f /etc/passwd ]
}

@test "bad handles on stdin are refused: exit 100, the good ones are done" {
	mkq q
	claim q
	printf '%s\n' ../x /etc/passwd -x .x q/cur/../new/x "$c" | {
		run -100 --separate-stderr mqack
		[ "$(grep -c 'not a claim' <<<"$stderr")" = 5 ]
	}
	[ "$(count q/done)" = 1 ]
}

@test "an empty line on stdin is refused, not ignored" {
	mkq q
	run -100 --separate-stderr mqack <<<''
	[[ $stderr == *"not a claim"* ]]
	c=
	run -100 bash -c "echo '$c' | mqack"
}

@test "a file planted in cur/ is never followed" {
	mkq q
	echo secret >secret
	ln -s "$PWD/secret" q/cur/1000000000.000000.x,d1,c1
	mkfifo q/cur/1000000000.000001.x,d1,c1
	ln secret q/cur/1000000000.000002.x,d1,c1
	mkdir q/cur/1000000000.000003.x,d1,c1
	touch -h -d '+1 hour' q/cur/* secret
	for f in q/cur/*; do
		run -100 timeout 10 mqack "$f"
		run -100 timeout 10 mqack -t 1m "$f"
	done
	[ -L q/cur/1000000000.000000.x,d1,c1 ]
	[ -p q/cur/1000000000.000001.x,d1,c1 ]
	[ "$(count q/cur)" = 4 ]
	[ "$(count q/done)" = 0 ]
}

@test "a claim without a token is not a claim" {
	mkq q
	echo x >q/cur/1000000000.000000.x,d1
	touch -d '+1 hour' q/cur/*
	run -100 mqack q/cur/1000000000.000000.x,d1
	[ "$(count q/cur)" = 1 ]
}

@test "a queue nobody may not write: exit 100, the claim stays" {
	mkq q
	claim q
	chmod 755 "$BATS_TEST_TMPDIR" q q/*
	run -100 --separate-stderr as_nobody mqack -q q "${c##*/}"
	[[ $stderr == *"Permission denied"* ]]
	[ -f "$c" ]
}

@test "bad options exit 2 with the usage" {
	run -2 --separate-stderr mqack -z
	[ "${stderr##*$'\n'}" = "usage: mqack [-r | -d delay | -t timeout | -f reason | -R result] [-q queue] [claim ...]" ]
	run -2 --separate-stderr mqack -r -f x q/cur/x
	[ "$stderr" = "mqack: -r, -d, -t, -f and -R exclude each other" ]
	run -2 mqack -r -t 1m q/cur/x
	run -2 mqack -d 1s -r q/cur/x
	run -2 mqack -q
}

@test "no operands and a terminal on stdin: the usage" {
	command -v script >/dev/null || skip "no script(1)"
	run script -qec 'mqack' /dev/null
	[[ $output == *"usage: mqack"* ]]
}
