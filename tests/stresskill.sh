#!/bin/bash
# stresskill.sh [N [KILLS]]: kill rounds (issue 13).  N messages (default
# 100000) go through one queue while a driver SIGKILLs, at random, the
# tools doing the work: producers' mqput, consumers' mqget and mqack,
# mqwatch workers (their handlers die with them) and mqreap -f, until at
# least KILLS (default 100) kills and every producer is done.  Each role
# is a shell loop that starts its tool again after a kill, the way a
# supervisor would; a producer puts again what mqput did not acknowledge
# (printed no id for).  Then one last consumer drains the queue an hour
# later (faketime), so claims of killed consumers come back.
#
# Prints Jepsen-style counters: attempted (bodies), enqueued (acknowledged
# by mqput), acked (in done/), lost (enqueued, never acknowledged: must be
# 0), duplicated (bodies handled more than once), kills, and the duplicates
# beyond one per kill; unexpected (a body never attempted, or not whole:
# must be 0).  Exit status 1 if anything was lost or unexpected.
set -u
n=${1:-100000}
want=${2:-100}
top=$(cd "$(dirname "$0")/.." && pwd)
PATH=${MQ_BIN:-$top/bin}:$PATH
export PATH LC_ALL=C
work=$(mktemp -d)
pids=()
cleanup() {
	touch "$work/stop"
	for p in "${pids[@]}"; do
		pkill -KILL -P "$p" 2>/dev/null
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
cd "$work" || exit 1
mqput -c q </dev/null >/dev/null && rm -f q/new/* || exit 1
# Few lines per mqput: a producer killed between its renames and its ids
# printing puts those lines again (at least once), at most CHUNK a kill.
CHUNK=${MQ_KILL_CHUNK:-10}

# producer K: its share of bodies, CHUNK lines per mqput; what mqput did not
# acknowledge is put again.
producer() {
	local k=$1 i got all lines ids
	seq -f "p$k-%g" "$2" >"in$k"
	mapfile -t all <"in$k"
	# Builtins only around mqput: it is the process the driver kills.
	for ((i = 0; i < ${#all[@]}; i += CHUNK)); do
		lines=("${all[@]:i:CHUNK}")
		while [ ${#lines[@]} -gt 0 ]; do
			printf '%s\n' "${lines[@]}" >"chunk$k"
			mqput -l q <"chunk$k" >"ids$k" 2>>errlog
			mapfile -t ids <"ids$k"
			got=${#ids[@]}
			[ "$got" = 0 ] || printf '%s\n' "${lines[@]:0:got}" >>"enq$k"
			lines=("${lines[@]:got}")
		done
	done
	touch "done$k"
}

# consumer K: batches of 20, each body logged, then acknowledged.
consumer() {
	local k=$1 paths
	until [ -e stop ]; do
		paths=$(mqget -n 20 -t 5s -w 1s q 2>>errlog) || continue
		mapfile -t p <<<"$paths"
		cat "${p[@]}" >>"got$k" 2>/dev/null
		mqack "${p[@]}" 2>>errlog
	done
}

# worker K: mqwatch with two handlers, each appending its body to a log.
worker() {
	local k=$1
	until [ -e stop ]; do
		mqwatch -t 5s -j 2 -i 2s q -- sh -c 'cat >>"$0"' "$work/wgot$k" \
			2>>errlog
	done
}

reaper() {
	until [ -e stop ]; do
		mqreap -f q >/dev/null 2>>errlog
	done
}

half=$((n / 2))
producer 1 "$half" 3>&- 2>>roles.err & pids+=($!); prod1=$!
producer 2 $((n - half)) 3>&- 2>>roles.err & pids+=($!); prod2=$!
consumer 1 3>&- 2>>roles.err & pids+=($!)
consumer 2 3>&- 2>>roles.err & pids+=($!)
worker 1 3>&- 2>>roles.err & pids+=($!)
reaper 3>&- 2>>roles.err & pids+=($!)
rolelist=$(IFS=,; echo "${pids[*]}")
tools=(mqput mqget mqack mqwatch mqreap)

# The driver: a SIGKILL to the tool a random role is running, every
# 50-250 ms, until enough kills and the producers are done.
kills=0 start=$SECONDS
declare -A byname
while [ "$kills" -lt "$want" ] || [ ! -e done1 ] || [ ! -e done2 ]; do
	sleep "0.$(printf %02d $((RANDOM % 20 + 5)))"
	# A tool at random, then the first of its kind among the roles'
	# children and grandchildren ($(mqget ...)), looked for a few times
	# in a row: an mqput of ten lines or an mqack lives milliseconds.
	name=${tools[RANDOM % ${#tools[@]}]}
	victim=
	for try in $(seq 100); do
		kids=$(pgrep -d, -P "$rolelist")
		victim=$(pgrep -l -P "$rolelist${kids:+,$kids}" |
			awk -v t="$name" '$2 == t { print $1; exit }')
		[ -z "$victim" ] || break
	done
	[ -n "$victim" ] || continue
	kill -KILL "$victim" 2>/dev/null || continue
	kills=$((kills + 1))
	byname[$name]=$((${byname[$name]:-0} + 1))
	[ $((SECONDS - start)) -lt 3600 ] || break
done
# Let the consumers finish what is visible, then stop every role.
until [ "$(ls q/new | wc -l)" = 0 ] || [ $((SECONDS - start)) -gt 7200 ]; do
	sleep 1
done
touch stop
{
	for p in "${pids[@]}"; do
		pkill -KILL -P "$p"
		kill -KILL "$p"
	done
	wait
} 2>/dev/null
# Claims of killed consumers come back an hour later: drain them.
while paths=$(faketime -f +1h mqget -n 100 q 2>>errlog); do
	mapfile -t p <<<"$paths"
	cat "${p[@]}" >>got0
	faketime -f +1h mqack "${p[@]}" 2>>errlog
done
secs=$((SECONDS - start))

cat in1 in2 | sort >attempted
cat enq1 enq2 | sort -u >enqueued
find q/done -type f -exec cat {} + | sort >done.all
sort -u done.all >done.uniq
cat got* wgot* 2>/dev/null | sort >handled
lost=$(comm -23 enqueued done.uniq | wc -l)
unexpected=$(comm -13 attempted done.uniq | wc -l)
dupdone=$(($(wc -l <done.all) - $(wc -l <done.uniq)))
duphandled=$(($(wc -l <handled) - $(sort -u handled | wc -l)))
dup=$((dupdone > duphandled ? dupdone : duphandled))
beyond=$((dup > kills ? dup - kills : 0))
left=$(($(ls q/new q/cur | grep -c '^[0-9]')))
echo "attempted=$(wc -l <attempted) enqueued=$(wc -l <enqueued)" \
	"acked=$(wc -l <done.uniq) lost=$lost duplicated=$dup" \
	"(put twice $dupdone, handled twice $duphandled) kills=$kills" \
	"duplicated_beyond_kills=$beyond unexpected=$unexpected left=$left" \
	"in ${secs}s"
echo "kills by tool: $(for k in "${!byname[@]}"; do printf '%s=%s ' "$k" "${byname[$k]}"; done)"
[ "$lost" = 0 ] && [ "$unexpected" = 0 ] && [ "$left" = 0 ]
