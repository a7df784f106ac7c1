#!/bin/sh
# The demo of README.md (make demo): two producers and two consumers, plain
# shell loops over mqput, mqget and mqack, share a queue in a temporary
# directory; then ls and cat show what happened.  Exits 0 only when every
# message put was handled exactly once or sent to the dead letters on
# purpose.  Builds nothing: make demo builds first.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
PATH="$root/bin:$PATH"
N=${DEMO_N:-100}		# messages per producer

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mq-demo.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
q=demo

echo "== a queue: mqput -c -l $q </dev/null"
mqput -c -l "$q" </dev/null
ls -F "$q"

echo "== 2 producers ($N messages each), 2 consumers"
# Producer 1: one mqput per message, as a script would do it.
(
	i=1
	while [ "$i" -le "$N" ]; do
		echo "p1 job $i" | mqput -q "$q"
		i=$((i + 1))
	done
	echo "p1 job poison" | mqput -q "$q"
	: >p1.done
) &
# Producer 2: one process for all of its messages, one per line.
(
	seq "$N" | sed 's/^/p2 job /' | mqput -l -q "$q"
	: >p2.done
) &

# A consumer handles one message; a poison message goes to the dead letters.
handle() {
	if grep -q poison "$1"; then
		mqack -f bad-input "$1"
	else
		cat "$1" >>"$2" && mqack "$1"
	fi
}
# Consumer 1: one claim at a time, waiting up to a second for one.
(
	while :; do
		if m=$(mqget -w 1s "$q"); then
			handle "$m" c1.log
		elif [ -e p1.done ] && [ -e p2.done ]; then
			# Producers done and nothing in a second: empty.
			m=$(mqget "$q") || break
			handle "$m" c1.log
		fi
	done
) &
# Consumer 2: batches of up to 10.
(
	while :; do
		mqget -w 1s -n 10 "$q" >batch || {
			[ -e p1.done ] && [ -e p2.done ] && break
			continue
		}
		while read -r m; do
			handle "$m" c2.log
		done <batch
	done
) &
wait

echo "== what happened"
for d in new cur done dead; do
	printf '%-5s %s\n' "$d/" "$(ls "$q/$d" | wc -l)"
done
printf 'consumer 1 handled %s, consumer 2 handled %s\n' \
    "$(wc -l <c1.log 2>/dev/null || echo 0)" "$(wc -l <c2.log 2>/dev/null || echo 0)"

echo "== the dead letter, its reason in its name: ls $q/dead"
ls "$q/dead"
echo "== a message: cat $q/done/\$(LC_ALL=C ls $q/done | head -n 1)"
cat "$q/done/$(LC_ALL=C ls "$q/done" | head -n 1)"

echo "== a claim in progress: its mtime is its deadline, 10 minutes ahead"
echo "a slow job" | mqput -q "$q"
m=$(mqget -t 10m "$q")
echo "now: $(date '+%Y-%m-%d %H:%M:%S')"
ls -l --time-style='+%Y-%m-%d %H:%M:%S' "$q/cur"
mqack "$m"

# Every message put was handled once, or is the dead letter.
put=$((2 * N))
acked=$(cat c1.log c2.log 2>/dev/null | wc -l)
uniq=$(cat c1.log c2.log 2>/dev/null | sort -u | wc -l)
lost=$((put - uniq))
dup=$((acked - uniq))
dead=$(ls "$q/dead" | wc -l)
echo "demo: $((put + 1)) put, $acked acked, $dead dead, $lost lost, $dup duplicated"
[ "$lost" -eq 0 ] && [ "$dup" -eq 0 ] && [ "$dead" -eq 1 ]
