#!/bin/sh
# Scenario 1, the queue as a buffer: requests arrive at 100 a second for 10
# seconds, the service handles 60 a second.  The backlog waits on disk, at
# most max_length of it: a full queue refuses (exit 5) and the clients offer
# those requests again a tick later, so nothing is lost and the disk is safe.
# mqwatch -r 60/s keeps the service at its rate however long the backlog.
. "$(dirname -- "$0")/scenario.sh"

ticks=$(scaled 100)		# of 0.1 s, 10 requests each: 100 a second
total=$((ticks * 10))
limit=$(scaled 200)
mqput -c -l requests </dev/null
echo "max_length = $limit" >>requests/config
say "$total requests in $((ticks / 10)).$((ticks % 10)) s to a service of 60/s; max_length $limit"

# The service notes each request and its claim's time (ms): the mtime of a
# claim is its deadline, the claim's time plus the timeout (here an hour).
SERVE='read -r n; set -- $(ls -l --time-style=+%s%3N "$MQ_PATH"); echo "$n $6" >>served'
(mqwatch -r 60/s -j 4 -t 1h -n "$total" -i 5s requests -- sh -c "$SERVE"
	echo $? >service.rc) &

# The clients: 10 more requests due every tick; those refused stay due.
# mqput takes the first ones and prints their ids.
(next=1 tick=0 full=0
while [ "$next" -le "$total" ]; do
	sleep 0.1 & tick=$((tick + 1)) due=$((tick * 10)) req=
	[ "$due" -le "$total" ] || due=$total
	for i in $(seq "$next" "$due"); do req="$req$i
"; done
	set -- $(printf %s "$req" | mqput -l requests 2>/dev/null)
	[ $# -lt $((due - next + 1)) ] && full=$((full + 1))
	next=$((next + $#))
	wait $!
done
echo "$full of $tick" >full) &

# The backlog (mqstat's "visible") every half second, until the service ends.
samples= peak=0
until [ -e service.rc ]; do
	s=$(mqstat -j requests) && s=${s#*\"visible\":} && s=${s%%,*}
	samples="$samples $s" && [ "$s" -le "$peak" ] || peak=$s
	sleep 0.5
done
wait
say "the backlog in new/, a column every 0.5 s (top: max_length $limit):"
for row in 8 7 6 5 4 3 2 1; do
	[ "$row" = 8 ] && line=$(printf '%6d |' "$limit") || line='       |'
	for s in $samples; do
		[ $(((s * 8 + limit / 2) / limit)) -ge "$row" ] && line="$line#" || line="$line "
	done
	say "$line"
done
say "     0 +$(for s in $samples; do printf -; done)"

# Handled per second, by the claims' times; and each request once.
first= last= max=0 dup=0 per=
while read -r n t; do
	sec=$(((t - 3600000) / 1000))
	eval "c=\${at_$sec:-0}; dup=\$((dup + \${req_$n:-0})); at_$sec=\$((c + 1)); req_$n=1"
	[ -n "$first" ] && [ "$sec" -ge "$first" ] || first=$sec
	[ -n "$last" ] && [ "$sec" -le "$last" ] || last=$sec
done <served
for sec in $(seq "$first" "$last"); do
	eval "c=\${at_$sec:-0}"
	per="$per $c" && [ "$c" -le "$max" ] || max=$c
done
say "handled per second:$per"
say "the queue was full at $(cat full) ticks: the clients kept those requests and put them again"

[ "$(cat service.rc)" = 0 ] || fail "mqwatch exited $(cat service.rc)"
[ "$(n_lines served)" = "$total" ] || fail "$(n_lines served) of $total handled"
[ "$dup" = 0 ] || fail "$dup handled twice"
[ "$(n_of requests/done)" = "$total" ] || fail "$(n_of requests/done) of $total in done/"
[ "$max" -le 60 ] || fail "$max handled in one second, above 60"
[ "$peak" -le "$limit" ] || fail "a backlog of $peak, above max_length $limit"
verdict
