# examples/scenario.sh: what every scenario of examples/ shares; sourced,
# not run.  It puts the repository's bin/ first on PATH when there is one
# (so `make scenarios` runs the tools just built), makes a scratch
# directory and works in it, and gives the few helpers the scripts use:
#
#	say TEXT	narrate one line
#	fail WHY	note a failed check; the verdict will say the first
#	verdict		print "SCENARIO name: ok" (exit 0), or
#			"SCENARIO name: FAILED: why" (exit 1)
#	skip WHY	print "SCENARIO name: skipped: why" (exit 0): this
#			machine cannot run it
#	cleanup		a script's own, run first at the end
#	n_of DIR	the number of entries in DIR (hidden ones aside)
#	n_lines FILE	the number of lines of FILE (0 if there is none)
#	scaled N	N times SCALE percent, at least 1
#	bg CMD ...	start CMD in the background ($! its pid); stopped
#			(SIGTERM) at the end, unless stopped before with
#	stop PID [SIG]	send it SIGTERM (or SIG), and wait for it to end
#	until_true SECONDS CMD ...  a bounded poll: CMD every 0.1 s until it
#			succeeds; false after SECONDS
#
# SCALE (percent, 100 by default) shrinks the long scenarios: make check
# runs them at SCALE=20.  KEEP=1 keeps the scratch directory, to look at
# the queues with ls and cat afterwards.  Besides mq's tools the scenarios
# use the shell, ls, cat, and mkdir, rm, seq and sleep.
set -u
scenario=${0##*/}
scenario=${scenario%.sh}
case $0 in */*) here=${0%/*} ;; *) here=. ;; esac
here=$(cd "$here" && pwd)	# examples/, wherever we are
[ -x "$here/../bin/mqput" ] && PATH=$(cd "$here/../bin" && pwd):$PATH
SCALE=${SCALE:-100}
why=
pids=

work=${TMPDIR:-/tmp}/mq-$scenario.$$
mkdir "$work" && cd "$work" || exit 1
cleanup() { :; }
finish() {
	cleanup
	for _p in $pids; do kill "$_p" 2>/dev/null; done
	wait
	cd / || return
	if [ "${KEEP:-0}" = 1 ]; then echo "(kept: $work)"; else rm -rf "$work"; fi
}
trap finish EXIT
trap 'exit 130' INT TERM

say() { printf '  %s\n' "$*"; }
fail() { [ -n "$why" ] || why=$*; }
verdict() {
	if [ -z "$why" ]; then
		echo "SCENARIO $scenario: ok"
		exit 0
	fi
	echo "SCENARIO $scenario: FAILED: $why"
	exit 1
}
skip() {
	echo "SCENARIO $scenario: skipped: $*"
	exit 0
}

# The helpers' own variables begin with _: the scripts' are theirs.
n_of() {
	_n=0
	for _f in "$1"/*; do [ -e "$_f" ] && _n=$((_n + 1)); done
	echo "$_n"
}
n_lines() {
	_n=0
	[ -f "$1" ] && while IFS= read -r _; do _n=$((_n + 1)); done <"$1"
	echo "$_n"
}
scaled() {
	_n=$(($1 * SCALE / 100))
	[ "$_n" -ge 1 ] && echo "$_n" || echo 1
}
bg() {
	"$@" &
	pids="$pids $!"
}
stop() {
	kill -s "${2:-TERM}" "$1" 2>/dev/null; wait "$1" 2>/dev/null
	pids=$(for _p in $pids; do [ "$_p" = "$1" ] || echo "$_p"; done)
}
until_true() {
	_t=$(($1 * 10))
	shift
	until "$@"; do
		_t=$((_t - 1))
		[ "$_t" -gt 0 ] || return 1
		sleep 0.1
	done
}
