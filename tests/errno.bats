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

# nth_call SYSCALL REGEX TRACE: which call of SYSCALL (counting from 1, as
# strace's when= does) is the first whose arguments match REGEX.
nth_call() {
	grep "^$1(" "$3" | grep -n -m 1 -E "$2" | cut -d: -f1
}

@test "an I/O error on the only message is an error (111, named), not 'no message'" {
	mkq q
	put q >/dev/null
	strace -qq -o trace -e trace=newfstatat mqget q >/dev/null
	k=$(nth_call newfstatat '"[0-9]{10}\.' trace)
	[ -n "$k" ]
	rm -rf q && mkq q
	id=$(put q)
	run -111 --separate-stderr strace -qq -o /dev/null \
		-e inject=newfstatat:error=EIO:when="$k" mqget q
	[ "$stderr" = "mqget: q/new/$id: Input/output error" ]
	# Nothing moved: the next claim takes it.
	run -0 mqget -b q
	[ "$output" = body ]
}

@test "a claimed body that may not be read: exit 100, given back uncounted" {
	mkq q
	put q >/dev/null
	strace -qq -o trace -e trace=openat mqget -b q >/dev/null
	k=$(nth_call openat '"[0-9]{10}\..*,c' trace)
	[ -n "$k" ]
	rm -rf q && mkq q
	id=$(put q)
	run -100 --separate-stderr strace -qq -o /dev/null \
		-e inject=openat:error=EACCES:when="$k" mqget -b q
	[[ "$stderr" == "mqget: q/cur/$id,d1,c"*": Permission denied" ]]
	[ "$(ls q/new)" = "$id" ]
}
