#!/bin/sh
# valgrind.sh [N]: memcheck, with fd tracking, on two long mqwatch runs of N
# messages each (default $MQ_VALGRIND_N or 100000): handlers (-j 4, each
# message to "cat >/dev/null") and the mode without a command (paths to a
# pipe, acknowledged by mqack).  Passes when every message is done, valgrind
# found no error and no leak, and mqwatch left no descriptor of its own open
# at exit.  Prints the figures.  Tools from bin/.
set -u
n=${1:-${MQ_VALGRIND_N:-100000}}
top=$(cd "$(dirname "$0")/.." && pwd)
# memcheck cannot run sanitized tools: always the plain build of bin/.
PATH=$top/bin:$PATH
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
vg="valgrind -q --leak-check=full --show-leak-kinds=all
	--errors-for-leak-kinds=definite,indirect,possible --track-fds=yes
	--error-exitcode=99 --trace-children=no"
rc=0

# verdict NAME LOG: the memcheck log of the mqwatch process (its pid in
# the file name; forked handlers write their own before exec).
verdict() {
	log=$(ls "$work"/vg."$1".* | head -n 1)
	fds=$(awk '/Open file descriptor [0-9]+:/ { fd = $0; next }
	    fd && !/inherited from parent/ { print fd } { fd = "" }' "$log" |
	    wc -l)
	errs=$(grep -c 'ERROR SUMMARY: [1-9]\|definitely lost\|indirectly lost\|possibly lost\|Invalid\|uninitialised' "$log")
	echo "valgrind mqwatch $1: $n messages, done $(ls q$1/done | wc -l), exit $2, errors $errs, fds left $fds"
	if [ "$2" != 0 ] || [ "$errs" != 0 ] || [ "$fds" != 0 ] ||
	    [ "$(ls q$1/done | wc -l)" != "$n" ]; then
		grep -v '^==[0-9]*== *$' "$log" | head -n 60
		rc=1
	fi
}

for mode in handlers pipe; do
	mqput -c "q$mode" </dev/null >/dev/null || exit 1
	seq -f "message %g" "$n" | mqput -l -q "q$mode" || exit 1
done

st=0
$vg --log-file="$work/vg.handlers.%p" mqwatch -n "$n" -j 4 qhandlers -- \
	sh -c 'cat >/dev/null' 3>&- 4>&- 5>&- || st=$?
verdict handlers "$st"

{ st=0; $vg --log-file="$work/vg.pipe.%p" mqwatch -n "$n" qpipe ||
	st=$?; echo "$st" >"$work/st"; } 3>&- 4>&- 5>&- |
	mqack || { echo "mqack failed"; rc=1; }
verdict pipe "$(cat "$work/st")"
exit $rc
