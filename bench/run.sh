#!/bin/sh
# bench/run.sh: what mq costs, beside the file-system limit (bench/limit.c),
# python3-dirq (bench/pydirq.py) and a shell loop of mktemp, mv, cat and rm.
#
#	make bench			the full run (about 10-15 minutes)
#	BENCH_QUICK=1 make bench	fewer and smaller runs, for iteration
#	BENCH_OUT=FILE			also write the table to FILE
#	BENCH_SECTIONS="a d"		only these of a b c d e m w x
#					(and s, t, o, p, g: bench/stat.sh,
#					bench/topics.sh, bench/groups.sh,
#					bench/priority.sh, bench/cluster.sh)
#
# Each section prints the load average at its start and end, and how many
# cores other processes kept busy meanwhile; a section measured while
# others loaded the machine (above load 1) is marked NOISY: its ratios are
# not evidence.
#
# Every figure is the median of several runs after a warm-up, and compared
# as a ratio within this run: the machines are shared and noisy.  As root it
# measures on fresh file systems (a loop-mounted ext4 image and a tmpfs,
# made here and unmounted at exit): on a disk where many files were just
# deleted, file creation runs several times slower for a minute.
set -eu
cd "$(dirname "$0")/.."
TOP=$(pwd)
B=$TOP/bin
PY=/usr/bin/python3
DIRQ="$PY $TOP/bench/pydirq.py"
PATH=$B:$PATH
export LC_ALL=C

if [ "${BENCH_QUICK:-0}" = 1 ]; then
	RUNS=3 ONE=100 N=5000 SHN=50 BACKLOGS="10 1000 10000 100000"
	CALLS=50 WATCHN=1000 MBACK=100000 WAITN=100 XBACK=100000
else
	RUNS=5 ONE=300 N=20000 SHN=100 BACKLOGS="10 1000 10000 100000 1000000"
	CALLS=200 WATCHN=5000 MBACK=1000000 WAITN=300 XBACK=200000
fi

W=$(mktemp -d /tmp/mqbench.XXXXXX)
SERVERS=
cleanup() {
	set +e
	cd /
	# the servers of section (w), if one is still running
	for p in $SERVERS; do kill "$p" 2>/dev/null && wait "$p"; done
	for m in "$W/ext4" "$W/tmpfs"; do
		mountpoint -q "$m" && umount "$m"
	done
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$(id -u)" = 0 ]; then
	mkdir "$W/ext4" "$W/tmpfs"
	# Enough inodes for a million messages; tables written now, so that
	# no lazy initialisation runs in the background while we measure.
	truncate -s 4G "$W/img"
	mkfs.ext4 -q -F -N 1300000 -E lazy_itable_init=0,lazy_journal_init=0 \
		"$W/img"
	mount -o loop "$W/img" "$W/ext4"
	mount -t tmpfs -o size=3g,nr_inodes=2m tmpfs "$W/tmpfs"
	FSS="ext4 tmpfs"
else
	echo "bench: not root: measuring in $W, not on a fresh file system" >&2
	mkdir "$W/ext4"
	FSS="ext4"
fi
cc -O2 -o "$W/limit" bench/limit.c
cc -O2 -o "$W/watchlat" bench/watchlat.c
cc -O2 -std=c11 -D_GNU_SOURCE -isystem /usr/include/bsd -DLIBBSD_OVERLAY \
	-Isrc/lib -o "$W/endlat" bench/endlat.c src/lib/libmq.a \
	-Wl,-Bstatic -lbsd -lmd -Wl,-Bdynamic
cc -O2 -o "$W/waitlat" bench/waitlat.c
cc -O2 -o "$W/drain" bench/drain.c
LIMIT=$W/limit
R=$W/results
: >"$R"

# now, median, mkq, body (bench/lib.sh)
. "$(dirname "$0")/lib.sh"

# record CASE FS WHO COUNT SECONDS...: the median of the seconds
record() {
	_c=$1 _f=$2 _who=$3 _cnt=$4
	shift 4
	_m=$(for x in "$@"; do echo "$x"; done | median)
	echo "$_c $_f $_who $_cnt $_m" >>"$R"
}

# The load of a section: the load average at its start and end, and the
# cores that other processes kept busy meanwhile (all CPU time less ours,
# that of this shell's children, waited for).  NOISY when the load average
# less what we kept busy went above 1 (the machine is shared).
cpu_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
cpu_ours() { sed 's/.*) //' "/proc/$$/stat" | awk '{ print $12 + $13 + $14 + $15 }'; }
load1() { cut -d' ' -f1 /proc/loadavg; }
sec_begin() {
	echo "bench: ($1) $2" >&2
	L0=$(load1) B0=$(cpu_busy) O0=$(cpu_ours) T0=$(now)
}
sec_end() {
	echo "$1 $L0 $(load1) $B0 $(cpu_busy) $O0 $(cpu_ours) $T0 $(now)" |
	    awk -v hz="$(getconf CLK_TCK)" '{
		wall = ($9 - $8) / 1e9; ours = ($7 - $6) / hz / wall
		others = (($5 - $4) - ($7 - $6)) / hz / wall
		if (others < 0) others = 0
		noisy = $2 > 1 || $3 - ours > 1
		printf "(%s) load average %.2f -> %.2f, other processes %.2f cores, this bench %.2f, %.0f s%s\n",
		    $1, $2, $3, others, ours, wall, noisy ? ": NOISY (load above 1)" : ""
	}' | tee -a "$W/loads" >&2
}

