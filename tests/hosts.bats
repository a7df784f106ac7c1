#!/usr/bin/env bats
# Several hosts on one spool, on this machine: owners of claims across
# hosts (each "host" its own UTS and PID namespaces), the clock agreement
# (faketime moves one tool's clock, not the file system's), and the poll
# interval of the queue.  tests/cluster.bats does the same on GlusterFS.

load test_helper

# host NAME CMD: the shell command line CMD as host NAME.
host() {
	local name=$1
	shift
	unshare --uts --pid --fork --mount-proc \
	    bash -c 'hostname "$1" && shift && eval "$*"' host "$name" "$@"
}

need_unshare() {
	unshare --uts --pid --fork --mount-proc true 2>/dev/null ||
		skip "unshare --uts --pid is refused here"
}

# ahead [OFFSET] CMD...: CMD with its clock OFFSET (default 3 hours) ahead of
# the file system's.  NO_FAKE_STAT: file times stay as the kernel set them.
ahead() {
	NO_FAKE_STAT=1 faketime -f '+3h' "$@"
}

# settled FILE: its ctime is more than two seconds old.
settled() {
	[ $(($(date +%s) - $(stat -c %Z "$1"))) -ge 3 ]
}

@test "a claim whose owner died on another host is left to its deadline; on its own host mqreap returns it at once" {
	need_unshare
	mkq q
	put q >/dev/null
	# On hostB: a process that has ended owns the claim.  Its pid is
	# past the few that the next hostB (a new PID namespace) will use.
	host hostB 'for i in $(seq 40); do :& done; wait
	    sh -c true & p=$!; wait $p; mqget -t 1h -p $p q' >claim
	[[ "$(cat claim)" == *,o*-4[0-9],* ]]
	# Past the settle time (mq-spool(5)), only the owner's fate counts.
	until_ok settled "$(cat claim)"
	[ -f "$(cat claim)" ]
	# hostA cannot know whether hostB's process lives: only the deadline.
	run -1 host hostA 'mqget q'
	run -0 host hostA 'mqreap -v q'
	[ -f "$(cat claim)" ]
	# hostB's mqreap sees its owner is gone.
	run -0 host hostB 'mqreap -v q'
	[[ "$output" == *"owner dead"* ]]
	[ ! -e "$(cat claim)" ]
	[ "$(count q/new)" -eq 1 ]
}

@test "a claimer whose clock runs ahead takes back no claim, and says why" {
	command -v faketime >/dev/null || skip "no faketime"
	mkq q
	put q >/dev/null
	m=$(mqget -t 1h q)
	# By its clock the deadline passed two hours ago.
	run -1 --separate-stderr ahead mqget q
	[[ "$stderr" == *"$m: skipped: this host's clock is 10"[78]*" s ahead of the file system's"* ]]
	run -0 --separate-stderr ahead mqreap q
	[[ "$stderr" == *"clock is 10"[78]*"ahead"* ]]
	[ -f "$m" ]
	mqack "$m"
	[ "$(count q/tmp)" -eq 0 ]
}

@test "a claimer whose clock agrees takes back an expired claim, silently" {
	mkq q
	put q >/dev/null
	m=$(mqget -t 1h q)
	touch -d '-1 min' "$m"
	# The settle rule: the rename (ctime) must be two seconds old.
	until_ok settled "$m"
	run -0 --separate-stderr mqget q
	[ -z "$stderr" ]
	[[ "$output" == */cur/*,d2,* ]]
	[ "$(count q/tmp)" -eq 0 ]
}

@test "poll is a setting of the queue: a duration from 1ms to 1h" {
	mkq q
	echo 'poll = 250ms' >>q/config
	put q >/dev/null
	run -0 mqget q
	echo 'poll = 0' >>q/config
	run -100 --separate-stderr mqget q
	[[ "$stderr" == *config*poll* ]]
	sed -i 's/^poll = 0$/poll = 2h/' q/config
	run -100 mqget q
}

# host_kill PID: PID from $! after "host ... &": SIGKILL to the host's pid
# 1 (unshare's child) takes every process of the host with it.
host_kill() {
	. "$BATS_TEST_DIRNAME/cluster/gluster.sh"
	gl_host_kill "$1"
	wait "$1" 2>/dev/null || true
}

# hostA_holds Q N: hostA, in the background, runs mqwatch -j N on Q with
# handlers that never end, once it holds N claims; $hostA is its pid.
hostA_holds() {
	host hostA "mqwatch -j $2 -t 10m $1 -- sh -c 'exec sleep 1000'" \
	    3>&- 2>hostA.err &
	hostA=$!
	until_ok holding "$1" "$2"
}

# beating Q: a heartbeat is in Q/hosts/.
beating() {
	[ -n "$(ls "$1/hosts" 2>/dev/null)" ]
}

# holding Q N: Q has N claims.
holding() {
	[ "$(count "$1/cur")" -eq "$2" ]
}

teardown() {
	[ -z "${hostA:-}" ] || host_kill "$hostA" 2>/dev/null || true
}

@test "mqwatch keeps its host's heartbeat in hosts/, named by its claims' tag and saying which are its; it goes when mqwatch stops" {
	need_unshare
	mkq q
	put q >/dev/null
	host hostA "mqwatch -n 1 q -- sh -c 'ls q/hosts >names; cat q/hosts/* >beat; echo \$MQ_PATH >claim'" 3>&-
	tag=$(cat names)
	[[ "$tag" =~ ^[0-9a-f]{12}$ ]]
	grep -qx 'mqhost1' beat
	grep -qx 'name hostA' beat
	grep -qx "claims cur/\*,o$tag-\*" beat
	grep -qx 'every 10000 ms' beat
	[[ "$(cat claim)" == *",o$tag-"* ]]
	# Stopped: gone, so that its host's other claims live by deadlines.
	[ "$(count q/hosts)" -eq 0 ]
}

@test "a host name that is no safe word still gets a safe heartbeat: the tag names the file, the name is made safe" {
	need_unshare
	mkq q
	put q >/dev/null
	# hostname(1) refuses it; the kernel takes it.
	unshare --uts --pid --fork --mount-proc sh -c 'printf "a/b:c d" \
	    >/proc/sys/kernel/hostname && mqwatch -n 1 q -- sh -c \
	    "cat q/hosts/* >beat; ls q/hosts >names"' 3>&-
	[[ "$(cat names)" =~ ^[0-9a-f]{12}$ ]]
	grep -qx "name a-b-c-d" beat
}

@test "a silent host's claim comes back at once to a claimer on another host, a live host's claim never" {
	need_unshare
	mkq q
	echo 'host_timeout = 5s' >>q/config
	put q >/dev/null
	hostA_holds q 1
	m=$(ls q/cur)
	until_ok settled "q/cur/$m"
	# hostA is alive: its heartbeat is fresh, its claim stays.
	run -1 host hostB 'mqget q'
	run -0 host hostB 'mqreap q'
	[ -f "q/cur/$m" ]
	host_kill "$hostA"
	# hostA is gone, its heartbeat left behind; older than host_timeout.
	# (The note of cur/ that hostB's first look left, trusted a second,
	# knew the heartbeat's time before it was made older: it goes.)
	touch -d '-6 seconds' q/hosts/*
	rm q/.cur
	run -0 host hostB 'mqget q'
	[[ "$output" == */cur/"${m%%,*}",d2,* ]]
	[ ! -e "q/cur/$m" ]
}

