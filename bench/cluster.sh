#!/bin/bash
# bench/cluster.sh LOCALDIR: mq across two hosts on each shared file system
# (GlusterFS, CephFS: tests/cluster/fs.sh), beside the same on local
# LOCALDIR (bench/run.sh passes its fresh ext4); section (g) of make bench
# (issues 9, 25).  Prints a small table on stdout:
#
#   cycle FS HOSTS msgs/s: put, claim and acknowledge, on one host (one
#     producer, one consumer) and on two (the same on each, the same total):
#     producers "mqput -l" of 100-byte lines, consumers "mqget -n 50 |
#     mqack" until the queue is drained; the scaling ratio two / one.
#   push FS POLL p50 p99 (ms): a message put on hostB (one mqput each,
#     one at a time) until mqwatch on hostA prints its claim, from the
#     start of mqput; on the shared file systems by polling (the queue's
#     poll), on local ext4 by inotify.
#   recovery FS HOST_TIMEOUT p50 max (s) of RECOVERY runs (issue 21):
#     hostA holds 20 claims of 10 minutes under mqwatch -j 20 and is
#     killed whole; from the kill until hostB's mqwatch has begun all 20.
#   idle FS POLL: what an mqwatch waiting on an empty queue costs for
#     IDLE_S seconds: its CPU and system calls per second, and the CPU of
#     the file system's client (the FUSE daemon of its mount) and servers
#     (bricks, or MDS and OSD), in % of one core.
#
# Each file system is made, measured and removed in turn by
# tests/cluster/fs.sh; CLUSTER_BENCH_FS picks which (default "glusterfs
# cephfs").  Environment: CLUSTER_BENCH_N messages per cycle run (default
# 1000), CLUSTER_BENCH_RUNS (3), CLUSTER_BENCH_PUSH pushes per latency run
# (50), CLUSTER_BENCH_IDLE seconds of idle (10).  Both "hosts" share this
# machine's two cores: the ratio shows what sharing the file system costs,
# not what a second machine would add.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tests/cluster/fs.sh"
PATH=$here/../bin:$PATH
local_dir=$1
N=${CLUSTER_BENCH_N:-1000}
RUNS=${CLUSTER_BENCH_RUNS:-3}
PUSH=${CLUSTER_BENCH_PUSH:-50}
IDLE_S=${CLUSTER_BENCH_IDLE:-10}
RECOVERY=${CLUSTER_BENCH_RECOVERY:-5}
FSES=${CLUSTER_BENCH_FS:-glusterfs cephfs}