# --- (a) one process per message, from a shell loop --------------------
sec_a() {
	fs=$1 d=$W/$fs tt= tp= tg= ta=
	body 1 >"$W/msg"
	for run in 0 $(seq "$RUNS"); do
		mkq "$d/q" yes
		# /bin/true from each loop's shape: the cost of a process
		t0=$(now)
		i=0
		while [ $i -lt "$ONE" ]; do /bin/true "$d/q" <"$W/msg" >/dev/null; i=$((i + 1)); done
		t1=$(now)
		i=0
		while [ $i -lt "$ONE" ]; do mqput "$d/q" <"$W/msg" >/dev/null; i=$((i + 1)); done
		t2=$(now)
		i=0
		while [ $i -lt "$ONE" ]; do mqget "$d/q" >>"$W/claims"; i=$((i + 1)); done
		t3=$(now)
		# Not "while read": dash reads a line a byte at a time, ~31 µs
		# more for mq's 110-byte paths than for the limit's names.
		set -f; set -- $(cat "$W/claims"); set +f
		for p do mqack "$p"; done
		t4=$(now)
		rm -f "$W/claims"
		[ "$run" = 0 ] && continue
		tt="$tt $(((t1 - t0)))" tp="$tp $(((t2 - t1)))"
		tg="$tg $(((t3 - t2)))" ta="$ta $(((t4 - t3)))"
	done
	record a.true "$fs" true "$ONE" $(ns2s $tt)
	record a.put "$fs" mq "$ONE" $(ns2s $tp)
	record a.get "$fs" mq "$ONE" $(ns2s $tg)
	record a.ack "$fs" mq "$ONE" $(ns2s $ta)
	tt= tp= tg= ta=
	# the same syscalls, durable, in one C process: no process start
	lim_cycle "$fs" a 1000 sync
	# and by a fresh C process per message: process start + syscalls
	lim_fresh "$fs"

	# python3-dirq, one process per message
	tp= tg= ta=
	for run in 0 $(seq 3); do
		rm -rf "$d/dq"
		t0=$(now)
		i=0
		while [ $i -lt "$SHN" ]; do $DIRQ put "$d/dq" <"$W/msg" >/dev/null; i=$((i + 1)); done
		t1=$(now)
		i=0
		while [ $i -lt "$SHN" ]; do $DIRQ get "$d/dq" >>"$W/claims"; i=$((i + 1)); done
		t2=$(now)
		set -f; set -- $(cat "$W/claims"); set +f
		for p do $DIRQ ack "$d/dq" "$p"; done
		t3=$(now)
		rm -f "$W/claims"
		[ "$run" = 0 ] && continue
		tp="$tp $((t1 - t0))" tg="$tg $((t2 - t1))" ta="$ta $((t3 - t2))"
	done
	record a.put "$fs" dirq "$SHN" $(ns2s $tp)
	record a.get "$fs" dirq "$SHN" $(ns2s $tg)
	record a.ack "$fs" dirq "$SHN" $(ns2s $ta)
	sh_loop "$fs" a "$SHN"
}

# lim_fresh FS: bench/limit.c's oneput, oneshot sync, oneack, a process
# each, as mq's one-shot tools run; recorded as a.fput, a.fget, a.fack
lim_fresh() {
	fs=$1 tp= tg= ta=
	for run in 0 $(seq "$RUNS"); do
		rm -rf "$W/$fs/l"
		"$LIMIT" oneput "$W/$fs/l" </dev/null >/dev/null
		rm -f "$W/$fs/l/new/"*
		t0=$(now)
		i=0
		while [ $i -lt "$ONE" ]; do "$LIMIT" oneput "$W/$fs/l" <"$W/msg" >/dev/null; i=$((i + 1)); done
		t1=$(now)
		i=0
		while [ $i -lt "$ONE" ]; do "$LIMIT" oneshot "$W/$fs/l" sync >>"$W/lclaims"; i=$((i + 1)); done
		t2=$(now)
		set -f; set -- $(cat "$W/lclaims"); set +f
		for p do "$LIMIT" oneack "$W/$fs/l" "$p"; done
		t3=$(now)
		rm -f "$W/lclaims"
		[ "$run" = 0 ] && continue
		tp="$tp $((t1 - t0))" tg="$tg $((t2 - t1))" ta="$ta $((t3 - t2))"
	done
	rm -rf "$W/$fs/l"
	record a.fput "$fs" limit "$ONE" $(ns2s $tp)
	record a.fget "$fs" limit "$ONE" $(ns2s $tg)
	record a.fack "$fs" limit "$ONE" $(ns2s $ta)
}

ns2s() { for x in "$@"; do echo "$x" | awk '{ printf "%.6f\n", $1 / 1e9 }'; done; }

