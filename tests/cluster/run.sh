#!/bin/bash
# tests/cluster/run.sh GLDIR OUT N [crash]: two hosts on one queue on the
# file system of fs_up GLDIR (tests/cluster/fs.sh: GlusterFS or CephFS):
# hostA on GLDIR/m1, hostB on GLDIR/m2, each running tests/cluster/host.sh
# with N messages.  With "crash", hostB also holds a claim it never
# finishes, and once it has put a quarter of its messages every process of
# hostB is killed and its mount goes with it (fs_crash); hostA must get
# hostB's claims back after their timeout.  The mount comes back at the
# end.
#
# Prints one line of counters (as a Jepsen queue checker would):
#   attempted acked lost duplicated left errors recovered unexpected
# attempted: ids mqput printed; acked: distinct ids in done/; lost: ids
# put but not done (must be 0); duplicated: ids acknowledged twice (0);
# left: files in new/ and cur/ (0); errors: lines the tools wrote on
# standard error (0); recovered: messages done at their second delivery
# or later; unexpected: ids done that no mqput printed (a put killed
# after its rename, before it printed: only in a crash).
# Exits 0 when lost, duplicated, left and errors are all 0.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/fs.sh"
gl=$1 out=$2 n=$3 mode=${4:-steady}
tmo=${CLUSTER_TIMEOUT:-30s} idle=${CLUSTER_IDLE:-5s}
# A claim timeout a loaded machine can miss (an ack after it is an
# error line): 10 s, and hosts idle twice that before they stop.  Where
# a crashed host's client holds up the others' moves (CephFS: fs_stall),
# the timeout is longer than that, as mq(7) asks.
if [ "$mode" = crash ]; then
	s=$(fs_stall "$gl")
	tmo=${CLUSTER_TIMEOUT:-$((s + 10))s} idle=${CLUSTER_IDLE:-$((s + 20))s}
fi
qn=q$$x$RANDOM
qa=$gl/m1/$qn qb=$gl/m2/$qn
mkdir -p "$out"
rm -f "$out"/*.hostA "$out"/*.hostB

mqput -c -l "$qa" </dev/null || exit 1
gl_host hostA "$here/host.sh" hostA "$qa" "$out" "$n" "$tmo" "$idle" &
a=$!
HOLD=$([ "$mode" = crash ] && echo 1 || echo 0) \
    gl_host hostB "$here/host.sh" hostB "$qb" "$out" "$n" "$tmo" "$idle" &
b=$!

lines() { cat "$@" 2>/dev/null | wc -l; }
# enough_done: hostB holds its claim and has put a quarter of its share.
enough_done() {
	[ -s "$out/held.hostB" ] && [ "$(lines "$out/put.hostB")" -ge $((n / 4)) ]
}
if [ "$mode" = crash ]; then
	k=600
	until enough_done; do
		k=$((k - 1))
		[ "$k" -gt 0 ] || { echo "hostB never got going" >&2; break; }
		sleep 0.1
	done
	gl_host_kill "$b" || { echo "hostB: no pid 1 to kill" >&2; exit 1; }
	wait "$b" 2>/dev/null
	if pgrep -f "$qb" >/dev/null; then
		echo "hostB: processes survived its crash" >&2
		exit 1
	fi
	fs_crash "$gl" 2
fi
wait "$a"
[ "$mode" = crash ] || wait "$b"
[ "$mode" = crash ] && fs_mount "$gl" 2

ids() { sed 's/,.*//' | sort; }
cat "$out"/put.host? 2>/dev/null | sort -u >"$out/put.ids"
ls "$qa/done" | ids >"$out/done.ids"
attempted=$(lines "$out/put.ids")
acked=$(sort -u "$out/done.ids" | wc -l)
lost=$(sort -u "$out/done.ids" | comm -23 "$out/put.ids" - | wc -l)
duplicated=$(uniq -d "$out/done.ids" | wc -l)
left=$(( $(ls "$qa/new" | wc -l) + $(ls "$qa/cur" | wc -l) ))
errors=$(lines "$out"/err.host?)
recovered=$(ls "$qa/done" | grep -c ',d\([2-9]\|[1-9][0-9]\)')
unexpected=$(sort -u "$out/done.ids" | comm -13 "$out/put.ids" - | wc -l)
echo "attempted $attempted acked $acked lost $lost duplicated $duplicated left $left errors $errors recovered $recovered unexpected $unexpected"
if [ "$mode" = crash ] && [ -s "$out/held.hostB" ]; then
	h=$(basename "$(cat "$out/held.hostB")" | sed 's/,.*//')
	grep -qx "$h" "$out/done.ids" || { echo "held claim $h not done" >&2; exit 1; }
fi
cat "$out"/err.host? >&2 2>/dev/null
ls "$qa/new" "$qa/cur" >&2
[ "$lost" -eq 0 ] && [ "$duplicated" -eq 0 ] && [ "$left" -eq 0 ] &&
    [ "$errors" -eq 0 ]
