#!/usr/bin/env bats
# Many machines on one queue: a shared file system on this machine,
# mounted twice, each mount used by its own "host" (own host name, PID and
# mount namespaces: gl_host).  CLUSTER_FS picks the file system
# (tests/cluster/fs.sh): glusterfs (the default), a replica-2 GlusterFS
# volume through FUSE (Debian's glusterfs-server), or cephfs, a one-node
# Ceph cluster with a CephFS mounted by two ceph-fuse clients (Debian's
# ceph packages); make check and make check-cluster run this file, and
# every .bats file whose setup calls fs_up, once for each.  The harness is
# tests/cluster/; `make check-cluster` runs the long version (CLUSTER_N=500
# messages per host).  Skips, saying why, where this machine cannot run the
# file system.  A test here sources tests/cluster/fs.sh and uses $GL/m1 and
# $GL/m2, gl_host, fs_mount and fs_crash: it then runs on every file system.

load test_helper

setup_file() {
	. "$BATS_TEST_DIRNAME/cluster/fs.sh"
	local why
	why=$(fs_why_not)
	[ -z "$why" ] || skip "$CLUSTER_FS cannot run here: $why"
	export GL="$BATS_FILE_TMPDIR/gl"
	fs_up "$GL" || {
		fs_down "$GL"
		skip "$CLUSTER_FS could not be set up (see $GL)"
	}
	export CLUSTER_FS
}

teardown_file() {
	. "$BATS_TEST_DIRNAME/cluster/fs.sh"
	[ -z "${GL:-}" ] || fs_down "$GL"
}

n=${CLUSTER_N:-60}

@test "two hosts, each with a producer, mqget/mqack and mqwatch -j 2: none lost, none acknowledged twice, no error" {
	run --separate-stderr "$MQ_ROOT/tests/cluster/run.sh" "$GL" out "$n"
	echo "# $CLUSTER_FS steady, $n per host: $output" >&3
	echo "$stderr"
	[ "$status" -eq 0 ]
	[[ "$output" == "attempted $((2 * n)) acked $((2 * n)) lost 0 duplicated 0 left 0 errors 0 recovered 0 unexpected 0" ]]
}

@test "a host crashes mid-run: its claims come back to the other host after their timeout, none lost" {
	run --separate-stderr "$MQ_ROOT/tests/cluster/run.sh" "$GL" out "$n" crash
	echo "# $CLUSTER_FS crash, $n per host: $output" >&3
	echo "$stderr"
	[ "$status" -eq 0 ]
	# At least the claim hostB held came back and was done by hostA.
	[[ "$output" =~ lost\ 0\ duplicated\ 0\ left\ 0\ errors\ 0\ recovered\ [1-9] ]]
}

@test "mqget -w on one host gets a message put on the other, by polling at the queue's interval" {
	. "$MQ_ROOT/tests/cluster/fs.sh"
	mqput -c -l "$GL/m1/push" </dev/null
	echo 'poll = 100ms' >>"$GL/m1/push/config"
	mkfifo started
	gl_host hostA "echo >started; mqget -w 30s $GL/m1/push" >got 3>&- &
	read -r <started
	id=$(echo hello | gl_host hostB "mqput $GL/m2/push")
	wait $!
	[[ "$(cat got)" == "$GL/m1/push/cur/$id,"* ]]
	[ "$(cat "$(cat got)")" = hello ]
}

@test "mqwait on one host learns of an ack with a result made on the other, by polling" {
	. "$MQ_ROOT/tests/cluster/fs.sh"
	mqput -c -l "$GL/m1/asks" </dev/null
	echo 'poll = 100ms' >>"$GL/m1/asks/config"
	id=$(echo question | gl_host hostA "mqput $GL/m1/asks")
	# The waiter on hostA is registered (a file there: no FIFO across
	# hosts) before hostB answers.
	gl_host hostA "mqwait -t 60s $GL/m1/asks $id" >got 3>&- &
	waiter=$!
	until_ok test -e "$GL/m2/asks/ends/wait/$id"
	gl_host hostB "m=\$(mqget $GL/m2/asks) && echo answer | mqack -R - \"\$m\""
	wait "$waiter"
	[ "$(cat got)" = "$id acknowledged" ]
	run -0 gl_host hostB "mqwait -r $GL/m2/asks $id"
	[ "$output" = answer ]
}