# lim_cycle FS SECTION COUNT MODE: bench/limit.c's put, claim and ack
lim_cycle() {
	fs=$1 sec=$2 cnt=$3 mode=$4 lp= lg= la=
	for run in 0 $(seq "$RUNS"); do
		rm -rf "$W/$fs/l"
		set -- $("$LIMIT" cycle "$W/$fs/l" "$cnt" "$mode")
		[ "$run" = 0 ] && continue
		lp="$lp $1" lg="$lg $2" la="$la $3"
	done
	rm -rf "$W/$fs/l"
	record "$sec.put" "$fs" limit "$cnt" $lp
	record "$sec.get" "$fs" limit "$cnt" $lg
	record "$sec.ack" "$fs" limit "$cnt" $la
}

# The shell way: mktemp + cat into tmp/, mv to new/; the oldest by ls,
# mv to cur/, cat; rm.  No fsync: the shell has none to offer.
sh_loop() {
	fs=$1 sec=$2 cnt=$3 d=$W/$1/sq tp= tg= ta=
	for run in 0 $(seq 3); do
		rm -rf "$d"
		mkdir -p "$d/tmp" "$d/new" "$d/cur"
		t0=$(now)
		i=0
		while [ $i -lt "$cnt" ]; do
			t=$(mktemp "$d/tmp/XXXXXXXX")
			cat "$W/msg" >"$t"
			mv "$t" "$d/new/$(date +%s%N).${t##*/}"
			i=$((i + 1))
		done
		t1=$(now)
		i=0
		while [ $i -lt "$cnt" ]; do
			f=$(ls "$d/new" | head -n 1)
			mv "$d/new/$f" "$d/cur/$f"
			cat "$d/cur/$f" >/dev/null
			echo "$d/cur/$f" >>"$W/claims"
			i=$((i + 1))
		done
		t2=$(now)
		while read -r p; do rm "$p"; done <"$W/claims"
		t3=$(now)
		rm -f "$W/claims"
		[ "$run" = 0 ] && continue
		tp="$tp $((t1 - t0))" tg="$tg $((t2 - t1))" ta="$ta $((t3 - t2))"
	done
	rm -rf "$d"
	record "$sec.put" "$fs" shell "$cnt" $(ns2s $tp)
	record "$sec.get" "$fs" shell "$cnt" $(ns2s $tg)
	record "$sec.ack" "$fs" shell "$cnt" $(ns2s $ta)
}

# --- (b) batches: a stream into mqput, mqget -n, mqack from stdin -----
sec_b() {
	fs=$1 d=$W/$fs
	body "$N" >"$W/in"
	for sync in no yes; do
		sec=b.$sync tp= tg= ta=
		[ $sync = no ] && S=-S || S=
		for run in 0 $(seq "$RUNS"); do
			mkq "$d/q" $sync
			t0=$(now)
			mqput $S -l "$d/q" <"$W/in" >/dev/null
			t1=$(now)
			while mqget -n 1000 "$d/q"; do :; done >"$W/claims"
			t2=$(now)
			mqack <"$W/claims"
			t3=$(now)
			[ "$(wc -l <"$W/claims")" = "$N" ] ||
				{ echo "bench: $sec: lost messages" >&2; exit 1; }
			rm -f "$W/claims"
			[ "$run" = 0 ] && continue
			tp="$tp $((t1 - t0))" tg="$tg $((t2 - t1))" ta="$ta $((t3 - t2))"
		done
		record "$sec.put" "$fs" mq "$N" $(ns2s $tp)
		record "$sec.get" "$fs" mq "$N" $(ns2s $tg)
		record "$sec.ack" "$fs" mq "$N" $(ns2s $ta)
		if [ $sync = no ]; then
			lim_cycle "$fs" "$sec" "$N" nosync
			# the limit that also checks each candidate as mq must
			lc=
			for run in 0 $(seq "$RUNS"); do
				rm -rf "$W/$fs/l"
				set -- $("$LIMIT" cycle "$W/$fs/l" "$N" check)
				[ "$run" = 0 ] && continue
				lc="$lc $2"
			done
			rm -rf "$W/$fs/l"
			record "$sec.get" "$fs" check "$N" $lc
			# the process starts that loop makes (one per 1000
			# claims and the last, empty one), with nothing done
			ls=
			for run in 0 $(seq "$RUNS"); do
				t0=$(now) i=0
				while [ $i -le $((N / 1000)) ]; do
					"$LIMIT" true
					i=$((i + 1))
				done
				t1=$(now)
				[ "$run" = 0 ] && continue
				ls="$ls $((t1 - t0))"
			done
			record "$sec.starts" "$fs" limit "$((N / 1000 + 1))" $(ns2s $ls)
		else
			lim_cycle "$fs" "$sec" "$N" batch
		fi
	done
	# the durable limit one message at a time, for scale
	lim_cycle "$fs" b.each 2000 sync
	# python3-dirq in one process (never syncs)
	dp= dg= da=
	for run in 0 $(seq "$RUNS"); do
		rm -rf "$d/dq"
		set -- $($DIRQ cycle "$d/dq" "$N")
		[ "$run" = 0 ] && continue
		dp="$dp $1" dg="$dg $2" da="$da $3"
	done
	rm -rf "$d/dq"
	for sec in b.no b.yes; do
		record "$sec.put" "$fs" dirq "$N" $dp
		record "$sec.get" "$fs" dirq "$N" $dg
		record "$sec.ack" "$fs" dirq "$N" $da
	done
}

