#!/usr/bin/env bats
# mqwatch -r: a pool's rate limit (rate.c).  The start times are the
# claims' own: each handler reads its claim's deadline (the mtime, ms) less
# the timeout, so the handlers' start-up jitter on a busy machine does not
# blur what mqwatch did.  Nothing here waits on a sleep.
load test_helper

# The handler of these tests: its id and its claim's time (ms), one line.
STARTS='echo "$MQ_ID $(stat -c %.3Y "$MQ_PATH" | tr -d .)" >>starts'

# most_in_window MS: the most claim times of ./starts within any MS ms
# (sliding, from each start on), with timeouts of an hour.
most_in_window() {
	awk '{ printf "%.0f\n", $2 - 3600000 }' starts | sort -n | awk -v w="$1" '
	    { t[NR] = $1 }
	    END { j = 1; for (i = 1; i <= NR; i++) {
		while (t[i] - t[j] >= w) j++
		if (i - j + 1 > m) m = i - j + 1 }
		print m + 0 }'
}

@test "-r 20/s: no second holds more than 20 starts, and every message is handled once" {
	mkq q
	seq 60 | mqput -l q | sort >ids
	run -0 --separate-stderr mqwatch -r 20/s -j 4 -t 1h -n 60 q -- \
	    sh -c "$STARTS"
	[ "$stderr" = "" ]
	[ "$(count q/done)" = 60 ] && [ "$(count q/new)" = 0 ]
	[ "$(awk '{ print $1 }' starts | sort)" = "$(cat ids)" ]
	[ "$(most_in_window 1000)" -le 20 ]
}

@test "-r 60/m starts one a second however many jobs -j allows" {
	mkq q
	seq 3 | mqput -l -q q
	run -0 mqwatch -r 60/m -j 3 -t 1h -n 3 q -- sh -c "$STARTS"
	[ "$(wc -l <starts)" = 3 ]
	# A start may catch up on a late one, never get ahead of the schedule.
	awk '{ printf "%.0f\n", $2 }' starts | sort -n >times
	[ $(($(tail -1 times) - $(head -1 times))) -ge 2000 ]
}

@test "-r paces the paths printed without a command too" {
	mkq q
	seq 4 | mqput -l -q q
	run -0 --separate-stderr mqwatch -r 2/s -t 1h -n 4 q
	[ "${#lines[@]}" = 4 ]
	for m in "${lines[@]}"; do
		echo "x $(stat -c %.3Y "$m" | tr -d .)"
	done >starts
	[ "$(most_in_window 1000)" = 2 ]
}

@test "waiting to be allowed a start, mqwatch sleeps: one wake-up a message, however many arrive" {
	mkq q
	seq 3 | mqput -l -q q
	# A busy wait, or arrivals waking it, would be thousands of ppolls.
	( for i in $(seq 200); do echo "$i" | mqput -q q; done ) &
	run -0 strace -o trace -e trace=ppoll mqwatch -r 3/s -n 4 q -- true
	wait
	[ "$(count q/done)" = 4 ]
	[ "$(grep -c '^ppoll' trace)" -le 16 ]
}

@test "a bad rate is a usage error (status 2)" {
	mkq q
	for r in 0/s 100001/s 5/d 5/ /s x -1/s 1.5/s '' 60/S; do
		run -2 --separate-stderr mqwatch -r "$r" q -- true
		[[ $stderr == "mqwatch: -r $r: bad rate"* ]]
	done
	run -2 --separate-stderr mqwatch -r
	[[ $stderr == *"usage: mqwatch "*"[-r rate]"* ]]
	# The units that are: per second (or none), minute, hour.
	for r in 60 60/s 60/m 1/h 100000/s; do
		run -1 mqwatch -r "$r" -i 100ms q -- true
	done
}
