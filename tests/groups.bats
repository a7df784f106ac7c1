#!/usr/bin/env bats
# Ordered groups (issue 19): mqput -G, QUEUE/groups/, one message of a
# group claimed at a time, in put order; the group moving on when its
# head's claim ends; mqreap repairing what a crash left.

load test_helper

# heads Q: the names in Q/new/ and Q/cur/, one a line.
heads() {
	ls "$1"/new "$1"/cur | grep -v -e '^$' -e ':$' || true
}

@test "only a group's head is in new/; the others wait in groups/KEY/ in put order" {
	mkq q
	a=$(echo a | mqput -G acct-1 q)
	b=$(echo b | mqput -G acct-1 q)
	c=$(printf 'c\nd\n' | mqput -l -G acct-1 q | head -n 1)
	[ "$(ls q/new)" = "$a,gacct-1" ]
	[ "$(ls q/groups/acct-1 | head -n 1)" = "$b,gacct-1" ]
	[ "$(count q/groups/acct-1)" = 3 ]
	# ls shows which message holds the group.
	[ "$(ls q/groups/acct-1/.head)" = "$a,gacct-1" ]
	[[ $(ls q/groups/acct-1 | sed -n 2p) == "$c,gacct-1" ]]
}

@test "a group's messages are claimed one at a time, in put order" {
	mkq q
	for i in 1 2 3 4 5; do echo "$i" | mqput -G g q >/dev/null; done
	got=
	for i in 1 2 3 4 5; do
		c=$(mqget -n 10 q)
		[ "$(wc -l <<<"$c")" = 1 ]
		run -1 mqget q
		got="$got$(cat "$c")"
		mqack "$c"
	done
	[ "$got" = 12345 ]
	run -1 mqget q
	[ -z "$(ls q/groups/g/.head)" ]
}

@test "other groups and messages without a group are not held" {
	mkq q
	echo a1 | mqput -G a q >/dev/null
	echo a2 | mqput -G a q >/dev/null
	echo b1 | mqput -G b q >/dev/null
	echo plain | mqput q >/dev/null
	run -0 mqget -n 10 q
	[ "${#lines[@]}" = 3 ]
	run -1 mqget q
}

@test "released, the head comes back first and still holds the group" {
	mkq q
	echo one | mqput -G g q >/dev/null
	echo two | mqput -G g q >/dev/null
	c=$(mqget q)
	mqack -r "$c"
	c=$(mqget q)
	[ "$(cat "$c")" = one ]
	[[ $c == *,d2,gg,c* ]]
	mqack "$c"
	[ "$(mqget -b q)" = two ]
}

@test "a dead-lettered head lets the group move on" {
	mkq q
	echo one | mqput -G g q >/dev/null
	echo two | mqput -G g q >/dev/null
	mqack -f broken "$(mqget q)"
	[ "$(count q/dead)" = 1 ]
	[ "$(mqget -b q)" = two ]
}