# --- (c) mqwatch ------------------------------------------------------
# Push latency without a command (bench/watchlat.c: a maildir writer's
# rename to mqwatch's line on a pipe), then a pool's throughput running
# /bin/true per message, beside /bin/true started as often from a loop.
sec_c() {
	fs=$1 d=$W/$fs
	if [ ! -x "$B/mqwatch" ]; then
		echo "c.na $fs none 0 0" >>"$R"
		return
	fi
	# Interleaved, each run of each consumer right after the others': run
	# in a row, the first ones paid for the file system's recovery from
	# section (b)'s deletes (ext4 mq p50 66.8 us against 22 us on a fresh
	# image, when the C consumer, run last, got 13.3).  The limits: a plain
	# C consumer (inotify, readdir, rename, write) and one that makes the
	# calls the spool's rules require of a claim (limit push: fstatat,
	# renameat2 to a fresh name, utimensat; bench/limit.c).
	for run in 0 $(seq "$RUNS"); do
		for who in lat slat llat plat; do
			case $who in
			lat) mkq "$d/q" no; set -- "$B/mqwatch" "$d/q" "$WATCHN" ;;
			slat) mkq "$d/q" yes; set -- "$B/mqwatch" "$d/q" "$WATCHN" ;;
			llat) mkq "$d/q" no; set -- - "$d/q" "$WATCHN" ;;
			plat) mkq "$d/q" no
				set -- "$LIMIT" "$d/q" "$WATCHN" push "$d/q" "$WATCHN" ;;
			esac
			set -- $("$W/watchlat" "$@")
			[ "$run" = 0 ] && continue
			echo "$who $1 $2" >>"$W/clat.$fs"
		done
	done
	for who in lat slat llat plat; do
		record "c.${who}50" "$fs" mq 1 $(awk -v w=$who '$1 == w { print $2 / 1e6 }' "$W/clat.$fs")
		record "c.${who}99" "$fs" mq 1 $(awk -v w=$who '$1 == w { print $3 / 1e6 }' "$W/clat.$fs")
	done
	for j in 1 2; do
		tq= tt=
		for run in 0 $(seq "$RUNS"); do
			mkq "$d/q" yes
			head -c "$ONE" /dev/zero | mqput -0 -S -q "$d/q"
			t0=$(now)
			mqwatch -n "$ONE" -j $j "$d/q" -- /bin/true
			t1=$(now)
			k=0
			while [ $k -lt $j ]; do
				i=0
				while [ $i -lt $((ONE / j)) ]; do /bin/true; i=$((i + 1)); done &
				k=$((k + 1))
			done
			wait
			t2=$(now)
			[ "$run" = 0 ] && continue
			tq="$tq $((t1 - t0))" tt="$tt $((t2 - t1))"
		done
		record "c.j$j" "$fs" mq "$ONE" $(ns2s $tq)
		record "c.j$j" "$fs" true "$ONE" $(ns2s $tt)
	done
	# the case a pool is for: a handler that waits (I/O-bound work)
	sn=$((ONE / 2))
	for j in 1 2 8; do
		tq=
		for run in 0 $(seq "$RUNS"); do
			mkq "$d/q" yes
			head -c "$sn" /dev/zero | mqput -0 -S -q "$d/q"
			t0=$(now)
			mqwatch -n "$sn" -j $j "$d/q" -- sleep 0.02
			t1=$(now)
			[ "$run" = 0 ] && continue
			tq="$tq $((t1 - t0))"
		done
		record "c.s$j" "$fs" mq "$sn" $(ns2s $tq)
	done
}

# --- (m) many consumers: a long backlog drained by 1 and by 4 loops ------
# of mqget -n 1000 | mqack (the claim index under contention).  Lost races
# are counted as renameat2 calls beyond the two (claim, ack) per message,
# by perf's syscall tracepoints where perf can read them.
sec_m() {
	fs=$1 d=$W/$1 claims=$((MBACK / 5))
	# $1 loops of $2 rounds of "mqget -n 1000 $3 | mqack", at once
	drain='k=0; while [ $k -lt "$1" ]; do
		i=0; while [ $i -lt "$2" ]; do
			mqget -n 1000 "$3" | mqack; i=$((i + 1)); done &
		k=$((k + 1)); done; wait'
	for loops in 1 4; do
		tq= lost=
		for run in 0 $(seq 3); do
			mkq "$d/q" no
			head -c "$MBACK" /dev/zero | mqput -0 -S -q "$d/q"
			set -- "$loops" "$((claims / 1000 / loops))" "$d/q"
			t0=$(now)
			if perf stat -x, -o "$W/perf" -e syscalls:sys_enter_renameat2 -- \
			    sh -c "$drain" - "$@" 2>/dev/null; then
				r=$(awk -F, '/renameat2/ { print $1 }' "$W/perf")
			else
				sh -c "$drain" - "$@"
				r=
			fi
			t1=$(now)
			[ "$run" = 0 ] && continue
			tq="$tq $((t1 - t0))"
			case $r in ''|*[!0-9]*) ;; *) lost="$lost $((r - 2 * claims))" ;; esac
		done
		record "m.$loops" "$fs" mq "$claims" $(ns2s $tq)
		[ -n "$lost" ] && record "m.lost$loops" "$fs" mq 1 $lost
	done
	# what one loop uses of the machine: CPU seconds over wall seconds
	mkq "$d/q" no
	head -c "$MBACK" /dev/zero | mqput -0 -S -q "$d/q"
	/usr/bin/time -f "%e %U %S" -o "$W/time" \
	    sh -c "$drain" - 1 "$((claims / 1000))" "$d/q"
	echo "m.cpu $fs mq 1 $(awk '{ printf "%.3f", ($2 + $3) / $1 }' "$W/time")" >>"$R"
	rm -rf "$d/q"
}