# waiting_on DIR N: at least N processes hold DIR/ends/wait/ open (a waiter
# on a network file system holds that directory, not a FIFO: mqput -W has
# put or coalesced and is in its wait).
waiting_on() {
	local pids
	pids=$(pgrep -d ' ' -x 'mqput|mqwait') || return 1
	[ "$(cd /proc && ls -l $(printf '%s/fd ' $pids) 2>/dev/null |
	    grep -c " $1/ends/wait\$")" -ge "$2" ]
}

@test "mqput -K -W from both hosts: one message, the worker on one host answers, every requester gets the result" {
	. "$MQ_ROOT/tests/cluster/fs.sh"
	local i h pids=()
	mqput -c -l "$GL/m1/seg" </dev/null
	echo 'poll = 100ms' >>"$GL/m1/seg/config"
	for i in 1 2 3; do
		for h in 1 2; do
			gl_host "host$h" "echo 'segment 17' |
			    mqput -K seg17 -W 120s $GL/m$h/seg" >"got.$h.$i" 3>&- &
			pids+=($!)
		done
	done
	# All six coalesced into one message and in their wait.
	until_ok waiting_on "$GL/m1/seg" 3
	until_ok waiting_on "$GL/m2/seg" 3
	[ "$(count "$GL/m1/seg/new")" = 1 ]
	gl_host host2 "m=\$(mqget $GL/m2/seg) && echo 'fetched 17' |
	    mqack -R - \"\$m\""
	for i in "${pids[@]}"; do
		wait "$i"
	done
	for i in got.*; do
		[ "$(cat "$i")" = 'fetched 17' ] || { echo "$i: $(cat "$i")"; false; }
	done
	[ "$(count "$GL/m1/seg/new")" = 0 ] && [ "$(count "$GL/m1/seg/cur")" = 0 ]
}

@test "a host whose clock runs ahead of the volume's takes back no claim of the other host, and says why" {
	# libfaketime itself: the faketime wrapper names a semaphore after its
	# pid, and pids repeat across PID namespaces.
	ft=$(echo /usr/lib/*/faketime/libfaketime.so.1)
	[ -f "$ft" ] || skip "no libfaketime"
	# Sanitized tools hang under libfaketime (tests/asan.sh swaps the
	# plain build in for faketime, which LD_PRELOAD here bypasses).
	[ -z "${MQ_BIN:-}" ] ||
	    skip "libfaketime and AddressSanitizer do not mix (tests/asan.sh)"
	. "$MQ_ROOT/tests/cluster/fs.sh"
	mqput -c -l "$GL/m1/skew" </dev/null
	echo hello | mqput -q "$GL/m1/skew"
	m=$(gl_host hostA "mqget -t 1h $GL/m1/skew")
	[ -f "$m" ]
	# hostB's clock is 3 h ahead: by it, hostA's deadline passed long ago.
	ahead="LD_PRELOAD=$ft FAKETIME=+3h NO_FAKE_STAT=1"
	run -1 --separate-stderr gl_host hostB "$ahead mqget $GL/m2/skew"
	echo "$stderr"
	[[ "$stderr" == *"skipped: this host's clock is 10"[78]*" s ahead of the file system's"* ]]
	run -0 --separate-stderr gl_host hostB "$ahead mqreap $GL/m2/skew"
	[[ "$stderr" == *"clock is 10"[78]*"ahead"* ]]
	[ -f "$m" ]
	gl_host hostA "mqack $m"
}

@test "a claim whose owner died on one host is left to its deadline by the other; its own host's mqreap returns it once settled (on CephFS too: a ctime ahead counts as settled)" {
	. "$MQ_ROOT/tests/cluster/fs.sh"
	mqput -c -l "$GL/m1/own" </dev/null
	echo hello | mqput -q "$GL/m1/own"
	# On hostB: a process that has ended owns the claim; its pid is past
	# the few that the next hostB (a new PID namespace) will use.
	m=$(gl_host hostB 'for i in $(seq 40); do :& done; wait
	    sh -c true & p=$!; wait $p; mqget -t 1h -p $p '"$GL/m2/own")
	[[ "$m" == *,o*-4[0-9],* ]]
	c=$GL/m1/own/cur/${m##*/}
	if [ "$CLUSTER_FS" = cephfs ]; then
		# CephFS raises a file's ctime to an mtime set ahead of it: a
		# ctime ahead of the clock counts as settled (mq-spool(5)), so
		# the owner's host takes it back at once; the other host waits
		# for its deadline.
		[ "$(stat -c %Z "$c")" -ge "$(stat -c %Y "$c")" ]
		run -1 gl_host hostA "mqget $GL/m1/own"
		[ -f "$c" ]
		run -0 gl_host hostB "mqreap -v $GL/m2/own"
		[[ "$output" == *"owner dead"* ]]
		until_ok test ! -e "$c"
		[ "$(count "$GL/m1/own/new")" -eq 1 ]
		return
	fi
	# Past the settle time, only the owner's fate counts.
	until_ok settled "$c"
	run -1 gl_host hostA "mqget $GL/m1/own"
	run -0 gl_host hostA "mqreap $GL/m1/own"
	[ -f "$c" ]
	run -0 gl_host hostB "mqreap -v $GL/m2/own"
	[[ "$output" == *"owner dead"* ]]
	# hostA's mount may cache the old entry for a moment.
	until_ok test ! -e "$c"
	[ "$(count "$GL/m1/own/new")" -eq 1 ]
}