@test "mqreap on another host returns a silent host's claims, saying why; mqstat lists the host as silent with its claims" {
	need_unshare
	mkq q
	echo 'host_timeout = 5s' >>q/config
	for i in 1 2 3; do put q >/dev/null; done
	hostA_holds q 3
	tag=$(ls q/hosts)
	run -0 mqstat q
	[[ "$output" == *"hostA"*"$tag"*"alive"*" 3"* ]]
	host_kill "$hostA"
	touch -d '-6 seconds' q/hosts/*
	run -0 mqstat -j q
	[[ "$output" == *'"hosts":[{"tag":"'$tag'","name":"hostA","state":"silent","heartbeat_age":6.'*',"claims":3}]'* ]]
	run -0 mqstat -p q
	[[ "$output" == *"mq_host_alive{queue=\"q\",tag=\"$tag\",host=\"hostA\"} 0"* ]]
	[[ "$output" == *"mq_host_claims{queue=\"q\",tag=\"$tag\",host=\"hostA\"} 3"* ]]
	for f in q/cur/*; do until_ok settled "$f"; done
	run -0 host hostB 'mqreap -v q'
	[ "$(grep -c '(host silent)$' <<<"$output")" -eq 3 ]
	[ "$(count q/new)" -eq 3 ]
	[ "$(count q/cur)" -eq 0 ]
}

@test "a claimer whose clock runs ahead takes back no claim of a host that looks silent only by its clock" {
	need_unshare
	command -v faketime >/dev/null || skip "no faketime"
	mkq q
	put q >/dev/null
	hostA_holds q 1
	m=$(ls q/cur)
	host_kill "$hostA"
	# Its heartbeat 10 s old, host_timeout 30 s: alive, but by a clock
	# three hours ahead long silent.  The clock check says no.
	touch -d '-10 seconds' q/hosts/*
	run -1 --separate-stderr ahead mqget q
	[[ "$stderr" == *"$m: skipped: this host's clock is 10"[78]*" s ahead"* ]]
	[ -f "q/cur/$m" ]
}

@test "host_timeout is a duration of 3 s or more, or 0 (never); a bad value is a config error naming the line" {
	mkq q
	put q >/dev/null
	echo 'host_timeout = 0' >>q/config
	run -0 mqget q
	n=$(wc -l <q/config)
	echo 'host_timeout = 2s' >>q/config
	run -100 --separate-stderr mqget q
	[[ "$stderr" == *"config:$((n + 1)): host_timeout: bad value"* ]]
	sed -i 's/^host_timeout = 2s$/host_timeout = soon/' q/config
	run -100 mqget q
}

@test "mqwait keeps its host's heartbeat while it waits and removes it when the message ends" {
	mkq q
	id=$(put q)
	mqwait -t 30s q "$id" >out 3>&- &
	w=$!
	until_ok beating q
	grep -qx 'mqhost1' q/hosts/*
	mqack "$(mqget q)"
	wait "$w"
	[ "$(cat out)" = "$id acknowledged" ]
	[ "$(count q/hosts)" -eq 0 ]
}
