#!/bin/sh
# examples/run.sh (make scenarios): run each scenario script given, and
# print its verdict line, one line each; a failed scenario's whole
# narration follows its verdict.  Exits 1 if any failed; a scenario this
# machine cannot run says "skipped" and why, and is no failure.
status=0
for s; do
	out=$(sh "$s" 2>&1)
	rc=$?
	v=${out##*
}
	case $v in
	"SCENARIO "*": ok" | "SCENARIO "*": skipped: "*)
		[ "$rc" = 0 ] && { echo "$v"; continue; }
		v="$v (but exit $rc)" ;;
	"SCENARIO "*) ;;
	*) v="SCENARIO ${s##*/}: FAILED: no verdict (exit $rc)" ;;
	esac
	echo "$v"
	status=1
	printf '%s\n' "$out" | sed 's/^/	| /'
done
exit "$status"
