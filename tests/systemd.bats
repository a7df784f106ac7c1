#!/usr/bin/env bats
# The systemd units of make install: systemd-analyze verify and its
# offline security review pass, and each unit's ExecStart runs as systemd
# would run it (its Environment=, its environment file, specifiers and
# variables expanded, words split by systemd's rules); the tools log to
# the journal one line per event with sd-daemon priority prefixes.
# systemd is not PID 1 here: the units are checked, not started.

load test_helper

setup_file() {
	sh "$BATS_TEST_DIRNAME/deps.sh" systemd >&2 || true
	export ROOT="$BATS_FILE_TMPDIR/root"
	# Installed where the units' ExecStart finds the tools just built.
	make -C "$MQ_ROOT" install PREFIX="$ROOT" >/dev/null
}

# A long-running unit a failed test left behind: stopped.
teardown() {
	[ -z "${BG:-}" ] || kill -TERM "$BG" 2>/dev/null || true
}

units() {
	ls "$ROOT/lib/systemd/system"
}

need_analyze() {
	command -v systemd-analyze >/dev/null ||
	    skip "systemd-analyze is missing and could not be installed"
	systemd-analyze --version >/dev/null 2>&1 ||
	    skip "systemd-analyze cannot run here"
}

# Expand systemd's way: %i; "$$" a dollar; "${VAR}" one word; "$VAR" split
# on blanks.  Quoting ('...') is left to eval, which reads it as systemd
# does for the lines of these units (no escapes, no variables in quotes).
expand_line() {
	local line=$1 out= v
	while [[ $line =~ ^([^\$]*)\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))(.*)$ ]]; do
		out+=${BASH_REMATCH[1]}
		line=${BASH_REMATCH[5]}
		if [ "${BASH_REMATCH[2]}" = '$' ]; then
			out+='$'
		elif [ -n "${BASH_REMATCH[3]}" ]; then
			v=${BASH_REMATCH[3]}
			out+=$(printf '%q' "${!v}")
		else
			v=${BASH_REMATCH[4]}
			out+=${!v}
		fi
	done
	printf '%s' "$out$line"
}

