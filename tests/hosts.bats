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
