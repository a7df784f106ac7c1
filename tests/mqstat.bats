#!/usr/bin/env bats
# mqstat: counts by state, ages, dead letters by reason, the qshape
# histogram, and the listing; as a table, JSON lines and Prometheus text.
# Time is moved with faketime (mqstat's clock only), never slept on.

load test_helper

setup_file() {
	sh "$BATS_TEST_DIRNAME/deps.sh" jq faketime >&2
}

# A queue with 2 visible, 1 delayed, 2 in flight, 1 dead letter, 1 in tmp/.
mixed() {
	mkq "$1"
	seq 5 | mqput -l -q "$1"
	echo later | mqput -q -d 1h "$1"
	mqget -n 2 "$1" >/dev/null
	mqack -f poison "$(mqget "$1")"
	echo partial >"$1/tmp/leftover"
}

# The field $2 of the JSON object on stdin of queue $1.
field() {
	jq -r --arg q "$1" "select(.queue == \$q) | $2"
}

@test "the counts of every state, as JSON lines" {
	mixed jobs
	run -0 mqstat -j jobs
	[ "${#lines[@]}" -eq 1 ]
	[ "$(field jobs '[.visible, .delayed, .inflight, .expired, .done, .dead, .tmp] | join(" ")' <<<"$output")" = "2 1 2 0 0 1 1" ]
	[ "$(field jobs '.dead_reasons.poison' <<<"$output")" = 1 ]
	[ "$(field jobs '.age_minutes["5"]' <<<"$output")" = 3 ]
	[ "$(field jobs '.oldest_visible_age < 60' <<<"$output")" = true ]
	[ "$(field jobs '.oldest_claim_age < 60' <<<"$output")" = true ]
}

@test "a claim past its deadline counts as expired, a fresh one as in flight" {
	mkq jobs
	seq 3 | mqput -l -q jobs
	mqget -t 1s jobs >/dev/null
	mqget -t 1h jobs >/dev/null
	run -0 mqstat -j jobs
	[ "$(field jobs '"\(.inflight) \(.expired)"' <<<"$output")" = "2 0" ]
	run -0 faketime -f +10s mqstat -j jobs
	[ "$(field jobs '"\(.inflight) \(.expired) \(.visible)"' <<<"$output")" = "1 1 1" ]
}

@test "ages fall into qshape's buckets: three hours old is 160 to 320 minutes" {
	mkq jobs
	seq 4 | mqput -l -q jobs
	run -0 faketime -f +3h mqstat -j jobs
	[ "$(field jobs '.age_minutes["320"]' <<<"$output")" = 4 ]
	[ "$(field jobs '.age_minutes["5"]' <<<"$output")" = 0 ]
	[ "$(field jobs '.oldest_visible_age | floor' <<<"$output")" -ge 10800 ]
	run -0 faketime -f +30d mqstat -j jobs
	[ "$(field jobs '.age_minutes["1280+"]' <<<"$output")" = 4 ]
}

@test "empty queues report null ages and no reasons" {
	mkq empty
	run -0 mqstat -j empty
	[ "$(field empty '"\(.oldest_visible_age) \(.oldest_claim_age) \(.dead_reasons | length)"' <<<"$output")" = "null null 0" ]
}

@test "the table fits 80 columns and gives a long queue name a line of its own" {
	mixed jobs
	mkq a-queue-with-a-long-name
	run -0 mqstat jobs a-queue-with-a-long-name
	[ "$(awk '{ if (length($0) > m) m = length($0) } END { print m }' <<<"$output")" -le 80 ]
	[[ ${lines[1]} =~ ^jobs\ +2\ +1\ +2\ +0\ +0\ +1\ +1\ +[0-9]+s\ +[0-9]+s$ ]]
	[ "${lines[2]}" = a-queue-with-a-long-name ]
	[[ $output == *"jobs: poison 1"* ]]
	[[ $output == *"waiting messages by age"* ]]
}

