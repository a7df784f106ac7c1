#!/bin/sh
# bench/stat.sh: what mqstat costs on a big queue, beside one directory
# read of the same queue (ls -f | wc -l) and find's stat of every entry.
#
#	sh bench/stat.sh [DIR]		(make bench runs it from bench/run.sh)
#	STAT_N="10000 1000000"		backlogs to measure
#	STAT_RUNS=5			runs per figure (the median is shown)
#
# The backlog is empty messages in new/ (mqput -0 of NUL bytes): what a
# stat costs does not depend on the bodies.  Prints one line per figure:
# "stat N WHO SECONDS".
set -eu
cd "$(dirname "$0")/.."
PATH=$(pwd)/bin:$PATH
export LC_ALL=C
D=${1:-}
[ -n "$D" ] || D=$(mktemp -d /tmp/mqstat.XXXXXX)
RUNS=${STAT_RUNS:-5}
q=$D/statq
trap 'rm -rf "$q"' EXIT

. "$(dirname "$0")/lib.sh"
# time_of WHO CMD...: the median of RUNS runs after a warm-up, in seconds
time_of() {
	who=$1
	shift
	for run in 0 $(seq "$RUNS"); do
		t0=$(now)
		"$@" >/dev/null
		t1=$(now)
		[ "$run" = 0 ] || echo "$t0 $t1"
	done | awk '{ printf "%.4f\n", ($2 - $1) / 1e9 }' | median |
		sed "s/^/stat $n $who /"
}

for n in ${STAT_N:-10000 100000 1000000}; do
	rm -rf "$q"
	mqput -c -q "$q" </dev/null
	rm -f "$q"/new/*
	head -c "$n" /dev/zero | mqput -0 -S -q "$q"
	sync
	time_of ls sh -c "ls -f '$q/new' | wc -l"
	time_of find find "$q/new" -printf '%T@\n'
	time_of mqstat mqstat "$q"
	time_of mqstat-p mqstat -p "$q"
done
