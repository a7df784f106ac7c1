#!/bin/sh
# Push latency of mqwatch (a benchmark, not a test): from the rename of a
# message into new/ to the start of its handler, and to the reading of its
# path in the mode without a command; median and p99 over N messages.
#	sh bench/latency.sh [N] [DIR]
# DIR holds the queue (default: a fresh directory in /dev/shm, a tmpfs, as
# the benchmark rules of MISSION.md ask; give a disk directory to include
# the fsyncs of the claim and the ack).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-1000}
base=${2:-/dev/shm}
dir=$(mktemp -d "$base/mqlat.XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM
cc -O2 -Wall -Wextra -o "$dir/latency" "$root/bench/latency.c"
for mode in cmd line; do
	q=$dir/q.$mode
	"$root/bin/mqput" -c "$q" </dev/null >/dev/null
	rm -f "$q"/new/*
	# Acknowledged messages are deleted, not kept: a flat done/.
	sed -i 's/^keep_done = .*/keep_done = no/' "$q/config"
	"$dir/latency" "$mode" "$root/bin/mqwatch" "$q" "$n"
done
