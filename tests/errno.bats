#!/usr/bin/env bats
# A sample of the errno table (tests/errno/gen.sh, doc/ERRNO.md): every
# 10th case of the full table, each a system call of a tool made to fail
# once (strace inject): the documented exit status, the object and the
# cause on stderr, whole messages, a rerun that succeeds, nothing lost.
# `make errno` runs all of it and writes doc/ERRNO.md.

load test_helper

setup_file() {
	command -v strace >/dev/null || skip "no strace"
	command -v faketime >/dev/null || skip "no faketime"
}

@test "a sample of the errno table: every fault has its documented outcome" {
	run bash "$MQ_ROOT/tests/errno/gen.sh" -s 10
	echo "# ${lines[${#lines[@]}-1]}" >&3
	echo "$output"
	[ "$status" = 0 ]
	[[ "${lines[${#lines[@]}-1]}" == *", 0 gaps" ]]
}