@test "a delayed head holds its group until it is visible" {
	mkq q
	echo late | mqput -d 1h -G g q >/dev/null
	echo next | mqput -G g q >/dev/null
	run -1 mqget q
	touch -d '1 second ago' q/new/*
	[ "$(mqget -b q)" = late ]
}

@test "a head that expires by TTL lets the group move on" {
	mkq q
	echo old | mqput -e 1s -G g q >/dev/null
	echo new | mqput -G g q >/dev/null
	n=$(ls q/new)
	t=${n##*,t}; t=${t%%,*}
	mv "q/new/$n" "q/new/${n/,t$t,/,t1000000000,}"
	# The claim that expires it moves the group on, for the next claim.
	run -1 mqget q
	[ "$(count q/new)" = 1 ]
	[ "$(mqget -b q)" = new ]
}

@test "a bad group key is a usage error and puts nothing" {
	mkq q
	for k in '' .x -x 'a/b' 'a b' "$(printf 'x%.0s' {1..65})"; do
		run -2 --separate-stderr mqput -G "$k" q <<<body
		[[ $stderr == *"bad key"* || $stderr == *usage* ]]
	done
	[ "$(count q/new)" = 0 ]
	[ "$(count q/tmp)" = 0 ]
	[ ! -e q/groups ]
}

@test "a coalescing key and a group on one message" {
	mkq q
	echo one | mqput -G g q >/dev/null
	id=$(echo two | mqput -K k -G g q)
	# The keyed message waits behind the head: a second put coalesces.
	run -0 mqput -K k -G g q <<<three
	[ "$output" = "$id" ]
	[ "$(count q/groups/g)" = 1 ]
	mqack "$(mqget q)"
	c=$(mqget q)
	[ "$(cat "$c")" = two ]
}

@test "mqreap moves on a group whose head is gone, and only then" {
	mkq q
	echo one | mqput -G g q >/dev/null
	echo two | mqput -G g q >/dev/null
	c=$(mqget q)
	run -0 mqreap -v q
	[ -z "$output" ]
	# A consumer killed between its ack's unlink and the group's move.
	rm "$c"
	run -1 mqget q
	run -0 mqreap -v q
	[[ $output == "advance q/groups/g -> q/new/"*",gg (its head is gone)" ]]
	[ "$(mqget -b q)" = two ]
}

@test "mqreap adopts a message of the group found in new/ and never doubles" {
	mkq q
	for i in 1 2 3; do echo "$i" | mqput -G g q >/dev/null; done
	rm q/groups/g/.head/*
	run -0 mqreap -v q
	[[ $output == "adopt q/groups/g "* ]]
	[ "$(count q/new)" = 1 ]
	c=$(mqget q)
	[ "$(cat "$c")" = 1 ]
	run -1 mqget q
}

@test "mqreap gives an idle group with messages waiting its head" {
	mkq q
	mkdir -p q/groups/g
	echo foreign >q/tmp/x
	mv q/tmp/x q/groups/g/1000000000.1.maildir,gg
	run -0 mqreap -v q
	[[ $output == "advance q/groups/g -> q/new/1000000000.1.maildir,gg "* ]]
	[ "$(mqget -b q)" = foreign ]
}

@test "mqreap removes an idle group once untouched for a while" {
	mkq q
	echo one | mqput -G g q >/dev/null
	mqack "$(mqget q)"
	[ -d q/groups/g ]
	run -0 mqreap -v q
	[ -d q/groups/g ]
	touch -d '2 hours ago' q/groups/g
	run -0 mqreap -v q
	[ "$output" = "remove q/groups/g (idle)" ]
	[ ! -e q/groups/g ]
	echo two | mqput -G g q >/dev/null
	[ "$(mqget -b q)" = two ]
}

@test "a kicked dead letter rejoins its group instead of jumping it" {
	mkq q
	echo one | mqput -G g q >/dev/null
	echo two | mqput -G g q >/dev/null
	mqack -f broken "$(mqget q)"
	c=$(mqget q)
	[ "$(cat "$c")" = two ]
	mqreap -k q/dead/* >/dev/null
	[ "$(count q/new)" = 0 ]
	run -1 mqget q
	mqack "$c"
	[ "$(mqget -b q)" = one ]
}

@test "mqpub -G: each subscriber's copy joins the group of its queue" {
	mkq q1
	mkq q2
	mqpub -c -a t q1 q2
	echo one | mqpub -G g t >/dev/null
	echo two | mqpub -G g t >/dev/null
	for q in q1 q2; do
		[ "$(count $q/new)" = 1 ]
		[ "$(count $q/groups/g)" = 1 ]
		c=$(mqget $q)
		[ "$(cat "$c")" = one ]
		run -1 mqget $q
		mqack "$c"
		[ "$(mqget -b $q)" = two ]
	done
	run -2 mqpub -G 'bad key' t </dev/null
}

@test "mqpurge purges the messages waiting in groups/, and the group ends idle" {
	mkq q
	for i in 1 2 3; do echo "$i" | mqput -G g q >/dev/null; done
	echo plain | mqput q >/dev/null
	run -0 mqpurge -n -v -s waiting q
	[ "${#lines[@]}" = 4 ]
	[[ $output == *"purge q/groups/g/"* ]]
	[ "$(count q/groups/g)" = 2 ]
	run -0 mqpurge -s waiting q
	[ "$(count q/groups/g)" = 0 ]
	[ "$(count q/new)" = 0 ]
	[ -z "$(ls q/groups/g/.head)" ]
	echo four | mqput -G g q >/dev/null
	[ "$(mqget -b q)" = four ]
}

@test "mqmove moves a group in order, head first, into the group of the target" {
	mkq q
	mkq r
	for i in 1 2 3; do echo "$i" | mqput -G g q >/dev/null; done
	run -0 mqmove -s waiting q r
	[ "$(count q/new)" = 0 ]
	[ "$(count q/groups/g)" = 0 ]
	[ "$(count r/new)" = 1 ]
	[ "$(count r/groups/g)" = 2 ]
	got=
	for i in 1 2 3; do
		c=$(mqget r)
		run -1 mqget r
		got="$got$(cat "$c")"
		mqack "$c"
	done
	[ "$got" = 123 ]
}

@test "moving a claimed head moves its group on" {
	mkq q
	mkq r
	echo one | mqput -G g q >/dev/null
	echo two | mqput -G g q >/dev/null
	mqget q >/dev/null
	run -0 mqmove -s inflight q r
	[ "$(mqget -b r)" = one ]
	[ "$(mqget -b q)" = two ]
}

@test "mqstat counts the groups held and the messages waiting behind them; -l shows each message's group" {
	mkq q
	for i in 1 2 3; do echo "$i" | mqput -G acct q >/dev/null; done
	echo b | mqput -G other q >/dev/null
	echo plain | mqput q >/dev/null
	run -0 mqstat q
	[[ $output == *"q: 2 held, 2 waiting behind"* ]]
	run -0 mqstat -j q
	[[ $output == *'"visible":3,'* ]]
	[[ $output == *'"groups_held":2,"group_waiting":2'* ]]
	run -0 mqstat -p q
	[[ $output == *'mq_groups_held{queue="q"} 2'* ]]
	[[ $output == *'mq_group_waiting_messages{queue="q"} 2'* ]]
	run -0 mqstat -l q
	[ "${#lines[@]}" = 5 ]
	[ "$(awk '$6 == "acct"' <<<"$output" | wc -l)" = 3 ]
	[ "$(grep -c ' q/groups/acct/' <<<"$output")" = 2 ]
	for p in $(awk '{ print $NF }' <<<"$output"); do [ -f "$p" ]; done
	run -0 mqstat -l -j q
	[ "$(grep -c '"group":"acct"' <<<"$output")" = 3 ]
	[ "$(grep -c '"group":null' <<<"$output")" = 1 ]
}

# The issue's test: 4 producers put 2000 increments of 10 entities (the
# entity is the group), 4 consumers apply them.  MQ_TEST_NO_GROUPS=1 runs
# it without -G, to see it fail.
@test "the Like counter: every counter exact, each entity's log in put order, no overlap" {
	local g=1 p w e
	[ -n "${MQ_TEST_NO_GROUPS:-}" ] && g=
	mkq q
	mkdir counters logs
	for e in 0 1 2 3 4 5 6 7 8 9; do echo 0 >counters/e$e; : >logs/e$e; done
	for p in 1 2 3 4; do
		(for i in $(seq 500); do
			e=e$(((i * 7 + p) % 10))
			echo "$e $p $i" | mqput ${g:+-G "$e"} q >/dev/null || exit 1
		done) 3>&- &
	done
	pids=
	for w in 1 2 3 4; do
		mqwatch q -- "$MQ_ROOT/tests/like.sh" 3>&- &
		pids="$pids $!"
	done
	wait_all() {
		local n=0 f
		for f in logs/*; do n=$((n + $(wc -l <"$f"))); done
		[ "$n" -ge 2000 ]
	}
	n=0
	until wait_all || [ $((n += 1)) -gt 3000 ]; do sleep 0.05; done
	kill -TERM $pids
	wait $pids || true
	for e in 0 1 2 3 4 5 6 7 8 9; do like_check e$e 200; done
	[ "$(count q/new)" = 0 ]
	[ "$(count q/cur)" = 0 ]
}

@test "mqwatch -j 4 runs different groups at once and never two of one group" {
	mkq q
	cat >h.sh <<'SH'
#!/bin/bash
read -r g i
echo "$g $i ${EPOCHREALTIME/./} start" >>log
sleep 0.2
echo "$g $i ${EPOCHREALTIME/./} end" >>log
SH
	chmod +x h.sh
	for i in 1 2 3; do
		for g in a b c d; do echo "$g $i" | mqput -G "$g" q >/dev/null; done
	done
	run -0 mqwatch -j 4 -n 12 q -- ./h.sh
	[ "$(grep -c end log)" = 12 ]
	# Per group: in order, one at a time.  Across groups: at once.
	sort -n -k3,3 log | awk '
		$4 == "start" { if (run[$1]) bad = 1; run[$1] = 1; n++
			if (n > most) most = n
			if ($2 != last[$1] + 1) bad = 1; last[$1] = $2 }
		$4 == "end" { run[$1] = 0; n-- }
		END { print "most at once: " most; exit bad || most < 2 }'
}

@test "a consumer killed holding a group: the group resumes with the same message" {
	mkq q
	echo one | mqput -G g q >/dev/null
	echo two | mqput -G g q >/dev/null
	sleep 1000 3>&- &
	owner=$!
	c=$(mqget -p "$owner" q)
	run -1 mqget q
	kill "$owner"
	wait "$owner" || true
	# Its owner dead, the claim comes back once MQ_RENAME_GRACE_MS old.
	until_ok mqget q >again
	[ "$(cat "$(cat again)")" = one ]
	[ "$(cat again)" != "$c" ]
	[[ $(cat again) == *,d2,gg,c* ]]
	mqack "$(cat again)"
	[ "$(mqget -b q)" = two ]
}

@test "a head that dies of max_deliveries goes to dead/ and the group moves on" {
	mkq q
	echo 'max_deliveries = 1' >>q/config
	echo one | mqput -G g q >/dev/null
	echo two | mqput -G g q >/dev/null
	mqack -r "$(mqget q)"
	# The next claim finds its deliveries used up: buried on the way.
	run -1 mqget q
	[[ $(ls q/dead) == *,d1,gg,rmaxdeliveries ]]
	[ "$(mqget -b q)" = two ]
}

@test "a waiting consumer gets the group's next message as soon as the head is acknowledged" {
	mkq q
	echo one | mqput -G g q >/dev/null
	echo two | mqput -G g q >/dev/null
	c=$(mqget q)
	mqget -w 30s q >got 3>&- &
	w=$!
	# Its watch is set (mqget -w: dnotify, signalfd) before the ack.
	until_ok has_fd "$w" signalfd
	mqack "$c"
	wait "$w"
	[ "$(cat "$(cat got)")" = two ]
}
