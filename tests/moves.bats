#!/usr/bin/env bats
# Moves on a file system without RENAME_NOREPLACE (FUSE, GlusterFS: EINVAL),
# made real here by strace failing every renameat2 with flags: each move
# must still be exclusive and leave no file with two links (mq-spool(5),
# Moves).  tests/cluster.bats runs the same on GlusterFS itself.

load test_helper

setup() {
	command -v strace >/dev/null || skip "no strace"
	export HOME="$BATS_TEST_TMPDIR/home"
	mkdir -p "$HOME"
	cd "$BATS_TEST_TMPDIR" || return 1
	unset MQ_QUEUE
}

# norename2 CMD...: CMD on a file system whose renameat2 says EINVAL.  Only
# calls with flags are failed: glibc's rename(2) on x86_64 is renameat.
norename2() {
	strace -f -o /dev/null -e inject=renameat2:error=EINVAL "$@"
}

# links Q: every message file of Q with more than one link.
links() {
	find "$1" -type f -links +1
}

@test "without RENAME_NOREPLACE put, claim and acknowledge still work" {
	norename2 mqput -c -l q </dev/null
	[ -f q/config ]
	id=$(echo hello | norename2 mqput q)
	[ -f "q/new/$id" ]
	m=$(norename2 mqget q)
	[ "$(cat "$m")" = hello ]
	norename2 mqack "$m"
	[ "$(count q/new)" -eq 0 ]
	[ "$(count q/cur)" -eq 0 ]
	# done/ may not refuse to replace: the name got a fresh token.
	run ls q/done
	[[ "$output" == "$id",d1,c* ]]
	[ -z "$(links q)" ]
}

@test "without RENAME_NOREPLACE a released message goes back under a fresh name" {
	mkq q
	id=$(put q)
	m=$(norename2 mqget q)
	norename2 mqack -r "$m"
	run ls q/new
	[[ "$output" == "$id",d1,c* ]]
	m=$(norename2 mqget q)
	[[ "$m" == */cur/"$id",d2,c* ]]
	norename2 mqack "$m"
	[ "$(count q/done)" -eq 1 ]
}

@test "without RENAME_NOREPLACE creating a queue never replaces its config" {
	mkq q
	echo 'keep_done = no' >>q/config
	cp q/config before
	norename2 mqput -c -l q </dev/null
	cmp before q/config
	[ -z "$(ls -A q | grep '^config\.')" ]
}

# claimer Q OUT: claim one at a time until the queue is empty; bodies to
# OUT, every complaint of the tools to OUT.err.
claimer() {
	local p="$2.paths"
	while norename2 mqget -t 5m "$1" >"$p"; do
		xargs cat <"$p" >>"$2"
		norename2 mqack <"$p"
	done 2>>"$2.err"
}

@test "without RENAME_NOREPLACE four claimers never take one message twice" {
	mkq q
	seq 300 | mqput -l -q q
	for c in a b c d; do
		claimer q $c 3>&- &
	done
	wait
	# Every message once, none twice, no error, nothing left behind.
	[ "$(sort -n a b c d | uniq -d | wc -l)" -eq 0 ]
	sort -n a b c d | cmp - <(seq 300)
	cat ./*.err >&2
	[ "$(cat ./*.err | wc -l)" -eq 0 ]
	[ "$(count q/new)" -eq 0 ] && [ "$(count q/cur)" -eq 0 ]
	[ "$(count q/done)" -eq 300 ]
	[ -z "$(links q)" ]
}
