#!/bin/bash
# tests/cluster/host.sh NAME QUEUE OUT N TIMEOUT IDLE: the work of one
# "host" of the cluster test, run inside its own namespaces (gl_host):
# a producer putting N messages, one mqput process each; a consumer loop
# of mqget -w, cat, mqack; an mqwatch -j 2 worker pool; all at once.
# Consumers stop once the queue has been idle for IDLE.  Into OUT (a
# local directory, not the volume): put.NAME (ids printed by mqput),
# got.NAME (bodies handled), err.NAME (every line the tools print on
# standard error), and held.NAME (see below).
#
# With HOLD=1 one more consumer claims a message (owner: itself) and
# never finishes it: the claim a crash of this host must give back.
name=$1 q=$2 out=$3 n=$4 tmo=$5 idle=$6
exec 2>>"$out/err.$name"

produce() {
	local i
	for i in $(seq "$n"); do
		echo "$name-$i" | mqput "$q" >>"$out/put.$name"
	done
}

consume() {
	local m
	while m=$(mqget -w "$idle" -t "$tmo" "$q"); do
		cat "$m" >>"$out/got.$name"
		mqack "$m"
	done
}

hold() {
	local m
	m=$(mqget -w "$idle" -t "$tmo" -p "$BASHPID" "$q") || return
	echo "$m" >"$out/held.$name"
	# A worker that never ends: its host's crash ends it.
	exec tail -f /dev/null
}

produce &
consume &
mqwatch -j 2 -i "$idle" -t "$tmo" "$q" -- \
    sh -c 'cat >>"$1"' sh "$out/got.$name" &
[ "${HOLD:-0}" = 1 ] && hold &
wait
