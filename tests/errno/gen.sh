#!/bin/bash
# gen.sh: the errno table (issue 13).  For each scenario (a tool doing one
# ordinary job on a small queue), trace the tool once, list the system
# calls it makes itself (calls.awk), and for each call and each error that
# call can plausibly return, run the job again with
#	strace -e inject=SYSCALL:error=ERRNO:when=K
# (a "short" write is retval=0: strace's retval skips the call, so a short
# count above 0 would claim bytes never written) and check:
#   exit	0 (the fault absorbed), the errno's documented status (mq(7):
#		111 temporary, 100 permanent), or for a put 4 (unsure)
#   named	on a failure, stderr names the queue, claim or stream and
#		the cause (strerror)
#   whole	every file in new/ cur/ done/ dead/ is a whole message
#   rerun	the same job without the fault succeeds (mqack: or 3, the
#		claim has moved on)
#   lost	after a drain one hour later every message is in done/ or
#		dead/: none lost, none stuck
# usage: gen.sh [-o FILE.md] [-s EVERY] [-v] [scenario ...]
#   -o	write the table as markdown (doc/ERRNO.md)
#   -s	run only every EVERY-th case (a sample for make check)
#   -v	print every row, not only gaps
# Exit status 1 if any case is a gap.  Tools from $MQ_BIN, else bin/.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
PATH=${MQ_BIN:-$top/bin}:$PATH
export PATH LC_ALL=C
out= every=1 verbose=0
while getopts o:s:v c; do
	case $c in
	o) out=$OPTARG ;;
	s) every=$OPTARG ;;
	v) verbose=1 ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ -z "$out" ] || out=$(realpath -m "$out")
SCENARIOS=${*:-put putl create get get1 getb ack release fail extend watch watchpipe reap stat ackr ackw ackwd wait waitr}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The errors a call can plausibly return (creat: an openat with O_CREAT;
# desc: the call as calls.awk names it).
errnos() {
	case $1 in
	openat) echo EACCES EIO ENOMEM EINTR
		[ "$2" = 1 ] && echo ENOSPC EDQUOT ;;
	read) echo EIO EINTR ;;
	write) echo EIO ENOSPC EDQUOT EINTR short ;;
	fsync | fdatasync | syncfs) echo EIO ENOSPC EDQUOT EINTR ;;
	# Linux frees the descriptor even when close fails, but strace's
	# injection skips the call: only a written file's close is checked.
	close) [[ $3 == */tmp/* ]] && echo EIO ;;
	renameat2 | linkat) echo EACCES EIO ENOSPC EDQUOT ENOMEM ;;
	unlinkat) echo EACCES EIO ENOMEM ;;
	utimensat) echo EACCES EPERM EIO ;;
	newfstatat | fstat | statx) echo EACCES EIO ENOMEM ;;
	getdents64) echo EIO ENOMEM ;;
	mkdir | mkdirat) echo EACCES EIO ENOSPC EDQUOT ;;
	inotify_init1 | inotify_add_watch) echo ENOMEM ENOSPC ;;
	flock) echo EINTR ENOLCK ;;
	ppoll | poll) echo EINTR ENOMEM ;;
	clone | clone3 | fork | vfork) echo EAGAIN ENOMEM ;;
	pipe2) echo EMFILE ;;
	signalfd4) echo ENOMEM ;;
	esac
}

# mq(7) EXIT STATUS, as mq_exitcode decides it.
status_of() {
	case $1 in
	EACCES | EPERM) echo 100 ;;
	short) echo 0 ;;
	*) echo 111 ;;
	esac
}

strerror() {
	case $1 in
	EACCES) echo "Permission denied" ;;
	EPERM) echo "Operation not permitted" ;;
	EIO) echo "Input/output error" ;;
	ENOSPC) echo "No space left on device" ;;
	EDQUOT) echo "Disk quota exceeded" ;;
	ENOMEM) echo "Cannot allocate memory" ;;
	EINTR) echo "Interrupted system call" ;;
	EAGAIN) echo "Resource temporarily unavailable" ;;
	ENOLCK) echo "No locks available" ;;
	EMFILE) echo "Too many open files" ;;
	esac
}

# A queue q holding m1, m2, m3, and what each job needs (in the cwd).
# The waits' (issue 20): ackr, an ack with a result; ackw, an ack of a
# message someone waits for (a registration left by "mqwait -t 0");
# ackwd, the same in a queue that keeps no done/ (the record made before
# the message goes); wait and waitr, mqwait on m1 acknowledged without a
# record (done/ tells) and with a result (in ID, its id).
setup() {
	if [ "$1" = get1 ]; then
		mqput -c q </dev/null >/dev/null && rm -f q/new/* &&
			echo m1 | mqput -q q || return 1
	elif [ "$1" != create ]; then
		mqput -c q </dev/null >/dev/null && rm -f q/new/* &&
			printf 'm1\nm2\nm3\n' | mqput -l -q q || return 1
	fi
	[ "$1" != ackwd ] ||
		sed -i 's/^keep_done = yes/keep_done = no/' q/config || return 1
	case $1 in
	ack | release | fail | extend | reap | ackr) mqget q >claim || return 1 ;;
	ackw | ackwd) mqget q >claim && mqwait -t 0 q "$(msgid)" 2>/dev/null
		[ -p "q/ends/wait/$(msgid)" ] || return 1 ;;
	wait) mqack "$(mqget q)" && mqget q >/dev/null && : >claim &&
		ls q/done | sed 's/,.*//' >ID ;;
	waitr) mqget q >claim && echo r1 | mqack -R - "$(cat claim)" &&
		msgid >ID && mqget q >/dev/null ;;
	*) : >claim ;;
	esac
	case $1 in
	put) echo m4 >stdin ;;
	putl | create) printf 'm4\nm5\n' >stdin ;;
	ackr) echo r1 >stdin ;;
	*) : >stdin ;;
	esac
}

