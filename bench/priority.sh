#!/bin/sh
# bench/priority.sh DIR: priorities (issue 24), as ratios within one run, in
# queues made under DIR (bench/run.sh's section (p)).
#
#	cycle	PRIO_N messages put by 100 mqput -S -l, then drained by
#		rounds of "mqget -n 1000 | mqack", sync = no: at mixed
#		levels (the puts go round the levels 0 to 9) against the
#		same all at the default level (target: >= 0.9x)
#	urgent	one-shot mqget of messages put at level 0 behind PRIO_BIG
#		messages of the default level, against behind 10 (target:
#		<= 1.2x the time)
#
# PRIO_N, PRIO_BIG, PRIO_CALLS, PRIO_RUNS scale it.  Prints one line per
# figure, "p.CASE WHO COUNT SECONDS", then the ratios against the targets.
set -eu
D=$1
N=${PRIO_N:-20000} BIG=${PRIO_BIG:-1000000} CALLS=${PRIO_CALLS:-100}
RUNS=${PRIO_RUNS:-3}
export LC_ALL=C

. "$(dirname "$0")/lib.sh"
FIG_PREFIX=p FIG_FILE=$D/pfigs
: >"$D/pfigs"

q=$D/pq
body $((N / 100)) >"$D/pbody"
# --- cycle: mixed levels and the default, the same processes, alternating
tplain= tmixed=
for run in 0 $(seq "$RUNS"); do
	for who in plain mixed; do
		mkq "$q" no
		t0=$(now)
		i=0
		while [ $i -lt 100 ]; do
			[ $who = mixed ] && l=$((i % 10)) || l=5
			mqput -S -l -q -p $l "$q" <"$D/pbody"
			i=$((i + 1))
		done
		while mqget -n 1000 "$q" >"$D/pclaims"; do mqack <"$D/pclaims"; done
		t1=$(now)
		[ "$(ls "$q/new" "$q/cur" | grep -vc -e '^$' -e ':$')" = 0 ] ||
			{ echo "bench: priority: messages left ($who)" >&2; exit 1; }
		[ "$run" = 0 ] && continue
		[ $who = plain ] && tplain="$tplain $((t1 - t0))" ||
			tmixed="$tmixed $((t1 - t0))"
	done
done
fig cycle plain "$N" $tplain
fig cycle mixed "$N" $tmixed
rm -rf "$q"

# --- urgent: one-shot claims of level 0 behind 10 and behind BIG --------
# Both queues made first (one claim leaves the index of a long backlog),
# then their runs alternate: the machine's load drifts alike for both.
for n in 10 "$BIG"; do
	mkq "$q.$n" yes
	head -c "$n" /dev/zero | mqput -0 -S -q "$q.$n"
	mqack "$(mqget "$q.$n")"
done
sync
t10= tbig=
for run in 0 $(seq "$RUNS"); do
	for n in 10 "$BIG"; do
		i=0
		while [ $i -lt "$CALLS" ]; do
			echo "$i" | mqput -q -p 0 "$q.$n"
			i=$((i + 1))
		done
		t0=$(now)
		i=0
		while [ $i -lt "$CALLS" ]; do mqget "$q.$n" >>"$D/pclaims.u"; i=$((i + 1)); done
		t1=$(now)
		# every claim was of level 0: the urgent ones came first
		[ "$(grep -c ',p0,' "$D/pclaims.u")" = "$CALLS" ] ||
			{ echo "bench: priority: behind $n, not the urgent first" >&2; exit 1; }
		mqack <"$D/pclaims.u"
		rm -f "$D/pclaims.u"
		[ "$run" = 0 ] && continue
		[ "$n" = 10 ] && t10="$t10 $((t1 - t0))" || tbig="$tbig $((t1 - t0))"
	done
done
fig urgent 10 "$CALLS" $t10
fig urgent "$BIG" "$CALLS" $tbig
rm -rf "$q.10" "$q.$BIG"
awk -v load="$(cut -d' ' -f1-3 /proc/loadavg)" '
	{ t[$1 " " $2] = $4 }
	function line(what, r, ok, target) {
		printf "(p) %s: %.2f (target %s): %s\n", what, r, target,
		    ok ? "MET" : "NOT MET"
	}
	END {
		print "(p) load average at the end: " load
		r = t["p.cycle plain"] / t["p.cycle mixed"]
		line("cycle at mixed levels over the default alone, speed", r,
		    r >= 0.9, ">= 0.9")
		for (k in t) if (k ~ /^p\.urgent / && k != "p.urgent 10") big = k
		r = t[big] / t["p.urgent 10"]
		line("one-shot urgent claim behind " substr(big, 10) \
		    " over behind 10, time", r, r <= 1.2, "<= 1.2")
	}' "$D/pfigs"
