#!/usr/bin/env bats
# Priorities (issue 24): a level from 0 (the most urgent) to 9 on every
# message, the p field of its name; no field for the default, 5.

load test_helper

@test "mqput -p writes the level as the name's first field; the default writes none" {
	mkq q
	a=$(put q -p 0)
	b=$(put q -p 5)
	c=$(put q -p 9 -e 1h)
	d=$(put q)
	[ -e "q/new/$a,p0" ]
	[ -e "q/new/$b" ]
	[ -e "q/new/$d" ]
	ls q/new | grep -qx "$c,p9,t[0-9]*"
	[ "$(count q/new)" = 4 ]
}

@test "mqput -p refuses what is not a level, with exit 2" {
	mkq q
	for l in 10 -1 a '' 05; do
		run -2 --separate-stderr mqput -p "$l" q </dev/null
		[[ $stderr == *"-p $l: bad level"* ]]
	done
	[ "$(count q/new)" = 0 ]
}

@test "mqpub -p gives every copy its level" {
	mkq a
	mkq b
	mqpub -c -a t a b
	id=$(echo hi | mqpub -p 1 t)
	ls a/new | grep -qx "$id\.a,p1"
	ls b/new | grep -qx "$id\.b,p1"
}

@test "a maildir writer's name, even one with commas, is of the default level" {
	mkq q
	echo x >q/new/1732000000.M4P5.host,S=2
	echo y >q/new/1732000001.M4P5.host,p5
	run -0 mqget -n 2 q
	[[ ${lines[0]} == */cur/1732000000.M4P5.host,S=2,d1,c* ]]
	[[ ${lines[1]} == */cur/1732000001.M4P5.host,p5,d1,c* ]]
}

@test "a claim, a release and a dead letter keep the level; mqmove too" {
	mkq q
	mkq r
	id=$(put q -p 2)
	c=$(mqget q)
	[[ $c == */cur/$id,p2,d1,c* ]]
	mqack -r "$c"
	[ -e "q/new/$id,p2,d1" ]
	c=$(mqget q)
	mqack -f broken "$c"
	ls q/dead | grep -qx "$id,p2,d2,rbroken"
	run -0 mqmove -s dead q r
	ls r/new | grep -qx "$id,p2"
}

# bodies PATHS...: the bodies of the claimed messages, one a line.
bodies() {
	local p
	for p in "$@"; do cat "$p"; done
}

# mixed Q: put a, b (level 3, delayed 1h), c (3), d (0), e (9), f, in
# that order.
mixed() {
	echo a | mqput -q "$1"
	echo b | mqput -q -p 3 -d 1h "$1"
	echo c | mqput -q -p 3 "$1"
	echo d | mqput -q -p 0 "$1"
	echo e | mqput -q -p 9 "$1"
	echo f | mqput -q "$1"
}

