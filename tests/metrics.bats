#!/usr/bin/env bats
# mqstat's metrics through a real node_exporter (Debian's
# prometheus-node-exporter): its textfile collector reads the file mqstat
# -p -o writes, and its /metrics serves mq's metrics, parsed (the collector
# reports a file it cannot parse as node_textfile_scrape_error 1).

load test_helper

setup_file() {
	sh "$BATS_TEST_DIRNAME/deps.sh" prometheus-node-exporter curl >&2 || true
}

setup() {
	command -v prometheus-node-exporter >/dev/null ||
	    skip "prometheus-node-exporter is missing and could not be installed"
	command -v curl >/dev/null || skip "curl is missing"
	export HOME="$BATS_TEST_TMPDIR/home"
	mkdir -p "$HOME"
	cd "$BATS_TEST_TMPDIR" || return 1
	mkdir textfile
}

teardown() {
	[ -z "${NE_PID:-}" ] || { kill "$NE_PID"; wait "$NE_PID" || true; }
}

# A port nobody listens on, from the ephemeral range's far side.
free_port() {
	local p
	for p in $(shuf -i 20000-29999 -n 50); do
		[ -z "$(ss -Hltn "sport = :$p")" ] && { echo "$p"; return; }
	done
	return 1
}

start_node_exporter() {
	PORT=$(free_port)
	prometheus-node-exporter --web.listen-address="127.0.0.1:$PORT" \
	    --collector.disable-defaults --collector.textfile \
	    --collector.textfile.directory="$PWD/textfile" \
	    >ne.log 2>&1 3>&- &
	NE_PID=$!
	until_ok curl -sf -o /dev/null "http://127.0.0.1:$PORT/metrics"
}

scrape() {
	curl -sf "http://127.0.0.1:$PORT/metrics"
}

@test "node_exporter serves mq's metrics from mqstat -p -o, parsed without error" {
	mkq jobs
	seq 3 | mqput -l -q jobs
	mqack -f poison "$(mqget jobs)"
	run -0 mqstat -p -o textfile/mq.prom jobs
	start_node_exporter
	run -0 scrape
	grep -qx 'mq_messages{queue="jobs",state="visible"} 2' <<<"$output"
	grep -qx 'mq_messages{queue="jobs",state="dead"} 1' <<<"$output"
	grep -qx 'mq_dead_letters{queue="jobs",reason="poison"} 1' <<<"$output"
	grep -qx 'mq_up{queue="jobs"} 1' <<<"$output"
	grep -qx '# TYPE mq_waiting_age_seconds histogram' <<<"$output"
	grep -qx 'mq_waiting_age_seconds_bucket{queue="jobs",le="+Inf"} 2' <<<"$output"
	grep -qx 'node_textfile_scrape_error 0' <<<"$output"
	grep -q "^node_textfile_mtime_seconds{file=\"$PWD/textfile/mq.prom\"} " <<<"$output"
}

@test "a new mqstat run replaces the figures node_exporter serves" {
	mkq jobs
	mkq other
	run -0 mqstat -p -o textfile/mq.prom jobs
	start_node_exporter
	run -0 scrape
	grep -qx 'mq_messages{queue="jobs",state="visible"} 0' <<<"$output"
	seq 5 | mqput -l -q jobs
	run -0 mqstat -p -o textfile/mq.prom jobs other
	run -0 scrape
	grep -qx 'mq_messages{queue="jobs",state="visible"} 5' <<<"$output"
	grep -qx 'mq_up{queue="other"} 1' <<<"$output"
	grep -qx 'node_textfile_scrape_error 0' <<<"$output"
}

@test "node_exporter reports a file it cannot parse, so the check above can fail" {
	start_node_exporter
	echo 'mq_messages{queue="jobs" 1' >textfile/bad.prom
	run -0 scrape
	grep -qx 'node_textfile_scrape_error 1' <<<"$output"
}
