#!/usr/bin/env bats
# A crashed or frozen host's claims go to the others when its heartbeat
# ages past host_timeout, on the real shared file system of the cluster
# tests (tests/cluster/fs.sh: GlusterFS by default, CLUSTER_FS picks;
# make check runs it on both),
# mounted twice, one mount per namespaced host (gl_host); and the volume's
# bricks killed and restarted under a worker pool (GlusterFS only).  What
# each test prints on fd 3 are its figures.  LIVENESS_ROUNDS (make
# check-cluster: 3) repeats the crash and the brick faults.

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

eval "helper_$(declare -f setup)"
setup() {
	helper_setup
	. "$MQ_ROOT/tests/cluster/fs.sh"
	hosts=()
}

# Whatever a failed test left running goes with its hosts.
teardown() {
	local h
	for h in "${hosts[@]}"; do
		gl_host_kill "$h" 2>/dev/null || true
	done
}

rounds=${LIVENESS_ROUNDS:-1}

# newq NAME: a queue on the volume, host_timeout 5 s, poll 100 ms; sets qa
# and qb, its path on hostA's mount and on hostB's.
newq() {
	qa=$GL/m1/$1 qb=$GL/m2/$1
	mqput -c -l "$qa" </dev/null
	printf 'host_timeout = 5s\npoll = 100ms\n' >>"$qa/config"
}

lines() {
	cat "$@" 2>/dev/null | wc -l
}

# at_least N FILE...: the files hold N lines or more.
at_least() {
	local n=$1
	shift
	[ "$(lines "$@")" -ge "$n" ]
}

# beat_of Q HOST: the mtime of HOST's heartbeat in Q/hosts/, in ms.
beat_of() {
	stat -c %.3Y "$(grep -l "^name $2\$" "$1"/hosts/*)" | tr -d .
}

# hostA_holds Q N TIMEOUT: hostA (in the background, in $hostA) runs
# mqwatch -j N on Q, each handler noting its claim in a.claims and then
# never ending; returns once all N are held.
hostA_holds() {
	gl_host hostA "mqwatch -j $2 -t $3 $1 -- sh -c 'echo \$MQ_PATH >>$PWD/a.claims; exec sleep 1000'" \
	    2>>a.err 3>&- &
	hostA=$!
	hosts+=("$hostA")
	gl_wait 60 at_least "$2" a.claims
}

# crash_round I: hostA holds 20 claims of 10 minutes and is killed whole;
# hostB's mqwatch, busy with two claims of its own that outlast
# host_timeout, does all 22.
crash_round() {
	local i=$1 kill_ms beat_ms first last id m
	newq crash$i
	rm -f a.claims a.err b.*
	for m in $(seq 20); do echo "a$m"; done | mqput -l -q "$qa"
	hostA_holds "$qa" 20 10m
	echo b1 | mqput -q "$qa"
	echo b2 | mqput -q "$qa"
	# hostB: a's are quick, b's take longer than host_timeout; each
	# handler notes when it began, its message and its delivery.
	gl_host hostB "mqwatch -j 4 -n 22 -t 1m $qb -- sh -c 'b=\$(cat)
	    echo \"\$(date +%s%3N) \$b \$MQ_DELIVERIES\" >>$PWD/b.began
	    case \$b in b*) sleep 8 ;; esac'" 2>b.err 3>&- &
	b=$!
	hosts+=("$b")
	gl_wait 30 at_least 2 b.began
	beat_ms=$(beat_of "$qa" hostA)
	gl_host_kill "$hostA"
	kill_ms=$(date +%s%3N)
	gl_wait 120 sh -c "! kill -0 $b"
	wait "$b"
	first=$(awk '$2 ~ /^a/ { print $1 }' b.began | sort -n | head -n 1)
	last=$(awk '$2 ~ /^a/ { print $1 }' b.began | sort -n | tail -n 1)
	echo "# round $i: hostA killed $((kill_ms - beat_ms)) ms after its last heartbeat; hostB began its 20 from $((first - kill_ms)) to $((last - kill_ms)) ms after the kill (host_timeout 5000 ms)" >&3
	# Not before hostA fell silent (the file server's clock is ours).
	[ "$first" -ge $((beat_ms + 5000 - 100)) ]
	# 0 lost, each acknowledged once; a's at their second delivery,
	# hostB's own never taken from it.
	[ "$(ls "$qa/done" | sed 's/,.*//' | sort -u | wc -l)" -eq 22 ]
	[ "$(ls "$qa/done" | wc -l)" -eq 22 ]
	[ "$(awk '$2 ~ /^a/ && $3 == 2' b.began | wc -l)" -eq 20 ]
	[ "$(awk '$2 ~ /^b/ && $3 == 1' b.began | wc -l)" -eq 2 ]
	[ "$(lines b.began)" -eq 22 ]
	[ -z "$(ls "$qa/new" "$qa/cur" | grep -v : | grep .)" ]
	[ ! -s b.err ]
	# hostA's acknowledgements, replayed late: all stale.
	while read -r m; do
		run -3 mqack "$m"
	done <a.claims
	[ "$(ls "$qa/done" | wc -l)" -eq 22 ]
}

