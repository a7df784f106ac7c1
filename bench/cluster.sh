#!/bin/bash
# bench/cluster.sh LOCALDIR: mq across two hosts on GlusterFS, beside the
# same on local LOCALDIR (bench/run.sh passes its fresh ext4); section (g)
# of make bench (issue 9).  Prints a small table on stdout:
#
#   cycle FS HOSTS msgs/s: put, claim and acknowledge, on one host (one
#     producer, one consumer) and on two (the same on each, the same total):
#     producers "mqput -l" of 100-byte lines, consumers "mqget -n 50 |
#     mqack" until the queue is drained; the scaling ratio two / one.
#   push FS POLL p50 p99 (ms): a message put on hostB (one mqput each,
#     one at a time) until mqwatch on hostA prints its claim, from the
#     start of mqput; on GlusterFS by polling (the queue's poll), on local
#     ext4 by inotify.
#
# The volume (replica 2, both bricks here, mounted twice) is made and
# removed by tests/cluster/gluster.sh.  Environment: CLUSTER_BENCH_N
# messages per cycle run (default 1000), CLUSTER_BENCH_RUNS (3),
# CLUSTER_BENCH_PUSH pushes per latency run (50).  Both "hosts" share this
# machine's two cores: the ratio shows what sharing the volume costs, not
# what a second machine would add.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tests/cluster/gluster.sh"
PATH=$here/../bin:$PATH
local_dir=$1
N=${CLUSTER_BENCH_N:-1000}
RUNS=${CLUSTER_BENCH_RUNS:-3}
PUSH=${CLUSTER_BENCH_PUSH:-50}

why=$(gl_why_not)
if [ -n "$why" ]; then
	echo "(g) GlusterFS: skipped: $why"
	exit 0
fi
W=$(mktemp -d /tmp/mqcluster.XXXXXX)
cleanup() {
	gl_down "$W/gl"
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
gl_up "$W/gl" >&2 || { echo "(g) GlusterFS: skipped: no volume"; exit 0; }

median() {
	sort -g | awk '{ a[NR] = $1 } END {
		if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# worker Q N DONEFLAG: put N lines in one process while a consumer drains
# until the producer is done (DONEFLAG, a local file) and nothing is left.
worker() {
	local q=$1 n=$2 flag=$3
	( awk -v n="$n" 'BEGIN { s = sprintf("%099d", 0)
	    for (i = 0; i < n; i++) print s }' | mqput -l -q "$q"
	  touch "$flag" ) &
	while :; do
		if mqget -n 50 "$q" >"$flag.claims"; then
			mqack <"$flag.claims"
		elif [ -e "$flag" ]; then
			mqget -n 50 "$q" >"$flag.claims" || break
			mqack <"$flag.claims"
		fi
	done
	wait
}

# cycle LABEL QA QB HOSTS: messages/s of one run.
cycle() {
	local qa=$2 qb=$3 hosts=$4 t0 t1
	rm -rf "$qa"
	mqput -c -l "$qa" </dev/null
	echo 'keep_done = no' >>"$qa/config"
	rm -f "$W"/flag.*
	t0=$(date +%s%N)
	if [ "$hosts" = 1 ]; then
		gl_host hostA "$(declare -f worker); worker $qa $N $W/flag.a"
	else
		gl_host hostA "$(declare -f worker); worker $qa $((N / 2)) $W/flag.a" &
		gl_host hostB "$(declare -f worker); worker $qb $((N / 2)) $W/flag.b"
		wait
	fi
	t1=$(date +%s%N)
	[ -z "$(ls -A "$qa/new")$(ls -A "$qa/cur")" ] ||
		echo "bench: $qa not drained" >&2
	awk -v n="$N" -v ns=$((t1 - t0)) 'BEGIN { printf "%.0f\n", n / (ns / 1e9) }'
}

# push FS QA QB POLL: p50 p99 in ms of PUSH messages, hostB to hostA.
push() {
	local qa=$2 qb=$3 poll=$4 f=$W/fifo
	rm -rf "$qa"
	mqput -c -l "$qa" </dev/null
	printf 'keep_done = no\npoll = %s\n' "$poll" >>"$qa/config"
	rm -f "$f" "$W/lat"
	mkfifo "$f"
	# hostA: mqwatch prints each claim; the reader notes when it saw it.
	gl_host hostA "mqwatch -n $PUSH $qa | while read -r p; do
	    t1=\$(date +%s%N); t0=\$(cat \"\$p\"); mqack \"\$p\"
	    echo \$(( (t1 - t0) / 1000 )) >>$W/lat; echo >$f; done" &
	# hostB: one message at a time, its body the time it was begun.
	gl_host hostB "for i in \$(seq $PUSH); do
	    date +%s%N | mqput -q $qb; read -r _ <$f; done"
	wait
	sort -g "$W/lat" | awk '{ a[NR] = $1 } END {
		printf "%.1f %.1f\n", a[int((NR + 1) / 2)] / 1000, a[int(NR * 0.99 + 0.999)] / 1000 }'
}

gv=$(dpkg-query -W -f='${Version}' glusterfs-server 2>/dev/null)
echo "(g) across hosts: GlusterFS $gv replica 2 (both bricks here, FUSE, two mounts) vs local $(df -T "$local_dir" | awk 'NR == 2 { print $2 }'); $N messages, median of $RUNS"
for fs in glusterfs local; do
	if [ "$fs" = glusterfs ]; then
		qa=$W/gl/m1/q qb=$W/gl/m2/q
	else
		qa=$local_dir/cq qb=$local_dir/cq
	fi
	for hosts in 1 2; do
		r=$(for i in $(seq "$RUNS"); do cycle "$fs" "$qa" "$qb" "$hosts"; done | median)
		echo "cycle $fs $hosts $r"
		[ "$hosts" = 1 ] && one=$r
	done
	awk -v a="$r" -v b="$one" 'BEGIN { printf "scaling %s %.2f\n", ARGV[1], a / b }' "$fs"
	rm -rf "$qa"
done
for p in 1s 100ms; do
	echo "push glusterfs $p $(push glusterfs "$W/gl/m1/p" "$W/gl/m2/p" "$p")"
done
echo "push local inotify $(push local "$local_dir/p" "$local_dir/p" 1s)"
rm -rf "$local_dir/p"
