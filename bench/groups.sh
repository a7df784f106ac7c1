#!/bin/sh
# bench/groups.sh DIR: ordered groups (issue 19), as ratios within one run,
# in queues made under DIR (bench/run.sh's section (o)).
#
#	cycle	GROUPS groups of PER messages put (a mqput -l each), then
#		drained by rounds of "mqget -n 1000 | mqack": with -G
#		against the same without (target: >= 0.8x)
#	watch	mqwatch -j 8 against -j 1, handler "sleep 0.02", on WGROUPS
#		groups of 2 messages (target: >= 6x)
#	blocked	one-shot mqget of other groups' messages with BIG messages
#		of one group waiting behind its claimed head, against 10
#		(target: <= 1.2x the time)
#
# GROUPS_N, GROUPS_PER, GROUPS_WATCH, GROUPS_BIG, GROUPS_CALLS, GROUPS_RUNS
# scale it (defaults: the issue's figures).  Prints one line per figure:
# "o.CASE WHO COUNT SECONDS", then the ratios against the targets.
set -eu
D=$1
G=${GROUPS_N:-1000} PER=${GROUPS_PER:-20} WG=${GROUPS_WATCH:-100}
BIG=${GROUPS_BIG:-1000000} CALLS=${GROUPS_CALLS:-100} RUNS=${GROUPS_RUNS:-3}
export LC_ALL=C

. "$(dirname "$0")/lib.sh"
FIG_PREFIX=o FIG_FILE=$D/gfigs
: >"$D/gfigs"

q=$D/gq
body "$PER" >"$D/gbody"
# --- cycle: with and without groups, the same processes, runs alternating
tnone= tgroups=
for run in 0 $(seq "$RUNS"); do
	for who in none groups; do
		mkq "$q" yes
		t0=$(now)
		i=0
		while [ $i -lt "$G" ]; do
			if [ $who = groups ]; then
				mqput -l -q -G "g$i" "$q" <"$D/gbody"
			else
				mqput -l -q "$q" <"$D/gbody"
			fi
			i=$((i + 1))
		done
		while mqget -n 1000 "$q" >"$D/gclaims"; do mqack <"$D/gclaims"; done
		t1=$(now)
		[ "$(ls "$q/done" | wc -l)" = $((G * PER)) ] ||
			{ echo "bench: groups: lost messages ($who)" >&2; exit 1; }
		[ "$run" = 0 ] && continue
		[ $who = none ] && tnone="$tnone $((t1 - t0))" ||
			tgroups="$tgroups $((t1 - t0))"
	done
done
fig cycle none $((G * PER)) $tnone
fig cycle groups $((G * PER)) $tgroups

# --- watch: a pool on groups, -j 8 against -j 1 ------------------------
for j in 1 8; do
	ts=
	for run in 0 $(seq "$RUNS"); do
		mkq "$q" yes
		for k in 1 2; do
			i=0
			while [ $i -lt "$WG" ]; do
				echo "$i" | mqput -q -S -G "w$i" "$q"
				i=$((i + 1))
			done
		done
		t0=$(now)
		mqwatch -n $((WG * 2)) -j $j "$q" -- sleep 0.02
		t1=$(now)
		[ "$run" = 0 ] && continue
		ts="$ts $((t1 - t0))"
	done
	fig watch "j$j" $((WG * 2)) $ts
done

# --- blocked: one-shot claims past a big blocked group -----------------
# Both queues made first, then their runs alternate: the machine's load
# drifts alike for both.
for n in 10 "$BIG"; do
	mkq "$q.$n" yes
	head -c "$n" /dev/zero | mqput -0 -S -q -G big "$q.$n"
	mqget -t 1h "$q.$n" >/dev/null
done
sync
t10= tbig=
for run in 0 $(seq "$RUNS"); do
	for n in 10 "$BIG"; do
		i=0
		while [ $i -lt "$CALLS" ]; do
			echo "$i" | mqput -q -S -G "o$run-$i" "$q.$n"
			i=$((i + 1))
		done
		t0=$(now)
		i=0
		while [ $i -lt "$CALLS" ]; do mqget "$q.$n" >>"$D/gclaims.b"; i=$((i + 1)); done
		t1=$(now)
		[ "$(wc -l <"$D/gclaims.b")" = "$CALLS" ] ||
			{ echo "bench: groups: a claim failed behind $n" >&2; exit 1; }
		mqack <"$D/gclaims.b"
		rm -f "$D/gclaims.b"
		[ "$run" = 0 ] && continue
		[ "$n" = 10 ] && t10="$t10 $((t1 - t0))" || tbig="$tbig $((t1 - t0))"
	done
done
fig blocked 10 "$CALLS" $t10
fig blocked "$BIG" "$CALLS" $tbig
rm -rf "$q.10" "$q.$BIG"
awk -v load="$(cut -d' ' -f1-3 /proc/loadavg)" '
	{ t[$1 " " $2] = $4 }
	function line(what, r, ok, target) {
		printf "(o) %s: %.2f (target %s): %s\n", what, r, target,
		    ok ? "MET" : "NOT MET"
	}
	END {
		print "(o) load average at the end: " load
		r = t["o.cycle none"] / t["o.cycle groups"]
		line("cycle with groups over without, speed", r, r >= 0.8, ">= 0.8")
		r = t["o.watch j1"] / t["o.watch j8"]
		line("mqwatch -j 8 over -j 1, sleep 0.02, speed", r, r >= 6, ">= 6")
		for (k in t) if (k ~ /^o\.blocked / && k != "o.blocked 10") big = k
		r = t[big] / t["o.blocked 10"]
		line("one-shot mqget, " substr(big, 11) " blocked over 10, time", r,
		    r <= 1.2, "<= 1.2")
	}' "$D/gfigs"
rm -rf "$q" "$D/gbody" "$D/gclaims" "$D/gfigs"