@test "a host holding 20 claims of 10 minutes is killed whole: the other host does them all after host_timeout, 0 lost, its own claims never taken, the late acks stale" {
	for i in $(seq "$rounds"); do
		crash_round "$i"
	done
}

@test "a host frozen longer than host_timeout: its claims are redone by the other host, its acks refused when it thaws, nothing lost or acknowledged twice" {
	local pid
	newq frozen
	for m in $(seq 5); do echo "f$m"; done | mqput -l -q "$qa"
	# hostA's handlers wait for the word "go" (local file), then succeed.
	gl_host hostA "mqwatch -j 5 -n 5 -t 10m $qa -- sh -c 'echo \$MQ_PATH >>$PWD/a.claims
	    until [ -e $PWD/go ]; do sleep 0.1; done'" 2>a.err 3>&- &
	hostA=$!
	hosts+=("$hostA")
	gl_wait 60 at_least 5 a.claims
	pid=$(pgrep -f -x "mqwatch -j 5 -n 5 -t 10m $qa -- .*")
	kill -STOP "$pid"
	run -0 gl_host hostB "mqwatch -j 5 -n 5 -t 1m $qb -- true"
	[ "$(ls "$qa/done" | grep -c ',d2,')" -eq 5 ]
	touch go
	kill -CONT "$pid"
	gl_wait 60 sh -c "! kill -0 $hostA"
	wait "$hostA"
	cat a.err
	[ "$(grep -c 'claim moved on' a.err)" -eq 5 ]
	[ "$(ls "$qa/done" | wc -l)" -eq 5 ]
	[ -z "$(ls "$qa/new" "$qa/cur" | grep -v : | grep .)" ]
}

