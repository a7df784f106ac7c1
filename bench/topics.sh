#!/bin/sh
# bench/topics.sh: what publish-subscribe, coalescing and flow control cost
# (issue 10), one process per operation, durable, as scripts use the tools.
#
#	sh bench/topics.sh [DIR]	(make bench runs it from bench/run.sh)
#	TOPICS_RUNS=5			runs per figure (the median is shown)
#	TOPICS_N=200			operations per run
#
# Rows, each "WHAT: microseconds per operation", then the ratio asked for:
#	pub.S		mqpub to a topic of S subscribers (1, 10, 100)
#	put.each.S	S mqput processes, one per queue: the fan-out by hand
#	put		a plain mqput
#	put.key.new	mqput -K with a fresh key each time (creates the key)
#	put.key.same	mqput -K with one key, a message waiting: coalesced
#	put.old		the mqput of commit BASE (before issue 10), same queue
#	put.maxlen	a plain mqput into a queue with max_length set
#	put.minfree	a plain mqput into a queue with min_free set
# put.old is built from git (BASE, below) into DIR; it is skipped where
# that is not possible.
set -eu
cd "$(dirname "$0")/.."
TOP=$(pwd)
PATH=$TOP/bin:$PATH
export LC_ALL=C
BASE=d479fc1
D=${1:-}
MADE=
[ -n "$D" ] || { D=$(mktemp -d /tmp/mqtopics.XXXXXX); MADE=$D; }
D=$D/topics
RUNS=${TOPICS_RUNS:-5}
N=${TOPICS_N:-200}
rm -rf "$D"
mkdir -p "$D"
trap 'rm -rf "$D" $MADE' EXIT

. "$(dirname "$0")/lib.sh"
# mkdurable Q: a fresh durable queue
mkdurable() {
	rm -rf "$1"
	mqput -c -l -q "$1" </dev/null
}
# row WHAT COUNT NS...: the median, per operation, in microseconds
row() {
	what=$1 cnt=$2
	shift 2
	us=$(for x in "$@"; do echo "$x"; done | median |
		awk -v c="$cnt" '{ printf "%.0f", $1 / c / 1000 }')
	printf '%-14s %8s us\n' "$what:" "$us"
	echo "$what $us" >>"$D/rows"
}
# loop COUNT CMD...: run CMD COUNT times with "x" on stdin; ns taken
loop() {
	c=$1
	shift
	t0=$(now)
	i=0
	while [ $i -lt "$c" ]; do echo x | "$@" >/dev/null; i=$((i + 1)); done
	t1=$(now)
	echo $((t1 - t0))
}

# The mqput of BASE, to compare a plain put with today's.
OLD=
if git rev-parse -q --verify "$BASE^{commit}" >/dev/null 2>&1; then
	mkdir "$D/old"
	if git archive "$BASE" | tar -x -C "$D/old" &&
	    make -s -C "$D/old" bin/mqput >/dev/null 2>&1; then
		OLD=$D/old/bin/mqput
	fi
fi

# Publishing to S subscribers, beside S puts by hand.
for s in 1 10 100; do
	rm -rf "$D/t" "$D/s"
	mkdir "$D/s"
	i=0
	while [ $i -lt "$s" ]; do mkdurable "$D/s/q$i"; i=$((i + 1)); done
	mqpub -a -c "$D/t" "$D/s"/q*
	cnt=$((N / s))
	[ "$cnt" -ge 5 ] || cnt=5
	tp= te=
	for run in 0 $(seq "$RUNS"); do
		x=$(loop "$cnt" mqpub -q "$D/t")
		t0=$(now)
		k=0
		while [ $k -lt "$cnt" ]; do
			for q in "$D/s"/q*; do echo x | mqput -q "$q"; done
			k=$((k + 1))
		done
		t1=$(now)
		[ "$run" = 0 ] && continue
		tp="$tp $x" te="$te $((t1 - t0))"
	done
	row "pub.$s" "$cnt" $tp
	row "put.each.$s" "$cnt" $te
done

# Plain, keyed, coalesced, old, limited puts: in blocks of 10, each kind in
# turn, so that the machine's noise and drift fall on all alike.
mkdurable "$D/p"
# The old mqput refuses settings newer than itself: its own queue.
[ -z "$OLD" ] || "$OLD" -c -l -q "$D/o" </dev/null
mkdurable "$D/l"
echo 'max_length = 1000000' >>"$D/l/config"
mkdurable "$D/f"
echo 'min_free = 1%' >>"$D/f/config"
mkdurable "$D/k"
echo first | mqput -q -K same "$D/k"
# keyed N: N puts with fresh keys
keyed() {
	i=0
	while [ $i -lt "$1" ]; do
		echo x | mqput -q -K "k$run.$b.$i" "$D/k"
		i=$((i + 1))
	done
}
KINDS="put put.key.new put.key.same put.maxlen put.minfree"
[ -z "$OLD" ] || KINDS="$KINDS put.old"
for run in 0 $(seq "$RUNS"); do
	for k in $KINDS; do eval "s_$(echo $k | tr . _)=0"; done
	b=0
	while [ $b -lt $((N / 10)) ]; do
		for k in $KINDS; do
			case $k in
			put) ns=$(loop 10 mqput -q "$D/p") ;;
			put.key.new) t0=$(now); keyed 10; ns=$(($(now) - t0)) ;;
			put.key.same) ns=$(loop 10 mqput -q -K same "$D/k") ;;
			put.maxlen) ns=$(loop 10 mqput -q "$D/l") ;;
			put.minfree) ns=$(loop 10 mqput -q "$D/f") ;;
			put.old) ns=$(loop 10 "$OLD" -q "$D/o") ;;
			esac
			v=s_$(echo $k | tr . _)
			eval "$v=\$((\$$v + ns))"
		done
		b=$((b + 1))
	done
	[ "$run" = 0 ] && continue
	for k in $KINDS; do
		v=s_$(echo $k | tr . _)
		eval "t_$v=\"\${t_$v:-} \$$v\""
	done
done
for k in $KINDS; do
	v=s_$(echo $k | tr . _)
	eval "row $k $((N / 10 * 10)) \$t_$v"
done
awk '{ v[$1] = $2 } END {
	if (v["put.old"] > 0)
		printf "plain put vs before issue 10: %+.1f%%\n",
		    (v["put"] / v["put.old"] - 1) * 100
	printf "limit checks: max_length %+.1f%%, min_free %+.1f%% of a plain put\n",
	    (v["put.maxlen"] / v["put"] - 1) * 100,
	    (v["put.minfree"] / v["put"] - 1) * 100
	printf "coalesced put: %.2f x a plain put; publish to 100: %.1f x to 1\n",
	    v["put.key.same"] / v["put"], v["pub.100"] / v["pub.1"]
}' "$D/rows"
