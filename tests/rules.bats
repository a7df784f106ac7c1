#!/usr/bin/env bats
# The rules written once (issue 18): one gate says what an entry of new/ or
# cur/ is and whether it is due, so every reader sees the same queue; one
# fate table moves every message, give-backs included; one exit ranking.

load test_helper

setup_file() {
	sh "$BATS_TEST_DIRNAME/deps.sh" faketime >&2
}

# dead_pid: the pid of a process that has exited.
dead_pid() {
	(exit 0) &
	local p=$!
	wait "$p"
	echo "$p"
}

@test "a dead owner's claim is expired alike for mqstat, mqpurge -n and mqget" {
	mkq q
	id=$(put q)
	claim=$(mqget -t 1h -p "$(dead_pid)" q)
	[ -f "$claim" ]
	# Past the settle time of the claim's rename, an hour before its deadline.
	run -0 faketime -f +3s mqstat -j q
	[[ "$output" == *'"inflight":0,"expired":1,'* ]]
	run -0 faketime -f +3s mqpurge -n -v -s expired q
	[[ "$output" == *"$claim"* ]]
	run -0 faketime -f +3s mqpurge -n -v -s inflight q
	[ -z "$output" ]
	run -0 faketime -f +3s mqget q
	[[ "$output" == "q/cur/$id,d2,"* ]]
}

@test "a live owner's claim is in flight alike for mqstat, mqpurge -n and mqget" {
	mkq q
	put q >/dev/null
	claim=$(mqget -t 1h -p $$ q)
	run -0 faketime -f +3s mqstat -j q
	[[ "$output" == *'"inflight":1,"expired":0,'* ]]
	run -0 faketime -f +3s mqpurge -n -v -s expired q
	[ -z "$output" ]
	run -1 faketime -f +3s mqget q
	[ -f "$claim" ]
}

@test "a FIFO and a second hard link in new/ are no messages to mqstat, mqpurge or mqget" {
	mkq q
	mkfifo q/new/1700000000.000000.P1Q1Rabcd.fifo
	echo x >q/new/1700000000.000001.P1Q1Rabcd.linked
	ln q/new/1700000000.000001.P1Q1Rabcd.linked q/linked
	run -0 mqstat -j q
	[[ "$output" == *'"visible":0,"delayed":0,'* ]]
	run -0 --separate-stderr mqpurge -n -v -s waiting q
	[ -z "$output" ]
	run -1 --separate-stderr mqget q
	[[ "$stderr" == *"fifo: skipped: a FIFO"* ]]
	[[ "$stderr" == *"linked: skipped: has more than one link"* ]]
}

@test "mqwatch whose reader is gone gives the claim back uncounted" {
	mkq q
	id=$(put q)
	run -111 --separate-stderr sh -c 'exec mqwatch -n 1 q >&-'
	[[ "$stderr" == *"stdout"* ]]
	[ -f "q/new/$id" ]
	[ "$(count q/cur)" -eq 0 ]
	# Twice more: still never delivered, still not counted.
	run -111 sh -c 'exec mqwatch -n 1 q >&-'
	run -111 sh -c 'exec mqwatch -n 1 q >&-'
	[ -f "q/new/$id" ]
}

@test "a handler that cannot start gives its claim back uncounted, and mqwatch exits 100" {
	mkq q
	id=$(put q)
	run -100 --separate-stderr mqwatch -n 1 q -- ./no-such-handler
	[[ "$stderr" == *"no-such-handler"* ]]
	[ -f "q/new/$id" ]
}

@test "mqget whose stdout is closed gives its claims back uncounted" {
	mkq q
	seq 3 | mqput -l -q q
	run -111 sh -c 'exec mqget -n 3 q >&-'
	[ "$(count q/new)" -eq 3 ]
	[ "$(ls q/new | grep -c ',d')" -eq 0 ]
}

@test "one exit ranking: a permanent failure outranks a stale claim, a stale claim is 3" {
	mkq q
	put q >/dev/null
	claim=$(mqget q)
	mqack "$claim"
	run -3 --separate-stderr mqack "$claim"
	[[ "$stderr" == *"stale claim"* ]]
	run -100 --separate-stderr mqack "$claim" q/cur/not-a-claim
	run -100 --separate-stderr mqack q/cur/not-a-claim "$claim"
}