@test "a host whose clock runs 10 s ahead or behind takes back nothing early" {
	local ft ahead behind m
	ft=$(echo /usr/lib/*/faketime/libfaketime.so.1)
	[ -f "$ft" ] || skip "no libfaketime"
	[ -z "${MQ_BIN:-}" ] ||
	    skip "libfaketime and AddressSanitizer do not mix (tests/asan.sh)"
	newq skew
	echo x | mqput -q "$qa"
	hostA_holds "$qa" 1 10m
	m=$(cat a.claims)
	# hostA alive, its heartbeat at most 1.7 s old: 10 s ahead, hostB
	# would read it silent; 10 s behind, in the future.
	ahead="LD_PRELOAD=$ft FAKETIME=+10s NO_FAKE_STAT=1"
	behind="LD_PRELOAD=$ft FAKETIME=-10s NO_FAKE_STAT=1"
	run -1 --separate-stderr gl_host hostB "$ahead mqget $qb"
	[[ "$stderr" == *"skipped: this host's clock is "*" s ahead of the file system's"* ]]
	run -0 gl_host hostB "$ahead mqreap $qb"
	run -1 gl_host hostB "$behind mqget $qb"
	run -0 gl_host hostB "$behind mqreap $qb"
	[ -f "$m" ]
	[ "$(count "$qa/new")" -eq 0 ]
}

# brick_fault WHICH: kill the volume's bricks (b1, or both) and start them
# again (gluster volume start VOL force) once hostA's mqwatch said that the
# queue does not answer, or after 4 s.
brick_fault() {
	local GL_VOL= which=$1 p
	. "$GL/gl.env"
	# glusterd answers one command at a time, other tests' too: retried.
	gl_wait 60 bricks "$GL_VOL" "$which"
	p=$(bricks "$GL_VOL" "$which")
	kill -KILL $p
	# Down for 4 s, and until glusterd saw them go: a start that comes
	# sooner finds them "already running" and starts nothing.
	sleep 4 # the outage's length, not a synchronisation
	gl_wait 60 bricks_gone "$GL_VOL" "$which"
	[ "$which" != both ] ||
	    gl_wait 30 grep -q 'not connected (retrying)' a.err
	gl_wait 60 gluster --mode=script volume start "$GL_VOL" force
	gl_wait 60 bricks_up "$GL_VOL"
	[ "$which" != both ] || gl_wait 60 grep -q 'answers again' a.err
}

# bricks VOL WHICH: the pids of VOL's bricks b1, or both, that are up.
bricks() {
	local st
	st=$(gluster volume status "$1") || return 2
	echo "$st" | awk -v w="$2" '/^Brick/ &&
	    (w == "both" || $2 ~ "/" w "$") && $(NF-1) == "Y" { print $NF; n++ }
	    END { exit n == 0 }'
}

bricks_gone() {
	bricks "$@" >/dev/null
	[ $? -eq 1 ]
}

bricks_up() {
	gluster volume status "$1" | awk '/^Brick/ { n++; if ($(NF-1) == "Y") y++ }
	    END { exit n == 0 || y != n }'
}

@test "GlusterFS bricks killed and restarted under a running mqwatch pool, one then both: it waits, says so once, goes on by itself; nothing lost" {
	[ "$CLUSTER_FS" = glusterfs ] || skip "bricks are GlusterFS's"
	local i n=0 pid
	newq bricks
	gl_host hostA "mqwatch -j 4 -t 1m $qa -- sh -c 'cat >>$PWD/got'" \
	    2>a.err 3>&- &
	hostA=$!
	hosts+=("$hostA")
	for i in $(seq "$rounds"); do
		for w in b1 both; do
			seq $((n + 1)) $((n + 10)) | mqput -l -q "$qb"
			n=$((n + 10))
			gl_wait 60 at_least "$n" got
			brick_fault "$w"
			# Put once the storage is back (hostB's client too):
			# hostA must go on alone.
			gl_wait 60 mqstat "$qb"
			seq $((n + 1)) $((n + 10)) | mqput -l -q "$qb"
			n=$((n + 10))
			gl_wait 60 at_least "$n" got
		done
	done
	# What was written while a brick was away is listed by the volume
	# only once the self-heal daemon has copied it (seen: 20 of 40 in
	# done/ on every mount for a second after the last handler ran, 40
	# entries pending heal).  Not lost: listed once healed.  (Not a wait
	# for "no entry pending heal": after the file's other tests that
	# never came within 120 s.)
	gl_wait 60 files_in "$qa/done" "$n"
	kill -0 "$hostA"
	pid=$(pgrep -f -x "mqwatch -j 4 -t 1m $qa -- .*")
	kill -TERM "$pid"
	wait "$hostA"
	cat a.err
	echo "# $(grep -c retrying a.err) faults said, $(grep -c 'answers again' a.err) recoveries, $n messages" >&3
	[ "$(sort -un got | wc -l)" -eq "$n" ]
	[ "$(ls "$qa/done" | wc -l)" -eq "$n" ]
	# Said once per outage of both bricks, never per retry.
	[ "$(grep -c retrying a.err)" -eq "$rounds" ]
	[ "$(grep -c 'answers again' a.err)" -eq "$rounds" ]
	[ "$(grep -vc 'retrying\|answers again' a.err)" -eq 0 ]
}
