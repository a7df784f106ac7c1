#!/usr/bin/env bats
# Kill rounds, a sample: 2000 messages while producers, consumers, mqwatch
# workers and mqreap are SIGKILLed at random, at least 10 times; none of
# the messages mqput acknowledged is lost.  `make stress-kill` runs 100000
# messages and 100 kills.

load test_helper

setup_file() {
	command -v faketime >/dev/null || skip "no faketime"
}

@test "2000 messages, 10 random SIGKILLs of every kind of tool: none lost" {
	run bash "$MQ_ROOT/tests/stresskill.sh" 2000 10
	echo "$output" | sed 's/^/# /' >&3
	[ "$status" = 0 ]
	[[ "$output" == *" lost=0 "* ]]
	[[ "$output" == *" unexpected=0 "* ]]
}