# --- (d) one-shot mqget with a backlog waiting -------------------------
# The backlog is empty messages: a scan's cost does not depend on the
# bodies, and a million 4 KiB blocks would only measure the disk.
sec_d() {
	fs=$1 d=$W/$fs
	body 1 >"$W/msg"
	for n in $BACKLOGS; do
		calls=$CALLS
		[ "$n" -ge 1000000 ] && calls=$((CALLS / 4))
		few=$((calls / 10))
		mkq "$d/q" yes
		head -c "$n" /dev/zero | mqput -0 -S -q "$d/q"
		sync
		tq= tt= tl=
		for run in 0 $(seq "$RUNS"); do
			# n + calls waiting at the start, n at the end; the
			# claims are acknowledged between runs
			head -c "$calls" /dev/zero | mqput -0 -S -q "$d/q"
			t0=$(now)
			i=0
			while [ $i -lt "$calls" ]; do mqget "$d/q" >>"$W/claims"; i=$((i + 1)); done
			t1=$(now)
			i=0
			while [ $i -lt "$calls" ]; do /bin/true "$d/q" >>"$W/claims.t"; i=$((i + 1)); done
			t2=$(now)
			mqack <"$W/claims"
			rm -f "$W/claims" "$W/claims.t"
			[ "$run" = 0 ] && continue
			tq="$tq $((t1 - t0))" tt="$tt $((t2 - t1))"
		done
		record "d.$n" "$fs" mq "$calls" $(ns2s $tq)
		record "d.$n" "$fs" true "$calls" $(ns2s $tt)
		# the limit: a fresh process that reads all of new/ and takes
		# the smallest name (on the same directory)
		for run in 0 1 2 3; do
			head -c "$few" /dev/zero | mqput -0 -S -q "$d/q"
			t0=$(now)
			i=0
			while [ $i -lt "$few" ]; do "$LIMIT" oneshot "$d/q" >/dev/null; i=$((i + 1)); done
			t1=$(now)
			[ "$run" = 0 ] && continue
			tl="$tl $((t1 - t0))"
		done
		record "d.$n" "$fs" limit "$few" $(ns2s $tl)
		rm -rf "$d/q"
		# the shell: ls | head -n 1, mv, cat
		mkdir -p "$d/sq/new" "$d/sq/cur"
		(cd "$d/sq/new" && seq -f "%.0f" 1000000000 $((1000000000 + n + 20)) |
			xargs touch)
		ts=
		for run in 0 1 2; do
			t0=$(now)
			i=0
			while [ $i -lt 3 ]; do
				f=$(ls "$d/sq/new" | head -n 1)
				mv "$d/sq/new/$f" "$d/sq/cur/$f"
				cat "$d/sq/cur/$f" >/dev/null
				i=$((i + 1))
			done
			t1=$(now)
			[ "$run" = 0 ] && continue
			ts="$ts $((t1 - t0))"
		done
		record "d.$n" "$fs" shell 3 $(ns2s $ts)
		rm -rf "$d/sq"
		# python3-dirq: one process per get (its fill is slow: <= 100k)
		if [ "$n" -le 100000 ]; then
			rm -rf "$d/dq"
			$DIRQ fill "$d/dq" "$((n + 20))"
			td=
			for run in 0 1 2; do
				t0=$(now)
				i=0
				while [ $i -lt 3 ]; do $DIRQ get "$d/dq" >/dev/null; i=$((i + 1)); done
				t1=$(now)
				[ "$run" = 0 ] && continue
				td="$td $((t1 - t0))"
			done
			record "d.$n" "$fs" dirq 3 $(ns2s $td)
			rm -rf "$d/dq"
		fi
	done
}