# run_unit UNIT INSTANCE ENVFILE: run UNIT's ExecStart as systemd would,
# with ENVFILE in place of the file its EnvironmentFile= names.
run_unit() {
	local unit="$ROOT/lib/systemd/system/$1" inst=$2 envfile=$3 a l
	local -a cmd
	while read -r a; do
		export "${a//%i/$inst}"
	done < <(sed -n 's/^Environment=//p' "$unit" | tr ' ' '\n')
	while IFS= read -r l; do
		[[ $l == [A-Za-z_]*=* ]] || continue
		a=${l#*=}; a=${a#\"}; a=${a%\"}
		export "${l%%=*}=$a"
	done <"$envfile"
	l=$(sed -n 's/^ExecStart=//p' "$unit")
	eval "cmd=($(expand_line "${l//%i/$inst}"))"
	exec "${cmd[@]}"
}

@test "make install puts every unit, the user and the spool under lib/" {
	[ -f "$ROOT/lib/systemd/system/mqwatch@.service" ]
	[ -f "$ROOT/lib/systemd/system/mqreap.service" ]
	[ -f "$ROOT/lib/systemd/system/mqstat.service" ]
	[ -f "$ROOT/lib/systemd/system/mqstat.timer" ]
	[ -f "$ROOT/lib/systemd/system/mqreap-restart.path" ]
	[ -f "$ROOT/lib/systemd/system/mqreap-restart.service" ]
	grep -q '^u mq ' "$ROOT/lib/sysusers.d/mq.conf"
	grep -q '^d /var/spool/mq ' "$ROOT/lib/tmpfiles.d/mq.conf"
	# the tools' path is filled in
	! grep -q @BINDIR@ "$ROOT"/lib/systemd/system/*
	grep -q "^ExecStart=$ROOT/bin/mqwatch " "$ROOT/lib/systemd/system/mqwatch@.service"
}

@test "systemd-analyze verify passes every unit, man pages found" {
	need_analyze
	local u
	for u in $(units); do
		case $u in
		*@.service) arg="$ROOT/lib/systemd/system/$u:${u%@.service}@jobs.service" ;;
		*) arg="$ROOT/lib/systemd/system/$u" ;;
		esac
		run -0 --separate-stderr env MANPATH="$ROOT/share/man:" \
		    systemd-analyze verify "$arg"
		echo "$u: $stderr"
		[ -z "$stderr" ]
	done
}

@test "the services are hardened: systemd-analyze security rates each OK" {
	need_analyze
	local u
	for u in $(units); do
		[[ $u == *.service ]] || continue
		run -0 systemd-analyze security --offline=true \
		    "$ROOT/lib/systemd/system/$u"
		echo "$u: ${lines[${#lines[@]} - 1]}"
		[[ ${lines[${#lines[@]} - 1]} == *"exposure level"*" OK"* ]]
	done
}

@test "mqwatch@jobs runs its instance's command on its queue, from its env file" {
	mkq jobs
	seq 3 | mqput -l -q jobs
	printf '#!/bin/sh\ncat "$MQ_PATH" >>"%s/handled"\n' "$PWD" >handler
	chmod +x handler
	cat >jobs.env <<-EOF2
	# an instance's settings, as /etc/mq/jobs.env
	QUEUE=$PWD/jobs
	COMMAND=$PWD/handler
	MQWATCH_OPTIONS=-n 3 -j 2
	EOF2
	run -0 run_unit mqwatch@.service jobs jobs.env
	[ "$(sort -n handled | tr '\n' ' ')" = "1 2 3 " ]
	[ "$(count jobs/new)" -eq 0 ]
	[ "$(count jobs/cur)" -eq 0 ]
}

@test "without QUEUE in the env file, the instance name is the queue under /var/spool/mq" {
	run -0 bash -c "grep '^Environment=' '$ROOT/lib/systemd/system/mqwatch@.service'"
	[[ $output == *"QUEUE=/var/spool/mq/%i"* ]]
	printf 'COMMAND=/bin/true\n' >env
	run run_unit mqwatch@.service nosuchq env
	[ "$status" -eq 100 ]
	[[ $output == *"/var/spool/mq/nosuchq: no such queue"* ]]
}

@test "mqreap.service reaps every queue of the spool until stopped, a line per event" {
	mkdir spool
	mkq spool/a
	mkq spool/b
	echo x | mqput -q spool/a
	mqget -t 1s spool/a >/dev/null
	printf 'MQ_SPOOL=%s\n' "$PWD/spool" >default
	run_unit mqreap.service "" default >out 2>err 3>&- &
	pid=$!
	BG=$pid
	back() { [ "$(count spool/a/new)" -eq 1 ]; }
	until_ok back
	until_ok grep -q "^return $PWD/spool/a/cur/" out
	kill -TERM "$pid"
	wait "$pid"
	[ ! -s err ]
}

@test "mqreap-restart.path watches the spool mqreap.service reaps, and restarts it" {
	local d="$ROOT/lib/systemd/system"
	[ "$(sed -n 's/^PathChanged=//p' "$d/mqreap-restart.path")" = \
	    "$(sed -n 's/^ReadWritePaths=//p' "$d/mqreap.service")" ]
	grep -qx 'ExecStart=/bin/systemctl try-restart mqreap.service' \
	    "$d/mqreap-restart.service"
	grep -qx 'Also=mqreap-restart.path' "$d/mqreap.service"
}

@test "mqstat.service writes the spool's metrics atomically where node_exporter reads them" {
	mkdir spool prom
	mkq spool/a
	put spool/a >/dev/null
	printf 'MQ_SPOOL=%s\nMQ_PROM=%s\n' "$PWD/spool" "$PWD/prom/mq.prom" >default
	run -0 run_unit mqstat.service "" default
	grep -qx "mq_messages{queue=\"$PWD/spool/a\",state=\"visible\"} 1" prom/mq.prom
	[ "$(ls -A prom)" = mq.prom ]
}

@test "mqstat.service's one capability reads a queue another user owns, and no less would" {
	local unit="$ROOT/lib/systemd/system/mqstat.service" cap
	cap=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit" | tr 'A-Z' 'a-z')
	[ "$cap" = cap_dac_read_search ]
	! grep -q '^User=' "$unit"
	mkq jobs
	put jobs >/dev/null
	chown -R nobody jobs
	chmod 700 jobs jobs/*
	run -0 setpriv --bounding-set "-all,+${cap#cap_}" --inh-caps -all \
	    -- mqstat -j jobs
	[[ $output == *'"visible":1,'* ]]
	run -100 setpriv --bounding-set -all --inh-caps -all -- mqstat -j jobs
	[[ $output == *"Permission denied"* ]]
}

@test "on the journal's stream, each line of stderr starts with <3>; elsewhere not" {
	: >log
	JOURNAL_STREAM=$(stat -c %d:%i log) mqget nosuch 2>>log || true
	mqget nosuch 2>>log || true
	run -0 cat log
	[ "${lines[0]}" = "<3>mqget: nosuch: no such queue (mqput -c creates one)" ]
	[ "${lines[1]}" = "mqget: nosuch: no such queue (mqput -c creates one)" ]
}

@test "on the journal's stream, stdout is written a line at a time" {
	mkq q
	echo x | mqput -q q
	mqget -t 1s q >/dev/null
	: >out
	# mqreap -f keeps running: its line must be there before it exits
	JOURNAL_STREAM=$(stat -c %d:%i out) mqreap -f -v q >out 3>&- &
	pid=$!
	BG=$pid
	until_ok grep -q '^return q/cur/' out
	kill -TERM "$pid"
	wait "$pid"
}
