#!/usr/bin/env bats
# mqreap: every housekeeping rule, the dry run, the lock, dead consumers,
# kicking dead letters, the follow mode, and queues of thousands.  Files
# are aged with touch -d; a claim's ctime (the settle rule) cannot be set,
# so the reaper is run a little in the future with faketime instead.

load test_helper

# setting QUEUE KEY VALUE: change one line of the queue's config.
setting() {
	sed -i "/^$2 *=/d" "$1/config" && echo "$2 = $3" >>"$1/config"
}

# dead_pid: a process that no longer exists: started, ended and reaped.
dead_pid() {
	(exit 0) &
	local p=$!
	wait "$p"
	echo "$p"
}

# worker: a live process, as a consumer, in $worker.  Killed only once it
# runs sleep: a signal to the forked shell before exec may be lost.
worker() {
	sleep 1000 3>&- &
	worker=$!
	for _ in $(seq 2000); do
		[ "$(cat /proc/$worker/comm 2>/dev/null)" = sleep ] && return
	done
	return 1
}

@test "an expired claim goes back to new/ with its delivery count" {
	mkq q
	id=$(put q)
	claim=$(mqget -t 1s q)
	touch -d '-1 minute' "$claim"
	run -0 faketime -f '+5s' mqreap q
	[ -z "$output" ]
	[ -e "q/new/$id,d1" ]
	[ "$(count q/cur)" -eq 0 ]
	# Visible at once, and the next delivery counts on.
	run -0 mqget q
	[[ "$output" == "q/cur/$id,d2,c"* ]]
}

@test "a claim whose deadline has not come stays in cur/" {
	mkq q
	put q >/dev/null
	claim=$(mqget -t 1h q)
	run -0 faketime -f '+5s' mqreap q
	[ -e "$claim" ]
	[ "$(count q/new)" -eq 0 ]
}

@test "a claim just renamed is not taken back before it settles" {
	mkq q
	put q >/dev/null
	claim=$(mqget -t 1s q)
	# Its mtime says expired, but the rename into cur/ is seconds old.
	touch -d '-1 hour' "$claim"
	run -0 mqreap q
	[ -e "$claim" ]
}

@test "an expired claim at max_deliveries goes to dead/ with the reason in its name" {
	mkq q
	setting q max_deliveries 1
	id=$(put q)
	mqget -t 1s q >/dev/null
	run -0 faketime -f '+1h' mqreap -v q
	[ -e "q/dead/$id,d1,rmaxdeliveries" ]
	[ "$(count q/new)" -eq 0 ]
	[ "$(count q/cur)" -eq 0 ]
	[ "$(cat "q/dead/$id,d1,rmaxdeliveries")" = body ]
	[[ "$output" == "bury q/cur/$id,d1,c"*" -> q/dead/$id,d1,rmaxdeliveries (maxdeliveries)" ]]
}

@test "a claim below max_deliveries goes back, not to dead/" {
	mkq q
	setting q max_deliveries 3
	id=$(put q)
	mqget -t 1s q >/dev/null
	faketime -f '+1h' mqreap q
	[ -e "q/new/$id,d1" ]
	[ "$(count q/dead)" -eq 0 ]
}

@test "a message past its TTL is deleted when the queue says delete" {
	mkq q
	setting q expired delete
	old=$(put q -e 1m)
	young=$(put q -e 1d)
	plain=$(put q)
	run -0 faketime -f '+1h' mqreap -v q
	[[ "$output" == "expire q/new/$old,t"*" (ttl, deleted)" ]]
	[ -z "$(ls q/new | grep "^$old")" ]
	[ -e q/new/"$young",t* ]
	[ -e "q/new/$plain" ]
	[ "$(count q/dead)" -eq 0 ]
}

@test "a message past its TTL is a dead letter when the queue says dead" {
	mkq q
	setting q expired dead
	id=$(put q -e 1m)
	run -0 faketime -f '+1h' mqreap q
	[ -e q/dead/"$id",t*,rexpired ]
	[ "$(count q/new)" -eq 0 ]
}

@test "an expired claim past its TTL expires instead of going back" {
	mkq q
	id=$(put q -e 10m)
	mqget -t 1s q >/dev/null
	run -0 faketime -f '+1h' mqreap q
	[ "$(count q/new)" -eq 0 ]
	[ "$(count q/cur)" -eq 0 ]
	[ "$(count q/dead)" -eq 0 ]
}