# --- (w) a consumer waiting with mqget -w, beside redis and beanstalkd --
# bench/waitlat.c: from a put to the line of a consumer already waiting
# ("while m=$(mqget -w 30 Q)"; BLPOP; reserve), p50 and p99 in µs, and
# for mq when mqget has exited (the loop's next turn).  The servers are
# Debian's, started here on 127.0.0.1 with their files on the same file
# system: redis with appendfsync always and everysec, beanstalkd with a
# binlog fsync'ed on every write (-f0) and without a binlog.
PORT=$((20000 + $$ % 20000))
# waitrow FS KEY WHO CMD...: the medians over the runs of CMD's figures
waitrow() {
	_f=$1 _key=$2 _who=$3
	shift 3
	for run in 0 $(seq "$RUNS"); do
		out=$("$@") || { echo "bench: (w) $_who failed" >&2; return 0; }
		[ "$run" = 0 ] || echo "$out"
	done | awk -v f="$_f" -v key="$_key" -v who="$_who" '{
		for (i = 1; i <= NF; i++) v[i, NR] = $i; n = NR; nf = NF }
	END {
		printf "%s\t%s\t%s", f, key, who
		for (i = 1; i <= nf; i++) {
			m = 0
			for (r = 1; r <= n; r++) a[r] = v[i, r]
			# insertion sort: a handful of runs
			for (r = 2; r <= n; r++) for (k = r; k > 1 && a[k - 1] > a[k]; k--) {
				t = a[k]; a[k] = a[k - 1]; a[k - 1] = t }
			m = n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
			printf "\t%.1f", m
		}
		print ""
	}' >>"$W/wait"
}
# server PID-VAR CMD...: start a server in the background
server() {
	"$@" >"$W/server.log" 2>&1 &
	SPID=$!
	SERVERS="$SERVERS $SPID"
}
server_stop() {
	kill "$SPID" 2>/dev/null || :
	wait "$SPID" 2>/dev/null || :
	SERVERS=$(echo "$SERVERS" | sed "s/ $SPID\$//; s/ $SPID / /")
}
sec_w() {
	fs=$1 d=$W/$1
	for sync in no yes; do
		mkq "$d/q" $sync
		[ $sync = yes ] && m=sync who="mq, durable" || m=nosync who="mq, sync = no"
		waitrow "$fs" "mq.$sync" "$who" "$W/waitlat" mq "$B/mqget" "$d/q" "$WAITN" $m
		# the floor under the spool's rules: a C consumer making only
		# a claim's calls (and syncs), started once, on inotify
		[ $sync = yes ] && lw="C consumer, a claim's calls, synced" ||
		    lw="C consumer, a claim's calls"
		waitrow "$fs" "limit.$sync" "$lw" \
		    "$W/waitlat" limit "$d/q" "$WAITN" $m
		rm -rf "$d/q"
	done
	if command -v redis-server >/dev/null; then
		for f in always everysec; do
			rm -rf "$d/redis"
			mkdir "$d/redis"
			server redis-server --port "$PORT" --bind 127.0.0.1 --save "" \
			    --appendonly yes --appendfsync "$f" --dir "$d/redis"
			waitrow "$fs" "redis.$f" "redis, appendfsync $f" "$W/waitlat" redis "$PORT" "$WAITN"
			server_stop
		done
		rm -rf "$d/redis"
	fi
	if command -v beanstalkd >/dev/null; then
		rm -rf "$d/bs"
		mkdir "$d/bs"
		server beanstalkd -l 127.0.0.1 -p "$PORT" -b "$d/bs" -f0
		waitrow "$fs" bs.f0 "beanstalkd -b -f0 (fsync each write)" "$W/waitlat" beanstalkd "$PORT" "$WAITN"
		server_stop
		server beanstalkd -l 127.0.0.1 -p "$PORT"
		waitrow "$fs" bs.mem "beanstalkd, no binlog" "$W/waitlat" beanstalkd "$PORT" "$WAITN"
		server_stop
		rm -rf "$d/bs"
	fi
}

# --- (x) the claims of one queue from 1, 2, 4 processes, and of 2 queues --
# bench/drain.c: a backlog of XBACK empty messages, each process claiming
# only its own share of the names (fstatat, renameat2, utimensat: no race
# is lost, nothing of mq's is measured): what the kernel lets concurrent
# claims of one queue's two directories do, beside separate queues.
sec_x() {
	fs=$1
	# three runs after a warm-up: making each backlog takes longer
	for m in "1 1" "1 2" "1 4" "2 2" "4 4"; do
		for run in 0 1 2 3; do
			rm -rf "$W/$fs/dr"
			out=$("$W/drain" "$W/$fs/dr" "$XBACK" $m)
			[ "$run" = 0 ] || echo "$out"
		done | awk -v fs="$fs" -v m="$m" '{ r[NR] = $2 } END {
			for (i = 2; i <= NR; i++) for (k = i; k > 1 && r[k - 1] > r[k]; k--) {
				t = r[k]; r[k] = r[k - 1]; r[k - 1] = t }
			print fs, m, NR % 2 ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2
		}' >>"$W/drain.out"
		rm -rf "$W/$fs/dr"
	done
}

drain_table() {
	echo "(x) claims/s of a backlog of $XBACK, each process claiming its own share (median of 3)"
	awk '{ k = $2 " " $3; rate[$1, k] = $4; if (!($1 in seen)) { seen[$1] = 1; fss[++n] = $1 } }
	END {
		printf "%-6s %-24s %10s %7s\n", "fs", "queues x processes", "claims/s", "x one"
		for (i = 1; i <= n; i++) {
			f = fss[i]; one = rate[f, "1 1"]
			split("1 1,1 2,1 4,2 2,4 4", ms, ",")
			for (j = 1; j <= 5; j++) {
				split(ms[j], qp, " ")
				if (!((f, ms[j]) in rate)) continue
				printf "%-6s %-24s %10.0f %7.2f\n", f,
				    qp[1] " queue" (qp[1] > 1 ? "s" : "") " x " qp[2] " process" (qp[2] > 1 ? "es" : ""),
				    rate[f, ms[j]], one ? rate[f, ms[j]] / one : 0
			}
		}
	}' "$W/drain.out"
}

