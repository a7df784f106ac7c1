#!/usr/bin/env bats
# mqpurge and mqmove: only the states named, claims in flight only when
# asked, a dry run that changes nothing, moves that keep ids and leave
# each message in exactly one queue.

load test_helper

setup_file() {
	sh "$BATS_TEST_DIRNAME/deps.sh" faketime strace >&2
}

# jobs: 1 visible, 1 delayed, 1 in flight (1h), dead letters "poison" and
# "timeout", 1 done, 1 leftover in tmp/.
mixed() {
	mkq jobs
	sed -i 's/^keep_done = .*/keep_done = yes/' jobs/config
	seq 5 | mqput -l -q jobs
	echo later | mqput -q -d 1h jobs
	mqack -f poison "$(mqget jobs)"
	mqack -f timeout "$(mqget jobs)"
	mqack "$(mqget jobs)"
	mqget -t 1h jobs >/dev/null
	echo partial >jobs/tmp/leftover
}

counts() {
	echo "$(count jobs/new) $(count jobs/cur) $(count jobs/dead) $(count jobs/done) $(count jobs/tmp)"
}

@test "mqpurge without -s deletes nothing and exits 2, naming the choices" {
	mixed
	run -2 mqpurge jobs
	[[ $output == *"say which states to purge"* ]]
	run -2 mqpurge -s everything jobs
	run -2 mqpurge -s '' jobs
	run -2 mqpurge -r poison -s dead,done jobs
	[ "$(counts)" = "2 1 2 1 1" ]
}

@test "-s dead deletes the dead letters and nothing else" {
	mixed
	run -0 mqpurge -v -s dead jobs
	[ "${#lines[@]}" -eq 2 ]
	[[ ${lines[0]} == "purge jobs/dead/"* ]]
	[ "$(counts)" = "2 1 0 1 1" ]
}

@test "the dry run lists what would go and changes nothing" {
	mixed
	before=$(ls -lAR --full-time jobs)
	run -0 mqpurge -n -s all jobs
	[ "${#lines[@]}" -eq 5 ]
	[ "$(ls -lAR --full-time jobs)" = "$before" ]
}

@test "-r chooses the dead letters of one reason" {
	mixed
	run -0 mqpurge -v -s dead -r poison jobs
	[ "${#lines[@]}" -eq 1 ]
	[[ ${lines[0]} == *",rpoison" ]]
	[ "$(ls jobs/dead)" != "" ]
	[[ $(ls jobs/dead) == *,rtimeout ]]
}

@test "-s all leaves claims in flight and tmp/; naming inflight purges them, and the ack is stale" {
	mixed
	m=$(mqget -t 1h jobs)
	run -0 mqpurge -s all jobs
	[ "$(counts)" = "0 2 0 0 1" ]
	run -0 mqpurge -s inflight,tmp jobs
	[ "$(counts)" = "0 0 0 0 0" ]
	run -3 mqack "$m"
}

@test "waiting is visible and delayed; each alone is just that" {
	mixed
	run -0 mqpurge -s delayed jobs
	[ "$(count jobs/new)" -eq 1 ]
	run -0 mqpurge -s visible jobs
	[ "$(counts)" = "0 1 2 1 1" ]
}

@test "an expired claim is purged as expired, a live one is not" {
	mkq jobs
	seq 2 | mqput -l -q jobs
	mqget -t 1s jobs >/dev/null
	live=$(mqget -t 1h jobs)
	run -0 mqpurge -s expired jobs
	[ "$(count jobs/cur)" -eq 2 ]
	run -0 faketime -f +10s mqpurge -v -s expired jobs
	[ "${#lines[@]}" -eq 1 ]
	[ "$(ls jobs/cur)" = "${live##*/}" ]
}

@test "an fsync error is reported, exit 111" {
	mixed
	run -111 strace -f -o /dev/null -e inject=fsync:error=EIO mqpurge -s dead jobs
	[[ $output == *"Input/output error"* ]]
}

@test "mqpurge takes queues from stdin and goes on after a missing one" {
	mixed
	run -100 bash -c 'printf "nosuch\njobs\n" | mqpurge -s dead'
	[[ $output == *"nosuch: no such queue"* ]]
	[ "$(count jobs/dead)" -eq 0 ]
}