@test "done/ is purged past its retention, counted from the acknowledgement" {
	mkq q
	setting q retention 7d
	put q >/dev/null
	mqack "$(mqget q)"
	run -0 faketime -f '+6d' mqreap q
	[ "$(count q/done)" -eq 1 ]
	# The mtime (an old deadline) does not count: the ack was just now.
	touch -d '-30 days' q/done/*
	run -0 faketime -f '+6d' mqreap q
	[ "$(count q/done)" -eq 1 ]
	run -0 faketime -f '+8d' mqreap -v q
	[[ "$output" == "purge q/done/"*" (retention)" ]]
	[ "$(count q/done)" -eq 0 ]
}

@test "done/ is kept forever with retention 0" {
	mkq q
	setting q retention 0
	put q >/dev/null
	mqack "$(mqget q)"
	run -0 faketime -f '+1000d' mqreap q
	[ "$(count q/done)" -eq 1 ]
}

@test "tmp/ files untouched for 36 hours are removed, younger ones never" {
	mkq q
	echo x >q/tmp/old
	echo x >q/tmp/young
	echo x >q/tmp/fresh
	touch -d '-37 hours' q/tmp/old
	touch -d '-35 hours' q/tmp/young
	run -0 mqreap -v q
	[ "$output" = "remove q/tmp/old (tmp 36h)" ]
	[ ! -e q/tmp/old ]
	[ -e q/tmp/young ]
	[ -e q/tmp/fresh ]
}

@test "a dead consumer's claim comes back at once, before its deadline" {
	mkq q
	id=$(put q)
	pid=$(dead_pid)
	claim=$(mqget -t 1h -p "$pid" q)
	[[ "$claim" == *",o"*"-$pid,c"* ]]
	# Only the settle after the claim's rename is waited for.
	run -0 faketime -f '+3s' mqreap -v q
	[[ "$output" == "return $claim -> q/new/$id,d1 (owner dead)" ]]
	[ -e "q/new/$id,d1" ]
	# Visible at once, though its deadline was an hour away.
	run -0 mqget q
	[[ "$output" == "q/cur/$id,d2,c"* ]]
}

@test "a live consumer's claim stays until its deadline" {
	mkq q
	put q >/dev/null
	worker
	claim=$(mqget -t 1h -p "$worker" q)
	run -0 faketime -f '+3s' mqreap q
	kill "$worker"
	[ -e "$claim" ]
}

@test "a claim made on another host is left to its deadline" {
	mkq q
	id=$(put q)
	pid=$(dead_pid)
	claim=$(mqget -t 1h -p "$pid" q)
	# The same claim, as another host's: its pid means nothing here.
	other=$(echo "$claim" | sed -E 's/,o[0-9a-f]+-/,o000000000000-/')
	mv "$claim" "$other"
	run -0 faketime -f '+3s' mqreap q
	[ -e "$other" ]
	run -0 faketime -f '+2h' mqreap q
	[ -e "q/new/$id,d1" ]
}

@test "the dry run changes nothing and says what it would do" {
	mkq q
	setting q max_deliveries 2
	setting q expired dead
	put q >/dev/null
	mqack "$(mqget q)"
	put q >/dev/null
	mqget -t 1s q >/dev/null
	put q -e 1m >/dev/null
	echo x >q/tmp/old
	touch -d '-2 days' q/tmp/old
	before=$(find q -printf '%p %s %T@ %C@\n' | sort)
	run -0 faketime -f '+8d' mqreap -n -s q
	after=$(find q -printf '%p %s %T@ %C@\n' | sort)
	[ "$before" = "$after" ]
	[ ! -e q/.reap.lock ]
	[ "${#lines[@]}" -eq 5 ]
	[[ "${lines[0]}" == "return q/cur/"*" -> q/new/"*",d1 (claim expired)" ]]
	[[ "${lines[1]}" == "expire q/new/"*",t"*" -> q/dead/"*",rexpired (ttl, to dead letters)" ]]
	[[ "${lines[2]}" == "purge q/done/"*" (retention)" ]]
	[ "${lines[3]}" = "remove q/tmp/old (tmp 36h)" ]
	[ "${lines[4]}" = "q: 1 returned, 0 dead-lettered, 1 expired, 1 purged, 1 removed from tmp" ]
}

@test "without -v and with nothing to do it prints nothing; -s prints one line per queue" {
	mkq q
	mkq r
	put q >/dev/null
	run -0 --separate-stderr mqreap q r
	[ -z "$output" ]
	[ -z "$stderr" ]
	run -0 mqreap -s q r
	[ "${lines[0]}" = "q: 0 returned, 0 dead-lettered, 0 expired, 0 purged, 0 removed from tmp" ]
	[ "${lines[1]}" = "r: 0 returned, 0 dead-lettered, 0 expired, 0 purged, 0 removed from tmp" ]
}

@test "many queues at once: a bad one is reported and the others still reaped" {
	mkq a
	mkq b
	mkdir notq
	echo x >a/tmp/old
	echo x >b/tmp/old
	touch -d '-2 days' a/tmp/old b/tmp/old
	run -100 --separate-stderr mqreap a notq b
	[ "$stderr" = "mqreap: notq: not a queue (no tmp/)" ]
	[ ! -e a/tmp/old ]
	[ ! -e b/tmp/old ]
}

@test "a queue locked by another mqreap is skipped, and said so with -v" {
	mkq q
	echo x >q/tmp/old
	touch -d '-2 days' q/tmp/old
	run -0 --separate-stderr mqreap q
	[ ! -e q/tmp/old ]
	echo x >q/tmp/old
	touch -d '-2 days' q/tmp/old
	run -0 --separate-stderr flock q/.reap.lock mqreap -v -s q
	[ "${lines[0]}" = "skip q (locked by another mqreap)" ]
	[ "${lines[1]}" = "q: skipped: locked by another mqreap" ]
	[ -z "$stderr" ]
	[ -e q/tmp/old ]
}

@test "with -w mqreap waits for the lock, then reaps" {
	mkq q
	echo x >q/tmp/old
	touch -d '-2 days' q/tmp/old
	mkfifo go
	flock q/.reap.lock -c 'touch held; read x <go' 3>&- &
	holder=$!
	for _ in $(seq 2000); do [ -e held ] && break; done
	[ -e held ]
	mqreap -w q 3>&- &
	reaper=$!
	# A bounded poll: until the reaper sleeps in flock(2).
	for _ in $(seq 2000); do
		grep -q lock "/proc/$reaper/wchan" 2>/dev/null && break
	done
	grep -q lock "/proc/$reaper/wchan"
	[ -e q/tmp/old ]
	echo >go
	wait "$holder"
	wait "$reaper"
	[ ! -e q/tmp/old ]
}

@test "-k sends all dead letters back to new/, fresh, in order" {
	mkq q
	setting q max_deliveries 1
	setting q expired dead
	a=$(put q)
	mqget -t 1s q >/dev/null
	# Put two hours ago: its TTL has passed.
	b=$(echo body | faketime -f '-2h' mqput -e 1m q)
	faketime -f '+1h' mqreap q
	[ "$(count q/dead)" -eq 2 ]
	run -0 mqreap -k -s q
	[ "$output" = "q: 2 kicked" ]
	[ "$(count q/dead)" -eq 0 ]
	# Deliveries reset, the reason and the passed TTL dropped.
	[ -e "q/new/$a" ]
	[ -e "q/new/$b" ]
	# b was put two hours before a: it comes first.
	run -0 mqget -n 2 q
	[[ "${lines[0]}" == "q/cur/$b,d1,c"* ]]
	[[ "${lines[1]}" == "q/cur/$a,d1,c"* ]]
}

@test "-k QUEUE/dead/NAME sends back only the dead letters named" {
	mkq q
	a=$(put q)
	b=$(put q)
	mqack -f poison "$(mqget q)"
	mqack -f poison "$(mqget q)"
	run -0 mqreap -k -v "q/dead/$b,d1,rpoison"
	[ "$output" = "kick q/dead/$b,d1,rpoison -> q/new/$b (kicked)" ]
	[ -e "q/new/$b" ]
	[ -e "q/dead/$a,d1,rpoison" ]
	# Chosen ones may come on standard input, as ls gives them.
	ls -d q/dead/* | mqreap -k
	[ -e "q/new/$a" ]
	[ "$(count q/dead)" -eq 0 ]
}

@test "-k -n says what it would kick and kicks nothing" {
	mkq q
	a=$(put q)
	mqack -f poison "$(mqget q)"
	run -0 mqreap -k -n q
	[ "$output" = "kick q/dead/$a,d1,rpoison -> q/new/$a (kicked)" ]
	[ -e "q/dead/$a,d1,rpoison" ]
}

@test "-k refuses what is not a dead letter" {
	mkq q
	run -100 --separate-stderr mqreap -k q/dead/nosuch
	[[ "$stderr" == "mqreap: q/dead/nosuch: No such file or directory" ]]
	run -100 --separate-stderr mqreap -k q/dead/.hidden
	[ "$stderr" = "mqreap: q/dead/.hidden: not a dead letter" ]
}

@test "bad options and operands are usage errors" {
	run -2 --separate-stderr mqreap -x q
	[ "${stderr_lines[1]}" = "usage: mqreap [-fnsvw] queue ..." ]
	[ "${stderr_lines[2]}" = "       mqreap -k [-nsv] queue | deadletter ..." ]
	run -2 mqreap -k -f q
	run -2 mqreap -f -n q
}

@test "a planted link or FIFO is reported and left alone" {
	mkq q
	ln -s /etc/passwd q/cur/link,d1,cabc
	mkfifo q/tmp/fifo
	touch -h -d '-2 days' q/cur/link,d1,cabc
	run -0 --separate-stderr faketime -f '+1h' mqreap q
	[[ "$stderr" == *"q/cur/link,d1,cabc: skipped: a symbolic link"* ]]
	[[ "$stderr" == *"q/tmp/fifo: skipped: a FIFO"* ]]
	[ -L q/cur/link,d1,cabc ]
	[ -p q/tmp/fifo ]
}

@test "-f wakes at a claim's deadline, by its timer, and stops on SIGTERM" {
	mkq q
	id=$(put q)
	mqreap -f -v q >log 2>&1 3>&- &
	reaper=$!
	# The claim is made after the reaper went to sleep: inotify tells it.
	claim=$(mqget -t 3s q)
	run -0 inotifywait -qq -t 20 -e moved_to q/new
	[ -e "q/new/$id,d1" ]
	kill -TERM "$reaper"
	wait "$reaper"
	run -0 cat log
	[[ "$output" == "return $claim -> q/new/$id,d1 (claim expired)" ]]
}

@test "-f returns a claim as soon as its owner dies" {
	mkq q
	id=$(put q)
	worker
	claim=$(mqget -t 1h -p "$worker" q)
	mqreap -f q 3>&- &
	reaper=$!
	kill "$worker"
	run -0 inotifywait -qq -t 20 -e moved_to q/new
	kill -TERM "$reaper"
	wait "$reaper"
	[ -e "q/new/$id,d1" ]
}

@test "thousands of entries in each directory are reaped in one pass" {
	mkq q
	setting q expired delete
	seq 3000 | mqput -l -e 1h q >/dev/null
	seq 9000 | mqput -l q >/dev/null
	mqget -n 3000 -t 1s q >claims1 # the TTL ones: they expire
	mqget -n 3000 q | mqack
	mqget -n 3000 -t 1s q >claims2 # these come back
	(cd q/tmp && touch -d '-2 days' t{1..3000} && touch -d '+8 days' y{1..1000})
	[ "$(count q/cur)" -eq 6000 ]
	[ "$(count q/new)" -eq 3000 ]
	[ "$(count q/done)" -eq 3000 ]
	run -0 faketime -f '+8d' mqreap -s q
	[ "$output" = "q: 3000 returned, 0 dead-lettered, 3000 expired, 3000 purged, 3000 removed from tmp" ]
	[ "$(count q/cur)" -eq 0 ]
	[ "$(count q/new)" -eq 6000 ]
	[ "$(count q/done)" -eq 0 ]
	[ "$(count q/tmp)" -eq 1000 ]
	run -0 mqreap -s q
	[ "$output" = "q: 0 returned, 0 dead-lettered, 0 expired, 0 purged, 0 removed from tmp" ]
}

@test "reaping beside busy consumers loses and duplicates nothing" {
	mkq q
	setting q max_deliveries 0
	seq 1000 | mqput -l q >/dev/null
	# Half the claims are abandoned, the other half acknowledged.
	# A first delivery is abandoned, a second acknowledged; the reaper
	# runs an hour ahead, so it also takes claims back under the
	# consumers' feet, whose acks must then fail as stale.
	for w in 1 2; do
		(
			while c=$(mqget -t 1s q); do
				case $c in *,d1,c*) ;; *) mqack "$c" 2>/dev/null ;; esac
			done
		) 3>&- &
	done
	for _ in $(seq 20); do
		faketime -f '+1h' mqreap q
	done
	wait
	faketime -f '+1h' mqreap q
	# Whatever came back is in new/ again; nothing is lost or doubled.
	total=$(($(count q/new) + $(count q/done) + $(count q/cur)))
	[ "$total" -eq 1000 ]
	[ "$(ls q/new q/done | sed 's/,.*//' | grep -c '^[0-9]')" -eq 1000 ]
	[ "$(ls q/new q/done | sed 's/,.*//' | grep '^[0-9]' | sort -u | wc -l)" -eq 1000 ]
}

@test "a lock file that root makes in a user's queue belongs to the user" {
	mkq q
	chown -R nobody:nogroup q
	run -0 mqreap q
	[ "$(stat -c %U:%G q/.reap.lock)" = nobody:nogroup ]
	[ "$(stat -c %a q/.reap.lock)" = 600 ]
}

@test "an empty line among the queues on stdin is an error, not skipped" {
	mkq q
	run -100 --separate-stderr mqreap -s < <(printf 'q\n\n')
	[ "$stderr" = "mqreap: stdin: empty line: not a queue" ]
	[[ $output == "q: 0 returned"* ]]
}

@test "a claim with a planted hard link is moved to dead/, not left for ever" {
	mkq q
	put q >/dev/null
	c=$(mqget -t 1s q)
	ln "$c" other
	run -0 --separate-stderr faketime -f '+3s' mqreap q
	[[ $stderr == *"${c#q/}: skipped: has more than one link: to dead/" ]]
	[ "$(count q/cur)" = 0 ]
	[ "$(ls q/dead)" = "$(basename "${c%,c*}"),rlinks" ]
}
