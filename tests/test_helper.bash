# Shared by every .bats file: the built tools first on PATH, and a private
# spool, HOME and cwd per test, so tests never see each other's queues.
bats_require_minimum_version 1.5.0

MQ_ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
# MQ_BIN: other builds of the tools (make check-asan: build-asan/bin).
PATH="${MQ_BIN:-$MQ_ROOT/bin}:$PATH"
export PATH

setup() {
	export HOME="$BATS_TEST_TMPDIR/home"
	mkdir -p "$HOME"
	cd "$BATS_TEST_TMPDIR" || return 1
	unset MQ_QUEUE
}

# mkq NAME: a fresh queue.
mkq() {
	mqput -c "$1" </dev/null >/dev/null || return 1
	rm -f "$1"/new/* "$1"/done/*
}

# count DIR: number of entries in DIR.
count() {
	local n=0 f
	for f in "$1"/*; do
		[ -e "$f" ] || [ -L "$f" ] || continue
		n=$((n + 1))
	done
	echo "$n"
}

# files_in DIR N: DIR holds at least N entries.
files_in() {
	[ "$(count "$1")" -ge "$2" ]
}

# as_nobody CMD...: run as an unprivileged user (root ignores permissions).
as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
}

# put QUEUE [mqput options]: one message, "body"; its id on stdout.
put() {
	local q=$1
	shift
	echo "body" | mqput "$@" "$q"
}

# until_ok CMD...: true once CMD succeeds, false after ~15 s.  A bounded
# poll for what raises no event a test could wait on; never a fixed sleep.
until_ok() {
	local n=750
	until "$@"; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 0.02
	done
}

# has_fd PID KIND: the process holds a descriptor of KIND (inotify,
# signalfd, ...): e.g. mqget -w has opened its watch, so no arrival from
# now on is missed.
has_fd() {
	ls -l "/proc/$1/fd" 2>/dev/null | grep -q "$2"
}

# looked PID Q: the waiting mqget PID has its watch open and has made its
# first look at Q (it left the note of cur/): an arrival from now on wakes
# it for a second one.
looked() {
	has_fd "$1" signalfd && [ -e "$2/.cur" ]
}

# like_check ENTITY N: after tests/like.sh ran, the entity's counter is N,
# its log has N updates, each producer's in the order it put them, and no
# two of them overlapped in time.
like_check() {
	echo "$1: counter $(cat "counters/$1"), log $(wc -l <"logs/$1")"
	[ "$(cat "counters/$1")" = "$2" ] || return 1
	[ "$(wc -l <"logs/$1")" = "$2" ] || return 1
	awk '$5 <= last[$4] { print "out of order: " $0; bad = 1 }
		{ last[$4] = $5 } END { exit bad }' "logs/$1" || return 1
	sort -n -k2,2 "logs/$1" | awk '
		NR > 1 && $2 < end { print "overlap: " $0; bad = 1 }
		{ end = $3 } END { exit bad }'
}