# settled FILE: its ctime is more than two seconds old.
settled() {
	[ $(($(date +%s) - $(stat -c %Z "$1"))) -ge 3 ]
}

@test "ordered groups across two hosts: the Like counter exact, in put order, never two updates of an entity at once" {
	. "$MQ_ROOT/tests/cluster/fs.sh"
	mqput -c -l "$GL/m1/like" </dev/null
	echo 'poll = 100ms' >>"$GL/m1/like/config"
	# The counters and logs on local disk: the application's store.
	mkdir counters logs
	for e in 0 1 2 3 4; do echo 0 >"counters/e$e"; : >"logs/e$e"; done
	pids=
	for h in 1 2; do
		gl_host "host$h" 'for i in $(seq 40); do
		    e=e$(((i * 3 + '$h') % 5))
		    echo "$e '$h' $i" | mqput -q -G "$e" '"$GL/m$h/like"' || exit 1
		done' 3>&- &
		pids="$pids $!"
		gl_host "host$h" "mqwatch -i 5s -j 2 $GL/m$h/like -- $MQ_ROOT/tests/like.sh" 3>&- &
		pids="$pids $!"
	done
	wait $pids
	for e in 0 1 2 3 4; do like_check "e$e" 16; done
	[ "$(count "$GL/m1/like/new")" = 0 ]
	[ "$(count "$GL/m1/like/cur")" = 0 ]
}

@test "a group held by a claim on another host resumes with the same message at its deadline" {
	. "$MQ_ROOT/tests/cluster/fs.sh"
	mqput -c -l "$GL/m1/gdl" </dev/null
	echo 'poll = 100ms' >>"$GL/m1/gdl/config"
	echo one | mqput -q -G g "$GL/m1/gdl"
	echo two | mqput -q -G g "$GL/m1/gdl"
	# hostB claims the head and is gone: only its deadline frees it.
	m=$(gl_host hostB "mqget -t 3s $GL/m2/gdl")
	run -1 gl_host hostA "mqget $GL/m1/gdl"
	c=$(gl_host hostA "mqget -w 30s $GL/m1/gdl")
	[ "$(cat "$c")" = one ]
	[[ $c == *,d2,gg,c* ]]
	gl_host hostA "mqack $c"
	[ "$(gl_host hostB "mqget -b -w 10s $GL/m2/gdl")" = two ]
}
