#!/usr/bin/env bats
# valgrind memcheck with fd tracking on mqwatch, a sample of 200 messages
# in each mode (handlers; paths to a pipe); `make valgrind` runs 100000.

load test_helper

setup_file() {
	sh "$MQ_ROOT/tests/deps.sh" valgrind 2>/dev/null || true
	command -v valgrind >/dev/null || skip "no valgrind (Debian: valgrind)"
}

@test "mqwatch under memcheck: no error, no leak, no descriptor left open" {
	run -0 sh "$MQ_ROOT/tests/valgrind.sh" 200
	echo "$output" | sed 's/^/# /' >&3
	[ "$(grep -c 'errors 0, fds left 0$' <<<"$output")" = 2 ]
}