# The job, as words (CLAIM: the claim setup made).
job() {
	local c
	c=$(cat claim)
	case $1 in
	put) echo mqput q ;;
	putl) echo mqput -l q ;;
	create) echo mqput -c -l q ;;
	get | get1) echo mqget q ;;
	getb) echo mqget -b q ;;
	ack) echo mqack "$c" ;;
	release) echo mqack -r "$c" ;;
	fail) echo mqack -f bad "$c" ;;
	extend) echo mqack -t 1m "$c" ;;
	watch) echo mqwatch -n 1 q -- cat ;;
	watchpipe) echo mqwatch -n 1 q ;;
	reap) echo faketime -f +1h mqreap q ;;
	stat) echo mqstat q ;;
	ackr) echo mqack -R - "$c" ;;
	ackw | ackwd) echo mqack "$c" ;;
	wait) echo mqwait q "$(cat ID)" ;;
	waitr) echo mqwait -r q "$(cat ID)" ;;
	esac
}

# The id of the message claimed in setup.
msgid() {
	local c
	c=$(cat claim)
	c=${c##*/}
	echo "${c%%,*}"
}

# What a wait's run must have said or kept, beyond the spool's rules (a
# word for the verdict if it did not): an acknowledgement that succeeded
# left its record (ackr: with its result; ackwd: the only trace of its
# end), and a wait that succeeded said how m1 ended.
waits_check() {
	local s=$1 x=$2 id
	case $s in
	ackr | ackwd)
		[ "$x" = 0 ] || return 0
		id=$(msgid)
		case $s in
		ackr) [ "$(cat "q/ends/$id" 2>/dev/null)" = "$(printf 'acknowledged\nr1')" ] ;;
		ackwd) [ "$(cat "q/ends/$id" 2>/dev/null)" = acknowledged ] ;;
		esac || echo " record" ;;
	wait) [ "$x" != 0 ] || [ "$(cat out)" = "$(cat ID) acknowledged" ] ||
		echo " said" ;;
	waitr) [ "$x" != 0 ] || [ "$(cat out)" = r1 ] || echo " said" ;;
	esac
}

# What the table calls the tool: the job without its operands.
label() {
	job "$1" | sed 's/ [^ ]*\/cur\/.*//; s/ q\( \|$\)/\1/; s/ -- cat/ -- cmd/; s/faketime -f +1h //'
}

inventory() {
	local d
	for d in new cur done dead tmp; do
		printf '%s%s ' "$d" "$(ls q/$d 2>/dev/null | wc -l)"
	done
}

# The bodies a job's run must keep: m1..m3, and what a put reported.
expected() {
	local s=$1 ids=$2
	case $s in
	create) ;;
	get1) echo m1 ;;
	ackwd) ;;	# keep_done = no: acknowledged is deleted
	*) printf 'm1\nm2\nm3\n' ;;
	esac
	case $s in
	put) [ "$ids" -ge 1 ] && echo m4 ;;
	putl | create)
		[ "$ids" -ge 1 ] && echo m4
		[ "$ids" -ge 2 ] && echo m5 ;;
	esac
	return 0
}

# Kill what a timed-out case left running in its directory (ours only).
reap_leftovers() {
	local p
	for p in /proc/[0-9]*; do
		[ "${p#/proc/}" != $$ ] &&
			[ "$(readlink "$p/cwd" 2>/dev/null)" = "$1" ] &&
			kill -9 "${p#/proc/}" 2>/dev/null
	done
	return 0
}

ncase=0 ngap=0 nrun=0
rows=$work/rows
: >"$rows"