@test "mqmove sends dead letters to a repair queue under their ids, afresh, and back" {
	mixed
	mkq repair
	ids=$(ls jobs/dead | sed 's/,.*//' | sort)
	run -0 mqmove -v -s dead jobs repair
	[ "${#lines[@]}" -eq 2 ]
	[[ ${lines[0]} == "move jobs/dead/"*" -> repair/new/"* ]]
	[ "$(count jobs/dead)" -eq 0 ]
	[ "$(ls repair/new | sort)" = "$ids" ]
	# visible at once, no delivery count, no reason
	run -0 mqstat -j repair
	[[ $output == *'"visible":2,'* ]]
	run -0 mqmove -s waiting repair jobs
	[ "$(count repair/new)" -eq 0 ]
	[ "$(ls jobs/new | sort | grep -c -F "$ids")" -eq 2 ]
}

@test "mqmove of an id already in the target reports it, exit 100, and leaves it" {
	mkq a
	mkq b
	id=$(put a)
	cp "a/new/$id" "b/new/$id"
	run -100 mqmove -s waiting a b
	[[ $output == *"a/new/$id"*"exists"* ]]
	[ -f "a/new/$id" ]
}

@test "mqmove refuses tmp, one queue twice, and no -s" {
	mkq a
	mkq b
	run -2 mqmove -s tmp a b
	run -2 mqmove -s dead a ./a
	run -2 mqmove a b
	run -2 mqmove -s dead a
}

@test "a move killed at its rename leaves each message in exactly one queue" {
	mkq a
	mkq b
	seq 5 | mqput -l -q a
	run strace -f -o /dev/null -e inject=renameat2:signal=KILL:when=3 \
	    mqmove -s waiting a b
	[ "$status" -eq 137 ]
	[ "$(count a/new)" -eq 3 ]
	[ "$(count b/new)" -eq 2 ]
	[ "$(cat a/new/* b/new/* | sort -n | tr '\n' ' ')" = "1 2 3 4 5 " ]
}

# consume Q TAG: claim and acknowledge Q's messages until it is empty; the
# ids taken go to claimed.TAG.
consume() {
	local m
	while m=$(mqget -n 50 "$1"); do
		printf '%s\n' "$m" | tee -a "claimed.$2" | mqack
	done
	sed -i 's,.*/,,; s/,.*//' "claimed.$2"
}

@test "a purge racing two consumers: each message purged or consumed, exactly once" {
	mkq jobs
	seq 2000 | mqput -l jobs | sort >ids
	consume jobs 1 3>&- &
	c1=$!
	consume jobs 2 3>&- &
	c2=$!
	mqpurge -v -s waiting jobs | sed 's,.*/,,' >purged
	wait "$c1"
	wait "$c2"
	echo "claimed $(cat claimed.* | wc -l), purged $(wc -l <purged)"
	[ -z "$(cat claimed.* purged | sort | uniq -d)" ]
	[ "$(cat claimed.* purged | sort)" = "$(cat ids)" ]
	[ "$(count jobs/cur)" -eq 0 ]
}

@test "a move racing a consumer: each message consumed or moved, exactly once" {
	mkq a
	mkq b
	seq 2000 | mqput -l a | sort >ids
	consume a 1 3>&- &
	c1=$!
	mqmove -v -s waiting a b | sed 's,.*/,,' >moved
	wait "$c1"
	echo "claimed $(wc -l <claimed.1), moved $(wc -l <moved)"
	[ "$(sort moved)" = "$(ls b/new | sort)" ]
	[ -z "$(cat claimed.1 moved | sort | uniq -d)" ]
	[ "$(cat claimed.1 moved | sort)" = "$(cat ids)" ]
}

@test "the EXAMPLES of mqpurge(1) and mqmove(1) run" {
	local t
	for t in mqpurge mqmove; do
		mkdir "$t" && cd "$t"
		awk '/^\.Sh / { ex = ($2 == "EXAMPLES") }
		    ex && /^\.\\" notest/ { skip = 1; next }
		    ex && /^\.Bd -literal/ { on = !skip; skip = 0; next }
		    /^\.Ed/ { on = 0; next }
		    on' "$MQ_ROOT/man/$t.1" | sed 's/\\e/\\/g; s/\\&//g' >ex.sh
		run -0 sh -e ex.sh
		cd ..
	done
	[ "$(count mqpurge/jobs/dead)" -eq 0 ]
	[ "$(count mqpurge/jobs/new)" -eq 2 ]
	[ "$(count mqmove/jobs/new)" -eq 3 ]
}