@test "one-shot claims take the most urgent visible level first, FIFO within a level" {
	mkq q
	mixed q
	got=
	for i in 1 2 3 4 5; do got="$got$(cat "$(mqget q)")"; done
	[ "$got" = dcafe ]
	run -1 mqget q
	# The delayed one, once visible, comes before any default level.
	echo g | mqput -q q
	touch -d '-1 second' q/new/*,p3
	[ "$(cat "$(mqget q)")" = b ]
}

@test "mqget -n takes a batch in level order, delayed ones left" {
	mkq q
	mixed q
	run -0 mqget -n 10 q
	[ "$(bodies "${lines[@]}" | tr -d '\n')" = dcafe ]
	[ "$(count q/new)" = 1 ]
}

@test "behind a long backlog an urgent arrival is the next claim, without a scan" {
	mkq q
	seq 300 | mqput -q -l q
	# The first claim scans and leaves the index of the rest.
	[ "$(cat "$(mqget q)")" = 1 ]
	[ -s q/.index ]
	echo low | mqput -q -p 4 q
	echo high | mqput -q -p 0 q
	grep -q ',p0$' q/.urgent
	# Claimed from the hint: no scan rewrote the index.
	before=$(stat -c %i q/.index)
	[ "$(cat "$(mqget q)")" = high ]
	[ "$(cat "$(mqget q)")" = low ]
	[ "$(cat "$(mqget q)")" = 2 ]
	[ "$(stat -c %i q/.index)" = "$before" ]
	# The hint lets go of what was claimed.
	[ ! -s q/.urgent ]
}

@test "a delayed urgent message waits in the hint with its time, and is claimed first once due" {
	mkq q
	seq 100 | mqput -q -l q
	[ "$(cat "$(mqget q)")" = 1 ]
	echo later | mqput -q -p 0 -d 1h q
	grep -q ',p0 [0-9]*$' q/.urgent
	[ "$(cat "$(mqget q)")" = 2 ]
	# Still named, with its time: claims pass it by without a look.
	grep -q ',p0 [0-9]*$' q/.urgent
	[ "$(cat "$(faketime -f '+2h' mqget q)")" = later ]
}

@test "a scan leaves urgent names to the hint, the index holds the rest in order" {
	mkq q
	seq 200 | mqput -q -l q
	seq 201 210 | mqput -q -l -p 2 q
	rm -f q/.urgent
	run -0 mqget -n 5 q
	[ "$(bodies "${lines[@]}" | tr '\n' ' ')" = "201 202 203 204 205 " ]
	[ "$(wc -l <q/.urgent)" = 10 ]
	! grep -q ',p' q/.index
	run -0 mqget -n 10 q
	[ "$(bodies "${lines[@]}" | tr '\n' ' ')" = "206 207 208 209 210 1 2 3 4 5 " ]
}

@test "more urgent messages than the hint holds are claimed in order from the index" {
	mkq q
	seq 100 | mqput -q -l q
	seq 1001 2000 | mqput -q -l -p 1 q
	# Full: the producers said that names are missing.
	grep -qx '[.]' q/.urgent
	run -0 mqget -n 3 q
	[ "$(bodies "${lines[@]}" | tr '\n' ' ')" = "1001 1002 1003 " ]
	[ "$(head -n 1 q/.urgent)" = .all ]
	grep -q ',p1$' q/.index
	mqget -n 1000 q | xargs cat >got
	[ "$(sed -n '1p;997p;998p' got | tr '\n' ' ')" = "1004 2000 1 " ]
}

@test "mqwatch takes the most urgent first, and an urgent arrival before the rest of its walk" {
	mkq q
	mixed q
	run -0 mqwatch -n 5 q -- sh -c 'cat >>out'
	[ "$(tr -d '\n' <out)" = dcafe ]

	rm -f out
	seq 5 | mqput -q -l q
	# fd 5: bats owns 3.
	exec 5>lock
	flock 5
	mqwatch -n 3 q -- sh -c 'cat >>out; [ -e started ] ||
	    { : >started; flock lock true; }' 3>&- 5>&- &
	until_ok [ -e started ]
	echo urgent | mqput -q -p 0 q
	flock -u 5
	exec 5>&-
	wait
	[ "$(tr '\n' ' ' <out)" = "1 urgent 2 " ]
}

@test "mqwatch -r waits for its rate deaf to arrivals, yet claims an urgent one that came meanwhile first" {
	mkq q
	seq 5 | mqput -q -l q
	# The first handler leaves a watcher that puts the urgent message
	# once mqwatch has ended that claim (its rename into done/), that is
	# while the rate (2 a second) holds the next claim back, for less than
	# the age at which a walk is read again anyway.
	run -0 mqwatch -r 2/s -n 2 q -- sh -c 'cat >>out; [ -e started ] ||
	    { : >started
	      { inotifywait -t 20 -e moved_to q/done 2>w.err >/dev/null
	        echo urgent | mqput -q -p 0 q; } &
	      i=0; until grep -q established w.err || [ $i -gt 2000 ]; do
	          i=$((i + 1)); done; }'
	[ "$(tr '\n' ' ' <out)" = "1 urgent " ]
}

@test "mqmove keeps the level and the moved message is claimed at it" {
	mkq q
	mkq r
	echo x | mqput -q r
	echo m | mqput -q -p 1 q
	run -0 mqmove -s visible q r
	[ "$(cat "$(mqget r)")" = m ]
}

@test "an ordered group keeps its order over the levels of its messages" {
	mkq q
	echo first | mqput -q -G g -p 9 q
	echo second | mqput -q -G g -p 0 q
	echo other | mqput -q q
	run -0 mqget -n 5 q
	[ "$(bodies "${lines[@]}" | tr '\n' ' ')" = "other first " ]
	mqack "${lines[@]}"
	[ "$(cat "$(mqget q)")" = second ]
}

@test "mqstat counts the waiting messages by level: table, JSON, Prometheus" {
	mkq q
	mixed q
	run -0 mqstat q
	[[ $output == *"waiting by level"*"q: 0 1, 3 2, 5 2, 9 1"* ]]
	run -0 mqstat -j q
	[[ $output == *'"levels":{"0":1,"3":2,"5":2,"9":1}'* ]]
	run -0 mqstat -p q
	[[ $output == *'mq_waiting_messages{queue="q",level="3"} 2'* ]]
	[[ $output == *'mq_waiting_messages{queue="q",level="7"} 0'* ]]
	# Only the default level waiting: no table of levels.
	mkq r
	put r >/dev/null
	run -0 mqstat r
	[[ $output != *"by level"* ]]
}

@test "a full queue with drop-oldest drops the least urgent level's oldest first" {
	mkq q
	printf 'max_length = 3\noverflow = drop-oldest\n' >>q/config
	echo x | mqput -q -p 0 q
	echo y | mqput -q q
	echo z | mqput -q -p 9 q
	echo w | mqput -q q
	[ "$(cat q/dead/*)" = z ]
	echo v | mqput -q q
	[ "$(cat q/dead/* | sort | tr -d '\n')" = yz ]
	[ "$(bodies q/new/* | sort | tr -d '\n')" = vwx ]
}

# waiting_at_least Q N: Q/new/ holds N messages or more.
waiting_at_least() {
	[ "$(ls "$1/new" | wc -l)" -ge "$2" ]
}

# The concurrency check.  A claim violates the order if, while it ran, a
# more urgent message waited that it should have taken: one whose put had
# returned before the claim began (visible before), and whose claimer began
# only after this claim had returned (so it was surely still in new/ all
# along).  The documented races are allowed: for a message of level 5 to 9
# the index of a long backlog may lag (two seconds), so such a one counts
# only if put two seconds before the claim began.
@test "4 producers and 4 consumers, all levels: no consumer claims a lower level while a higher one waited" {
	mkq q
	local p k
	for p in 1 2 3 4; do
		(
			for i in $(seq 100); do
				l=$((RANDOM % 10))
				echo "$p.$i $l" | mqput -S -q -p "$l" q || exit 1
				echo "$p.$i $l ${EPOCHREALTIME/./}" >>"put.$p"
			done
			: >"done.$p"
		) 3>&- &
	done
	# A backlog first, so that the order matters; the producers go on.
	until_ok waiting_at_least q 100
	for k in 1 2 3 4; do
		(
			while :; do
				# All put before this empty claim: the end.
				all=$(ls done.* 2>/dev/null | wc -l)
				s=${EPOCHREALTIME/./}
				if c=$(mqget q); then
					e=${EPOCHREALTIME/./}
					echo "$(cat "$c") $s $e" >>"got.$k"
					mqack "$c" || exit 1
				elif [ "$all" = 4 ]; then
					exit 0
				fi
			done
		) 3>&- &
	done
	wait
	cat put.* >puts
	cat got.* >gots
	echo "attempted $(wc -l <puts), claimed $(wc -l <gots)"
	# None lost, none twice.
	[ "$(cut -d' ' -f1 puts | sort | uniq | wc -l)" = 400 ]
	[ "$(cut -d' ' -f1 gots | sort | uniq -d | wc -l)" = 0 ]
	[ "$(cut -d' ' -f1 gots | sort | uniq | wc -l)" = 400 ]
	awk 'FNR == NR { put[$1] = $3; next }
		{ id[FNR] = $1; lv[FNR] = $2; s[FNR] = $3; e[FNR] = $4 }
		END {
			for (a = 1; a <= FNR; a++)
			for (b = 1; b <= FNR; b++) {
				if (lv[b] >= lv[a] || s[b] <= e[a]) continue
				slack = lv[b] >= 5 ? 2000000 : 0
				if (put[id[b]] + slack < s[a]) {
					print "claimed " id[a] " (" lv[a] ") while " \
					    id[b] " (" lv[b] ") waited"
					bad++
				}
			}
			print "violations: " bad + 0
			exit bad > 0
		}' puts gots
}

@test "a waiting mqget claims the most urgent of what arrived while it waited" {
	mkq q
	mqget -w 30 q >got &
	pid=$!
	# Stopped after its first look, it wakes to several arrivals at once.
	until_ok looked "$pid" q
	kill -STOP "$pid"
	for l in 5 7 5; do echo "routine $l" | mqput -q -p "$l" q; done
	echo urgent | mqput -q -p 2 q
	kill -CONT "$pid"
	wait "$pid"
	[ "$(cat "$(cat got)")" = urgent ]
	[ "$(mqget -b q)" = "routine 5" ]
}