W=$(mktemp -d /tmp/mqcluster.XXXXXX)
cleanup() {
	local fs
	for fs in $FSES; do fs_down "$W/$fs"; done
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

median() {
	sort -g | awk '{ a[NR] = $1 } END {
		if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# worker Q N DONEFLAG: put N lines in one process while a consumer drains
# until the producer is done (DONEFLAG, a local file) and nothing is left.
# Claims last 10 minutes: a batch of 50 whose moves wait on the file system
# (CephFS: up to the MDS's tick each) must not expire and come back.
worker() {
	local q=$1 n=$2 flag=$3
	( awk -v n="$n" 'BEGIN { s = sprintf("%099d", 0)
	    for (i = 0; i < n; i++) print s }' | mqput -l -q "$q"
	  touch "$flag" ) &
	while :; do
		if mqget -n 50 -t 10m "$q" >"$flag.claims"; then
			mqack <"$flag.claims"
		elif [ -e "$flag" ]; then
			mqget -n 50 -t 10m "$q" >"$flag.claims" || break
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

# ticks PID...: CPU time (user + system, clock ticks) of these processes.
ticks() {
	local p t=0
	for p; do
		[ -r "/proc/$p/stat" ] || continue
		t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
	done
	echo "$t"
}

# idle FS Q POLL CLIENT SERVERS: one idle mqwatch on Q for IDLE_S seconds
# (a fixed measuring window, not a wait for an event); CLIENT and SERVERS
# are pids (quoted lists).
idle() {
	local q=$2 poll=$3 client=$4 servers=$5 hz p c0 s0 calls
	hz=$(getconf CLK_TCK)
	rm -rf "$q"
	mqput -c -l "$q" </dev/null
	printf 'poll = %s\n' "$poll" >>"$q/config"
	c0=$(ticks $client) s0=$(ticks $servers)
	mqwatch "$q" >/dev/null &
	p=$!
	sleep "$IDLE_S"
	awk -v w="$(ticks $p)" -v c="$(($(ticks $client) - c0))" \
	    -v s="$(($(ticks $servers) - s0))" -v hz="$hz" -v t="$IDLE_S" \
	    'BEGIN { printf "mqwatch %.1f%% client %.1f%% servers %.1f%%", \
	    100 * w / hz / t, 100 * c / hz / t, 100 * s / hz / t }'
	kill "$p"
	wait "$p" 2>/dev/null
	# The system calls, counted apart: strace slows what it counts.
	calls=$(timeout -s INT "$IDLE_S" strace -f -c -o /dev/stdout \
	    mqwatch "$q" 2>/dev/null | awk '$NF == "total" { print $4 }')
	echo " syscalls/s $(( ${calls:-0} / IDLE_S ))"
	rm -rf "$q"
}

# recovery QA QB: seconds from hostA's kill until hostB began all its 20.
recovery() {
	local qa=$1 qb=$2 a t0
	rm -rf "$qa" "$W/began" "$W/held"
	mqput -c -l "$qa" </dev/null
	printf 'keep_done = no\nhost_timeout = 5s\n' >>"$qa/config"
	seq 20 | mqput -l -q "$qa"
	gl_host hostA "mqwatch -j 20 -t 10m $qa -- sh -c 'echo >>$W/held; exec sleep 1000'" 2>/dev/null &
	a=$!
	gl_wait 60 sh -c "[ \$(cat $W/held 2>/dev/null | wc -l) -ge 20 ]"
	gl_host_kill "$a"
	t0=$(date +%s%N)
	wait "$a" 2>/dev/null
	gl_host hostB "mqwatch -j 20 -n 20 -t 1m $qb -- sh -c 'date +%s%N >>$W/began'"
	sort -n "$W/began" | tail -n 1 | awk -v t0="$t0" '{ printf "%.2f\n", ($1 - t0) / 1e9 }'
	rm -rf "$qa"
}

# pids_of PATTERN: the processes whose command line matches, as one line.
pids_of() {
	pgrep -f -- "$1" | tr '\n' ' '
}

# cycles FS QA QB: the cycle lines and the scaling of one file system.
cycles() {
	local fs=$1 qa=$2 qb=$3 hosts r one=
	for hosts in 1 2; do
		r=$(for i in $(seq "$RUNS"); do cycle "$fs" "$qa" "$qb" "$hosts"; done | median)
		echo "cycle $fs $hosts $r"
		[ "$hosts" = 1 ] && one=$r
	done
	awk -v a="$r" -v b="$one" 'BEGIN { printf "scaling %s %.2f\n", ARGV[1], a / b }' "$fs"
	rm -rf "$qa"
}

echo "(g) across hosts, two mounts of one shared file system on this machine vs local $(df -T "$local_dir" | awk 'NR == 2 { print $2 }'); $N messages, median of $RUNS; load average $(cut -d' ' -f1-3 /proc/loadavg)"
for fs in $FSES; do
	d=$W/$fs
	why=$(CLUSTER_FS=$fs fs_why_not)
	if [ -n "$why" ]; then
		echo "($fs skipped: $why)"
		continue
	fi
	CLUSTER_FS=$fs fs_up "$d" >&2 || { echo "($fs skipped: it could not be set up)"; continue; }
	case $fs in
	glusterfs)
		echo "($(fs_name "$d") replica 2, both bricks here, FUSE)"
		client=$(pids_of "glusterfs --process-name fuse .* $d/m1\$")
		servers=$(pids_of "glusterfsd .*--brick-name $d/b")
		;;
	cephfs)
		echo "($(fs_name "$d"): mon, mgr, one OSD on BlueStore, one MDS here; ceph-fuse)"
		client=$(cat "$d/run/fuse.m1.pid")
		servers="$(cat "$d/run/mds.a.pid") $(cat "$d"/run/osd.*.pid)"
		;;
	esac
	cycles "$fs" "$d/m1/q" "$d/m2/q"
	for p in 1s 100ms; do
		echo "push $fs $p $(push "$fs" "$d/m1/p" "$d/m2/p" "$p")"
	done
	r=$(for i in $(seq "$RECOVERY"); do recovery "$d/m1/r" "$d/m2/r"; done |
	    sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)], a[NR] }')
	echo "recovery $fs host_timeout=5s p50 max (s, of $RECOVERY) $r"
	echo "idle $fs 100ms $(idle "$fs" "$d/m1/i" 100ms "$client" "$servers")"
	fs_down "$d"
done
cycles local "$local_dir/cq" "$local_dir/cq"
echo "push local inotify $(push local "$local_dir/p" "$local_dir/p" 1s)"
rm -rf "$local_dir/p"
echo "idle local inotify $(idle local "$local_dir/i" 100ms "" "")"
echo "(load average after: $(cut -d' ' -f1-3 /proc/loadavg))"
