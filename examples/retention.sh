#!/bin/sh
# Scenario 7, retention: the queue keeps a request n days.  Requests get a
# time to live (ttl = 3d in the queue's config, or mqput -e for one of
# them): one not handled by then is deleted by mqreap.  Handled ones are kept
# in done/ for the retention time (retention = 7d), then deleted too.  Days
# pass by faketime, which runs mqreap as if it were that much later.
. "$(dirname -- "$0")/scenario.sh"

command -v faketime >/dev/null || { fail "faketime is not installed"; verdict; }
mqput -c -l requests </dev/null
printf 'ttl = 3d\nretention = 7d\n' >>requests/config

# Day 0: five requests for 3 days, one for 10; two of them handled.
for i in 1 2 3 4 5; do echo "request $i" | mqput -q requests; done
echo "request 6, may wait" | mqput -q -e 10d requests
for i in 1 2; do mqget requests | mqack; done
say "day 0: 6 requests put, 2 handled; the TTLs are in the names: ls requests/new"
ls requests/new | while read -r m; do say "  $m"; done

# A day: mqreap as if it were that late; -v says what it did.
day() {	# DAYS
	faketime -f "+$1d" mqreap -v requests >reap.$1 ||
		fail "mqreap on day $1 exited $?"
	say "day $1: $(n_of requests/new) waiting, $(n_of requests/done) in done/;" \
	    "mqreap -v said $(n_lines reap.$1) lines"
	read -r line <reap.$1 && say "  like: $line"
}
expect() {	# DAY NEW DONE
	[ "$(n_of requests/new)" = "$2" ] && [ "$(n_of requests/done)" = "$3" ] ||
		fail "day $1: $(n_of requests/new) waiting, $(n_of requests/done) done," \
		    "not $2 and $3"
}
day 1 && expect 1 4 2
day 4 && expect 4 1 2
day 8 && expect 8 1 0
day 11 && expect 11 0 0
[ "$(n_of requests/dead)" = 0 ] || fail "dead letters: $(ls requests/dead)"
verdict