# The (w) table and its targets (issue 22).
wait_table() {
	echo "(w) put -> a waiting consumer's line, µs (median of $RUNS runs of $WAITN)"
	awk -F '\t' '
	{ printf "%-6s %-38s %9s %9s %9s %9s\n", $1, $3, $4, $5, $6, $7
	  p50[$1, $2] = $4; p99[$1, $2] = $5 }
	function t(what, fs, m, r) {
		if (!((fs, m) in p50) || !((fs, r) in p50)) return
		printf "- %s (%s): p50 %.1f vs %.1f µs = %.2fx, p99 %.1f vs %.1f µs = %.2fx: %s\n",
		    what, fs, p50[fs, m], p50[fs, r], p50[fs, m] / p50[fs, r],
		    p99[fs, m], p99[fs, r], p99[fs, m] / p99[fs, r],
		    p50[fs, m] <= 2 * p50[fs, r] && p99[fs, m] <= 2 * p99[fs, r] ? "MET" : "NOT MET"
	}
	function f(what, fs, m, r) {
		if (!((fs, m) in p50) || !((fs, r) in p50)) return
		printf "  %s (%s): p50 %.1f vs %.1f µs = %.2fx, p99 %.1f vs %.1f µs = %.2fx\n",
		    what, fs, p50[fs, m], p50[fs, r], p50[fs, m] / p50[fs, r],
		    p99[fs, m], p99[fs, r], p99[fs, m] / p99[fs, r]
	}
	BEGIN { printf "%-6s %-38s %9s %9s %9s %9s\n", "fs", "who", "p50", "p99", "exit p50", "exit p99" }
	END {
		print ""
		print "Targets of issue 22, (w)"
		t("mq sync = no within 2x redis everysec", "tmpfs", "mq.no", "redis.everysec")
		t("durable mq within 2x redis always", "ext4", "mq.yes", "redis.always")
		print "Against a C consumer that makes only the calls of a claim (what is above it, mq adds)"
		f("sync = no", "tmpfs", "mq.no", "limit.no"); f("durable", "tmpfs", "mq.yes", "limit.yes")
		f("sync = no", "ext4", "mq.no", "limit.no"); f("durable", "ext4", "mq.yes", "limit.yes")
		f("the C consumer, durable, against redis always", "ext4", "limit.yes", "redis.always")
	}' "$W/wait"
}

# --- (e) waiting for a message's end: mqwait (issue 20) ----------------
# From the acknowledgement (mq_ack and its syncs, in bench/endlat.c) to the
# return of 1, 100 and 1000 mqwait processes waiting for that message,
# beside mqwatch's push latency (rename into new/ to its line, the same
# queue settings); then the CPU time one waiting mqwait uses in 10 s.
sec_e() {
	fs=$1 d=$W/$fs
	for n in ${END_N:-1 100 1000}; do
		l50= l99=
		for run in 0 $(seq "$RUNS"); do
			mkq "$d/q" yes
			set -- $("$W/endlat" "$B/mqwait" "$d/q" "$n")
			[ "$run" = 0 ] && continue
			l50="$l50 $1" l99="$l99 $2"
		done
		printf '%s %s waiters: ack-to-return p50 %s us, p99 %s us\n' "$fs" \
		    "$n" "$(for x in $l50; do echo "$x"; done | median)" \
		    "$(for x in $l99; do echo "$x"; done | median)"
	done
	l50= l99=
	for run in 0 $(seq "$RUNS"); do
		mkq "$d/q" yes
		set -- $("$W/watchlat" "$B/mqwatch" "$d/q" "$WATCHN")
		[ "$run" = 0 ] && continue
		l50="$l50 $1" l99="$l99 $2"
	done
	printf '%s mqwatch push, beside: p50 %s us, p99 %s us\n' "$fs" \
	    "$(for x in $l50; do echo "$x"; done | median)" \
	    "$(for x in $l99; do echo "$x"; done | median)"
	mkq "$d/q" yes
	id=$(echo x | mqput "$d/q")
	mqwait "$d/q" "$id" &
	pid=$!
	sleep 10
	set -- $(sed 's/.*) //' "/proc/$pid/stat" | cut -d' ' -f12,13)
	kill "$pid"
	wait "$pid" 2>/dev/null || :
	printf '%s one waiter over 10 s: %s ms of CPU (user+system)\n' "$fs" \
	    "$((($1 + $2) * 1000 / $(getconf CLK_TCK)))"
}

hw() {
	echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
	echo "kernel: $(uname -sr); $(. /etc/os-release && echo "$PRETTY_NAME")"
	if [ "$(id -u)" = 0 ]; then
		echo "file systems: ext4 on a loop-mounted 4 GiB sparse image, tmpfs; both made fresh by the run"
	else
		echo "file systems: $(df -T "$W" | awk 'NR == 2 { print $2 }') (not fresh: not root)"
	fi
	echo "runs: median of $RUNS after a warm-up; batch $N messages of 100 bytes; one-shot loops of $ONE"
}

case " ${BENCH_SECTIONS:-a b c d} " in *" a "*)
	sec_begin a "one process per message"
	for fs in $FSS; do sec_a "$fs"; done
	sec_end a
esac
case " ${BENCH_SECTIONS:-a b c d} " in *" b "*)
	sec_begin b "batches"
	for fs in $FSS; do sec_b "$fs"; done
	sec_end b
esac
case " ${BENCH_SECTIONS:-a b c d} " in *" c "*)
	sec_begin c "mqwatch"
	for fs in $FSS; do sec_c "$fs"; done
	sec_end c