@test "a paused queue says so in all three outputs" {
	mixed jobs
	mkq other
	touch jobs/paused
	run -0 mqstat -j jobs other
	[ "$(field jobs .paused <<<"$output")" = true ]
	[ "$(field other .paused <<<"$output")" = false ]
	run -0 mqstat -p jobs other
	grep -qx 'mq_paused{queue="jobs"} 1' <<<"$output"
	grep -qx 'mq_paused{queue="other"} 0' <<<"$output"
	run -0 mqstat jobs other
	[[ $output == *$'\npaused: jobs\n'* ]]
}

@test "queues come from stdin, one per line" {
	mixed a
	mkq b
	run -0 bash -c 'printf "a\nb\n" | mqstat -j'
	[ "${#lines[@]}" -eq 2 ]
	[ "$(field b .visible <<<"$output")" = 0 ]
}

@test "a missing queue is an error, exit 100, and the others are still reported" {
	mixed jobs
	run -100 --separate-stderr mqstat -j nosuch jobs
	[[ $stderr == *"nosuch: no such queue"* ]]
	[ "$(field jobs .visible <<<"$output")" = 2 ]
	run -100 --separate-stderr mqstat -p nosuch jobs
	grep -qx 'mq_up{queue="nosuch"} 0' <<<"$output"
	grep -qx 'mq_up{queue="jobs"} 1' <<<"$output"
}

