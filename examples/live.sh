#!/bin/sh
# Scenario 5, live video (Facebook's case): many viewers ask for the same
# segment at once; the requests are queued together, the segment is
# fetched once, the cache filled, and every queued request answered from
# it.  A viewer is one command: mqput -K (coalesce: one message a segment,
# however many ask) -W (wait for that message's end and print its result).
# The fetchers are mqwatch handlers that leave the result in $MQ_RESULT.
. "$(dirname -- "$0")/scenario.sh"

viewers=$(scaled 100) segments=5
mqput -c -l live </dev/null
echo 'coalesce = claimed' >>live/config	# asked during a fetch: join it
mkdir cache answers

# The viewers, while no fetcher runs yet.
for i in $(seq "$viewers"); do
	s=$((i % segments))
	(echo "segment $s" | mqput -K "seg$s" -W 30s live >answers/$i
		echo "$? $s" >answers/$i.rc) &
done

# A waiter holds its registration, the FIFO live/ends/wait/ID, open:
# ls -l /proc/*/fd shows how many wait.
waiting() {
	n=0 cwd=$(pwd -P)
	for f in $(ls -l /proc/[0-9]*/fd 2>/dev/null); do
		case $f in "$cwd"/live/ends/wait/*) n=$((n + 1)) ;; esac
	done
	[ "$n" -ge "$viewers" ]
}
until_true 60 waiting || fail "the viewers did not all wait"
say "$viewers viewers wait for $segments segments: $(n_of live/new) messages in" \
    "live/new/, $(n_of live/ends/wait) registrations in live/ends/wait/"

# The fetchers: fetch (0.2 s), fill the cache, answer from it.
FETCH='read -r seg; echo "$seg" >>fetches; sleep 0.2
	echo "data of $seg" >"cache/$seg"; cat "cache/$seg" >"$MQ_RESULT"'
mqwatch -n "$segments" -j 2 live -- sh -c "$FETCH" || fail "mqwatch exited $?"
wait
say "2 fetchers made $(n_lines fetches) fetches; cat answers/7: $(cat answers/7)"

for i in $(seq "$viewers"); do
	read -r rc s <answers/$i.rc
	[ "$rc" = 0 ] && [ "$(cat answers/$i)" = "data of segment $s" ] ||
		fail "viewer $i: exit $rc, answer '$(cat answers/$i)'"
done
[ "$(n_lines fetches)" = "$segments" ] || fail "$(n_lines fetches) fetches, not $segments"
# How each message ended, kept a while for viewers who come late: a file.
for f in live/ends/*; do [ -f "$f" ] && break; done
say "cat ${f#live/}:" $(cat "$f")
verdict
