#!/usr/bin/env bats
# The scenarios of examples/ (make scenarios), scaled down (SCALE percent):
# each says ok as its last line and exits 0; the runner prints one verdict
# a scenario and fails when one does.
load test_helper

# scenario NAME: run examples/NAME.sh at SCALE=20; its verdict must be ok.
scenario() {
	run env SCALE=20 TMPDIR="$BATS_TEST_TMPDIR" sh "$MQ_ROOT/examples/$1.sh"
	echo "$output"
	[ "$status" = 0 ]
	case ${lines[${#lines[@]} - 1]} in
	"SCENARIO $1: skipped: "*) skip "${lines[${#lines[@]} - 1]}" ;;
	esac
	[ "${lines[${#lines[@]} - 1]}" = "SCENARIO $1: ok" ]
	# Its scratch directory is gone.
	[ -z "$(ls -d "$BATS_TEST_TMPDIR"/mq-"$1".* 2>/dev/null)" ]
}

@test "surge: 100 a second into a service of 60, max_length holds, the rate limit holds, nothing lost" {
	scenario surge
	[[ $output == *"handled per second:"* ]]
}

@test "orders: one event, two services; the invoice service down a while catches up; one e-mail and one invoice an order" {
	scenario orders
	[[ $output == *"the invoice service is back"* ]]
}

@test "uploads: four pools of workers on a topic; a 1080p pool killed mid-job, its job redone, every output once" {
	scenario uploads
	[[ $output == *"again after the kill: upload-"* ]]
}

@test "likes: concurrent likes of a few posts, ordered groups: every counter exact, each client's likes in order" {
	scenario likes
	[[ $output == *"with groups: counters"*", $((4 * 8)) in all"* ]]
}

@test "live: viewers of 5 segments coalesced and waiting (mqput -K -W): one fetch a segment, every viewer answered" {
	scenario live
	[[ $output == *"2 fetchers made 5 fetches"* ]]
}

@test "crash: two hosts on a GlusterFS volume, one crashes mid-job; the other takes its jobs after host_timeout, keeps its own" {
	scenario crash
	[[ $output == *"shopB bakes again: pizza-"* ]]
}

@test "retention: TTL and retention days pass with faketime; mqreap deletes what is due, no sooner" {
	scenario retention
	[[ $output == *"day 11: 0 waiting, 0 in done/"* ]]
}

@test "the runner prints one verdict a scenario and fails with the one that failed" {
	printf '#!/bin/sh\necho "  narrating"\necho "SCENARIO good: ok"\n' >good.sh
	printf '#!/bin/sh\necho "  narrating"\necho "SCENARIO bad: FAILED: 2 of 3"\nexit 1\n' >bad.sh
	printf '#!/bin/sh\necho "SCENARIO liar: ok"\nexit 3\n' >liar.sh
	printf '#!/bin/sh\nexit 0\n' >mute.sh
	printf '#!/bin/sh\necho "SCENARIO nofuse: skipped: no /dev/fuse"\n' >nofuse.sh
	run -0 sh "$MQ_ROOT/examples/run.sh" good.sh
	[ "$output" = "SCENARIO good: ok" ]
	run -1 sh "$MQ_ROOT/examples/run.sh" good.sh bad.sh liar.sh mute.sh
	[ "${lines[0]}" = "SCENARIO good: ok" ]
	[ "${lines[1]}" = "SCENARIO bad: FAILED: 2 of 3" ]
	[[ ${lines[2]} == *"| "*narrating ]]
	[ "${lines[4]}" = "SCENARIO liar: ok (but exit 3)" ]
	[[ $output == *"SCENARIO mute.sh: FAILED: no verdict (exit 0)"* ]]
	run -0 sh "$MQ_ROOT/examples/run.sh" good.sh nofuse.sh
	[ "${lines[1]}" = "SCENARIO nofuse: skipped: no /dev/fuse" ]
}

@test "make scenarios runs every scenario of the Makefile, and each file of examples/ is one" {
	local s listed
	listed=$(make -s -C "$MQ_ROOT" -f Makefile -f - list-scenarios <<<'list-scenarios: ; @echo $(SCENARIOS)')
	for s in "$MQ_ROOT"/examples/*.sh; do
		s=${s##*/} s=${s%.sh}
		case $s in scenario|run) continue ;; esac
		[[ " $listed " == *" $s "* ]] || { echo "not in SCENARIOS: $s"; return 1; }
	done
}