@test "the Prometheus output: every family typed once, every sample well formed" {
	mixed jobs
	mixed 'we"ird'
	run -0 mqstat -p jobs 'we"ird'
	grep -qx 'mq_messages{queue="jobs",state="visible"} 2' <<<"$output"
	grep -qx 'mq_messages{queue="jobs",state="inflight"} 2' <<<"$output"
	grep -qx 'mq_dead_letters{queue="jobs",reason="poison"} 1' <<<"$output"
	grep -qx 'mq_messages{queue="we\\"ird",state="delayed"} 1' <<<"$output"
	grep -qx 'mq_waiting_age_seconds_bucket{queue="jobs",le="+Inf"} 3' <<<"$output"
	grep -qx 'mq_waiting_age_seconds_count{queue="jobs"} 3' <<<"$output"
	# one TYPE per family, and no sample that is not name{labels} number
	[ -z "$(grep '^# TYPE' <<<"$output" | awk '{ print $3 }' | sort | uniq -d)" ]
	[ -z "$(grep -v '^#' <<<"$output" | grep -vE '^[a-z_]+\{([a-z]+="([^"\\]|\\.)*",?)+\} [0-9.]+$')" ]
}

@test "-o replaces the file atomically, readable by all, and leaves no temporary file" {
	mixed jobs
	mkdir prom
	echo old >prom/mq.prom
	run -0 mqstat -p -o prom/mq.prom jobs
	[ -z "$output" ]
	grep -q '^mq_up{queue="jobs"} 1$' prom/mq.prom
	[ "$(stat -c %a prom/mq.prom)" = 644 ]
	[ "$(ls -A prom)" = mq.prom ]
}

@test "-o into a directory that cannot be written fails, exit 100, and keeps the old file" {
	mixed jobs
	mkdir prom
	echo old >prom/mq.prom
	chmod 555 prom
	run -100 --separate-stderr as_nobody mqstat -p -o prom/mq.prom "$PWD/jobs"
	[[ $stderr == *"prom/.mq.prom."*"Permission denied"* ]]
	[ "$(cat prom/mq.prom)" = old ]
}

@test "the listing shows every message with its state, deliveries, time, size, reason and group" {
	mixed jobs
	run -0 mqstat -l jobs
	[ "${#lines[@]}" -eq 7 ]
	[[ ${lines[0]} =~ ^visible\ +0\ 20[0-9-]+T[0-9:]+Z\ +2\ -\ -\ jobs/new/[0-9]{10}\. ]]
	[[ ${lines[2]} =~ ^delayed\ +0\ .*\ +6\ -\ -\ jobs/new/ ]]
	[[ ${lines[3]} =~ ^inflight\ +1\ .*jobs/cur/.*,d1,c[0-9a-f]+$ ]]
	[[ ${lines[5]} =~ ^dead\ +1\ -\ +2\ poison\ -\ jobs/dead/.*,rpoison$ ]]
	[[ ${lines[6]} =~ ^tmp\ .*\ 8\ -\ -\ jobs/tmp/leftover$ ]]
	# the listed paths are the files
	for p in $(awk '{ print $NF }' <<<"$output"); do [ -f "$p" ]; done
}

@test "the JSON listing gives ids, deadlines and reasons" {
	mixed jobs
	run -0 mqstat -l -j jobs
	[ "${#lines[@]}" -eq 7 ]
	[ "$(jq -r 'select(.state == "dead") | .reason' <<<"$output")" = poison ]
	[ "$(jq -r 'select(.state == "inflight") | .deadline > .put' <<<"$output" | sort -u)" = true ]
	[ "$(jq -r 'select(.state == "delayed") | .visible_at - .put > 3000' <<<"$output")" = true ]
	[ "$(jq 'select(.state == "visible") | (.id as $i | .path | endswith($i)) and .size == 2 and .deadline == null' <<<"$output" | sort -u)" = true ]
}

@test "-l -s lists only the states named, as mqpurge takes them" {
	mixed jobs
	run -0 mqstat -l -s dead,inflight jobs
	[ "${#lines[@]}" -eq 3 ]
	[ "$(awk '{ print $1 }' <<<"$output" | sort -u | tr '\n' ' ')" = "dead inflight " ]
	run -0 mqstat -l -j -s waiting jobs
	[ "$(jq -r .state <<<"$output" | sort | tr '\n' ' ')" = "delayed visible visible " ]
	run -2 mqstat -s dead jobs
	run -2 mqstat -l -s nosuchstate jobs
}

@test "mqstat changes nothing: not a name, not a time" {
	mixed jobs
	before=$(ls -lAR --full-time jobs)
	run -0 mqstat jobs
	run -0 mqstat -l -j jobs
	run -0 mqstat -p jobs
	[ "$(ls -lAR --full-time jobs)" = "$before" ]
}

@test "an output that cannot be written is an error, exit 111, in every format" {
	mixed jobs
	for o in "" -j -p -l "-l -j"; do
		run -111 --separate-stderr bash -c "mqstat $o jobs >/dev/full"
		[[ $stderr == *"stdout: No space left on device"* ]]
	done
}

@test "bad usage exits 2: -j with -p, -l with -p, no operand on a terminal" {
	run -2 mqstat -j -p q
	run -2 mqstat -l -p q
	run -2 mqstat -x q
	[[ $output == *"usage: mqstat [-j | -p] [-o file] queue ..."* ]]
}

@test "a FIFO in new/ is reported and skipped" {
	mixed jobs
	mkfifo jobs/new/fifo
	run -0 --separate-stderr mqstat -j jobs
	[[ $stderr == *"jobs/new/fifo: skipped: a FIFO"* ]]
	[ "$(field jobs .visible <<<"$output")" = 2 ]
}

@test "the EXAMPLES of mqstat(1) run" {
	awk '/^\.Sh / { ex = ($2 == "EXAMPLES") }
	    ex && /^\.\\" notest/ { skip = 1; next }
	    ex && /^\.Bd -literal/ { on = !skip; skip = 0; next }
	    /^\.Ed/ { on = 0; next }
	    on' "$MQ_ROOT/man/mqstat.1" | sed 's/\\e/\\/g; s/\\&//g' >ex.sh
	run -0 sh -e ex.sh
	[[ $output == *"jobs: poison 1"* ]]
}