# run_case SCENARIO SYSCALL WHEN ERRNO DESCRIPTION
run_case() {
	local s=$1 sys=$2 k=$3 e=$4 desc=$5 d inj x want why= outcome ids r
	local pre post
	d=$work/case$ncase
	mkdir -p "$d" && cd "$d" || return
	setup "$s" || { echo "setup failed: $s" >&2; return; }
	pre=$(inventory)
	if [ "$e" = short ]; then
		inj="$sys:retval=0:when=$k"
	else
		inj="$sys:error=$e:when=$k"
	fi
	x=0
	timeout -k 5 30 strace -qq -o /dev/null -e inject="$inj" \
		$(job "$s") <stdin >out 2>err 3>&- || x=$?
	post=$(inventory)
	[ "$x" = 124 ] || [ "$x" = 137 ] && reap_leftovers "$d"
	want=$(status_of "$e")
	case $x in
	0 | "$want") ;;
	4) [[ $s == put* || $s == create ]] || why="$why exit" ;;
	*) why="$why exit" ;;
	esac
	if [ "$x" != 0 ] && [ "$e" != short ]; then
		grep -q "$(strerror "$e")" err || why="$why cause"
		# "tool: object: cause", the object a path or a resource.
		grep -Eq "^mq[a-z]+: [^ :]+(:[0-9]+)?: (.*: )?$(strerror "$e")" err ||
			why="$why object"
	fi
	# Whole: no file in the spool with a body other than a put's.
	for f in q/new/* q/cur/* q/done/* q/dead/*; do
		[ -f "$f" ] || continue
		grep -Eqx 'm[1-5]' "$f" && [ "$(wc -l <"$f")" = 1 ] ||
			{ why="$why partial"; break; }
	done
	why="$why$(waits_check "$s" "$x")"
	ids=0
	[[ $s == put* || $s == create ]] && ids=$(grep -c . out)
	expected "$s" "$ids" | sort >want
	# Rerun without the fault; then drain an hour later.
	r=0
	$(job "$s") <stdin >/dev/null 2>rerun.err 3>&- || r=$?
	case $r in
	0) ;;
	1) [ "$s" = get1 ] || why="$why rerun" ;;
	3) [[ $s == ack* || $s == release || $s == fail || $s == extend ]] ||
		why="$why rerun" ;;
	*) why="$why rerun" ;;
	esac
	[[ $s == put* || $s == create ]] && [ "$r" = 0 ] &&
		expected "$s" 2 | sort -u >want
	faketime -f +2h mqget -b -n 100 q >/dev/null 2>&1 3>&-
	[ "$(ls q/new q/cur 2>/dev/null | grep -c '^[0-9]')" = 0 ] ||
		why="$why stuck"
	cat q/done/* q/dead/* 2>/dev/null | sort -u >found
	[ -z "$(comm -23 want found)" ] || why="$why lost"
	if [ "$post" = "$pre" ]; then
		outcome="nothing changed"
	elif [ "$post" = "$(cat "$work/clean.$s")" ]; then
		outcome="done as without the fault"
	else
		outcome=$(echo "$post" | sed 's/[a-z]*0 //g; s/ $//')
	fi
	case $x in
	4) outcome="$outcome; enqueued, reported unsure" ;;
	124) outcome="hung (killed after 30 s)" ;;
	esac
	[ "$(ls q/tmp 2>/dev/null | wc -l)" = 0 ] ||
		outcome="$outcome; tmp/ leftover (36-hour rule)"
	[ -n "$why" ] && ngap=$((ngap + 1))
	nrun=$((nrun + 1))
	printf '| `%s` | %s #%s | %s | %s | %s | %s |\n' "$(label "$s")" \
		"$desc" "$k" "$e" "$x" "$outcome" "${why:-ok}" >>"$rows"
	if [ -n "$why" ] || [ "$verbose" = 1 ]; then
		printf '%-12s %-40s %-7s exit %-3s %s:%s\n' "$s" "$desc" "$e" \
			"$x" "${why:- ok}" "$(head -c 300 err | tr '\n' ' ')"
	fi
	cd "$work" && rm -rf "$d"
}

for s in $SCENARIOS; do
	d=$work/trace.$s
	mkdir -p "$d" && cd "$d" || exit 1
	setup "$s" || exit 1
	strace -qq -o trace $(job "$s") <stdin >/dev/null 2>&1 3>&-
	inventory >"$work/clean.$s"
	sed -E 's/[0-9]{10}\.[0-9]{6}\.P[0-9]+Q[0-9]+R[0-9a-f]+\.[A-Za-z0-9_.-]*[A-Za-z0-9_-]/ID/g; s/,[a-z][0-9a-f-]*//g' \
		trace | awk -f "$top/tests/errno/calls.awk" >calls
	cd "$work" || exit 1
	# One case per distinct call (the first of its kind) and error.
	awk '!seen[$4 " " $5 " " $6]++' "$d/calls" >"$d/uniq"
	while read -r sys k creat desc; do
		for e in $(errnos "$sys" "$creat" "$desc"); do
			ncase=$((ncase + 1))
			[ $((ncase % every)) = 0 ] || continue
			run_case "$s" "$sys" "$k" "$e" "$desc"
		done
	done <"$d/uniq"
	rm -rf "$d"
done
echo "errno table: $nrun cases run (of $ncase), $ngap gaps"
if [ -n "$out" ]; then
	{
		printf "# ERRNO: every fault accounted for\n\n"
		sed 1,2d "$top/tests/errno/head.md"
		echo
		echo "| tool | call (occurrence) | errno | exit | outcome | verdict |"
		echo "|---|---|---|---|---|---|"
		cat "$rows"
		echo
		echo "$nrun cases, $ngap gaps; generated by \`make errno\` (tests/errno/gen.sh)."
	} >"$out.tmp" && mv "$out.tmp" "$out"
fi
[ "$ngap" = 0 ]