esac
case " ${BENCH_SECTIONS:-a b c d} " in *" d "*)
	sec_begin d "one-shot mqget with a backlog"
	sec_d ext4
	sec_end d
esac
case " ${BENCH_SECTIONS:-a b c d m} " in *" m "*)
	sec_begin m "a backlog drained by 1 and by 4 consumer loops"
	sec_m "${FSS##* }"
	sec_end m
esac

case " ${BENCH_SECTIONS:-a b c d e} " in *" e "*)
	sec_begin e "waiting for a message's end: mqwait"
	for fs in $FSS; do sec_e "$fs"; done >"$W/ends"
	sec_end e
esac

case " ${BENCH_SECTIONS:-a b c d m w} " in *" w "*)
	sec_begin w "a consumer waiting with mqget -w, redis, beanstalkd"
	for fs in $FSS; do sec_w "$fs"; done
	sec_end w
esac

case " ${BENCH_SECTIONS:-a b c d m w x} " in *" x "*)
	sec_begin x "claims of one queue from 1, 2, 4 processes, and of 2 and 4 queues"
	for fs in $FSS; do sec_x "$fs"; done
	sec_end x
esac

# --- (s) mqstat on a big queue: bench/stat.sh (issue 11) ---------------
case " ${BENCH_SECTIONS:-a b c d s} " in *" s "*)
	sec_begin s "mqstat with a backlog"
	[ "${BENCH_QUICK:-0}" = 1 ] && STAT_N="10000 100000" || STAT_N="10000 100000 1000000"
	STAT_N=$STAT_N STAT_RUNS=$RUNS sh bench/stat.sh "$W/ext4" >"$W/stat"
	sec_end s
esac

# --- (t) mqpub, mqput -K, limits: bench/topics.sh (issue 10) ----------
case " ${BENCH_SECTIONS:-a b c d s t} " in *" t "*)
	sec_begin t "mqpub, mqput -K, limits"
	[ "${BENCH_QUICK:-0}" = 1 ] && TOPICS_N=100 || TOPICS_N=300
	TOPICS_N=$TOPICS_N TOPICS_RUNS=$RUNS sh bench/topics.sh "$W/ext4" >"$W/topics"
	sec_end t
esac

# --- (o) ordered groups: bench/groups.sh (issue 19) ---------------------
case " ${BENCH_SECTIONS:-a b c d s t o} " in *" o "*)
	sec_begin o "ordered groups"
	[ "${BENCH_QUICK:-0}" = 1 ] && export GROUPS_N="${GROUPS_N:-200}" \
		GROUPS_WATCH="${GROUPS_WATCH:-50}" GROUPS_BIG="${GROUPS_BIG:-100000}" \
		GROUPS_CALLS="${GROUPS_CALLS:-50}"
	GROUPS_RUNS=$RUNS sh bench/groups.sh "$W/ext4" >"$W/groups"
	sec_end o
esac

# --- (p) priorities: bench/priority.sh (issue 24) ----------------------
case " ${BENCH_SECTIONS:-a b c d s t o p} " in *" p "*)
	sec_begin p "priorities"
	[ "${BENCH_QUICK:-0}" = 1 ] && export PRIO_N="${PRIO_N:-5000}" \
		PRIO_BIG="${PRIO_BIG:-100000}" PRIO_CALLS="${PRIO_CALLS:-50}"
	PRIO_RUNS=$RUNS sh bench/priority.sh "$W/ext4" >"$W/prio"
	sec_end p
esac

# --- (g) across hosts on GlusterFS: bench/cluster.sh (issue 9) ---------
case " ${BENCH_SECTIONS:-a b c d s g} " in *" g "*)
	sec_begin g "GlusterFS, one host and two"
	[ "${BENCH_QUICK:-0}" = 1 ] && export CLUSTER_BENCH_N=300 CLUSTER_BENCH_PUSH=20
	bash bench/cluster.sh "$W/ext4" >"$W/cluster"
	sec_end g
esac

{
	echo "mq benchmark, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
	hw
	[ ! -s "$R" ] || { echo; awk -v ncpu="$(nproc)" -f bench/table.awk "$R"; }
	[ ! -s "$W/stat" ] || { echo; echo "(s) mqstat: stat N WHO seconds"; cat "$W/stat"; }
	[ ! -s "$W/topics" ] || { echo; echo "(t) mqpub, mqput -K, limits: one process each, durable"; cat "$W/topics"; }
	[ ! -s "$W/groups" ] || { echo; echo "(o) ordered groups: o.CASE WHO COUNT seconds"; cat "$W/groups"; }
	[ ! -s "$W/prio" ] || { echo; echo "(p) priorities: p.CASE WHO COUNT seconds"; cat "$W/prio"; }
	[ ! -s "$W/cluster" ] || { echo; cat "$W/cluster"; }
	[ ! -s "$W/wait" ] || { echo; wait_table; }
	[ ! -s "$W/drain.out" ] || { echo; drain_table; }
	[ ! -s "$W/ends" ] || { echo; echo "(e) waiting for a message's end: mqwait, mqwatch's push beside"; cat "$W/ends"; }
	echo
	echo "Load per section (NOISY: measured while others loaded the machine)"
	cat "$W/loads"
} | tee "${BENCH_OUT:-/dev/null}"
