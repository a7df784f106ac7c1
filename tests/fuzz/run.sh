#!/bin/sh
# run.sh [SECONDS [NAME ...]]: run the libFuzzer targets of build-fuzz/
# (all, or fuzz_NAME ...) for SECONDS each (default 600), one after
# another, under nice: the seeds of tests/fuzz/seeds/NAME, the corpus
# growing in build-fuzz/corpus/NAME.  Prints each target's figures (runs,
# execs per second, corpus size, coverage); a crash keeps its input as
# build-fuzz/crash-NAME-*, prints the report, and the status is 1.
set -u
secs=${1:-600}
[ $# -gt 0 ] && shift
top=$(cd "$(dirname "$0")/../.." && pwd)
dir=$top/build-fuzz
if [ $# -eq 0 ]; then
	set -- $(cd "$top/tests/fuzz" && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//')
fi
rc=0
for name in "$@"; do
	t=$dir/fuzz_$name
	[ -x "$t" ] || { echo "fuzz_$name: not built (make fuzz-build)"; rc=1; continue; }
	mkdir -p "$dir/corpus/$name"
	# Its own log: two runs at once (make fuzz, make check) must not mix.
	log=$dir/fuzz_$name.$$.log
	scratch=$(mktemp -d)
	if TMPDIR=$scratch nice "$t" -max_total_time="$secs" \
	    -print_final_stats=1 -artifact_prefix="$dir/crash-$name-" \
	    "$dir/corpus/$name" "$top/tests/fuzz/seeds/$name" >"$log" 2>&1
	then
		status=ok
	else
		status=CRASH
		rc=1
	fi
	rm -rf "$scratch"
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	corpus=$(ls "$dir/corpus/$name" | wc -l)
	cov=$(grep -ao 'cov: [0-9]*' "$log" | tail -n 1)
	echo "fuzz_$name: $status: ${secs}s, $runs runs, $speed/s, corpus $corpus, $cov"
	[ "$status" = ok ] || grep -av '^    #[0-9]* 0x' "$log" | tail -n 40
	mv "$log" "$dir/fuzz_$name.log"
done
exit $rc
