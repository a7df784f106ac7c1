#!/usr/bin/env bats
# Coalescing by key (issue 10): mqput -K, QUEUE/keys/, the claim letting
# go, mqreap repairing what a crash left.

load test_helper

teardown() {
	if [ -n "${MNT:-}" ] && mountpoint -q "$MNT"; then
		umount "$MNT"
	fi
}

# waiting Q KEY: how many messages with KEY wait in Q/new/.
waiting() {
	local n=0 f
	for f in "$1"/new/*,k"$2"; do
		[ -e "$f" ] && n=$((n + 1))
	done
	echo "$n"
}

@test "a second put with a waiting key adds nothing and prints the first id" {
	mkq q
	id=$(echo first | mqput -K user-42 q)
	run -0 --separate-stderr mqput -K user-42 q <<<second
	[ "$output" = "$id" ]
	[ -z "$stderr" ]
	[ "$(count q/new)" = 1 ]
	[ "$(cat q/new/"$id",kuser-42)" = first ]
	[ "$(count q/tmp)" = 0 ]
	# ls shows the waiting keys, cat where each one's message is.
	[ "$(ls q/keys)" = user-42 ]
	[ "$(cat q/keys/user-42)" = "new/$id,kuser-42" ]
}

@test "other keys and unkeyed puts are not coalesced" {
	mkq q
	echo a | mqput -K a q >/dev/null
	echo b | mqput -K b q >/dev/null
	put q >/dev/null
	put q >/dev/null
	[ "$(count q/new)" = 4 ]
	[ "$(ls q/keys | tr '\n' ' ')" = "a b " ]
}

@test "a claim lets go of the key: the next put is a new message" {
	mkq q
	id1=$(echo one | mqput -K k q)
	c=$(mqget q)
	[[ $c == "q/cur/$id1,d1,kk,c"* ]]
	[ "$(count q/keys)" = 0 ]
	id2=$(echo two | mqput -K k q)
	[ "$id2" != "$id1" ]
	[ "$(waiting q k)" = 1 ]
	mqack "$c"
	[ "$(mqget -b q)" = two ]
}

@test "coalesce = claimed: a key holds while its message is claimed" {
	mkq q
	echo 'coalesce = claimed' >>q/config
	id1=$(echo one | mqput -K k q)
	c=$(mqget -t 1h q)
	[ "$(cat q/keys/k)" = "cur/${c#q/cur/}" ]
	run -0 mqput -K k q <<<two
	[ "$output" = "$id1" ]
	[ "$(count q/new)" = 0 ]
	# Acknowledged: the key is stale, the next put makes a message.
	mqack "$c"
	id3=$(echo three | mqput -K k q)
	[ "$id3" != "$id1" ]
	[ "$(waiting q k)" = 1 ]
}

@test "a key whose message expired (TTL) does not block" {
	mkq q
	id1=$(echo one | mqput -e 1s -K k q)
	faketime -f '+1h' mqreap q
	[ "$(count q/new)" = 0 ]
	id2=$(echo two | mqput -K k q)
	[ "$id2" != "$id1" ]
	[ "$(cat "q/keys/k")" = "new/$id2,kk" ]
}

@test "bad keys and keys on many messages are usage errors" {
	mkq q
	run -2 mqput -K '../x' q <<<x
	run -2 mqput -K '.hidden' q <<<x
	run -2 mqput -K '' q <<<x
	run -2 mqput -K "$(printf 'k%.0s' $(seq 70))" q <<<x
	run -2 mqput -l -K k q <<<x
	echo a >a
	echo b >b
	run -2 mqput -K k q a b
	[ "$(count q/new)" = 0 ]
}

@test "a full queue does not refuse a put that coalesces" {
	mkq q
	echo 'max_length = 1' >>q/config
	id=$(echo one | mqput -K k q)
	run -0 mqput -K k q <<<again
	[ "$output" = "$id" ]
	run -5 mqput -K other q <<<x
	[ ! -e q/keys/other ]
}

@test "N concurrent puts of one key: exactly one message, every put gets its id" {
	mkq q
	pids=()
	for i in $(seq 1 40); do
		(rc=0; echo "m$i" | mqput -K hot q >"id$i" || rc=$?
		    echo "$rc" >"rc$i") 3>&- &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p"; done
	[ "$(count q/new)" = 1 ]
	[ "$(count q/tmp)" = 0 ]
	one=$(cat id1)
	for i in $(seq 1 40); do
		[ "$(cat "rc$i")" = 0 ]
		[ "$(cat "id$i")" = "$one" ]
	done
	[ -e "q/new/$one,khot" ]
	# Hidden names made on the way are all gone.
	[ "$(ls -A q/keys)" = hot ]
}

@test "concurrent puts and claims of one key: never two waiting" {
	mkq q
	pids=()
	for i in $(seq 1 30); do
		(echo "m$i" | mqput -K hot q >/dev/null) 3>&- &
		pids+=($!)
		if [ $((i % 3)) = 0 ]; then
			(mqget q >/dev/null || :) 3>&- &
			pids+=($!)
		fi
	done
	for p in "${pids[@]}"; do wait "$p"; done
	[ "$(waiting q hot)" -le 1 ]
	[ "$(count q/tmp)" = 0 ]
	# Whatever is waiting, the key names it.
	if [ "$(waiting q hot)" = 1 ]; then
		[ -e "q/$(cat q/keys/hot)" ]
	fi
}

# kill_put_at SYSCALL WHEN: SIGKILL a keyed put there, then check that the
# key blocks nothing: the next put with it gives exactly one message
# waiting, whatever the killed put had done.
kill_put_at() {
	rm -rf q
	mkq q
	run strace -f -o /dev/null -e inject="$1":signal=KILL:when="$2" \
		mqput -K k q <<<killed
	[ "$status" = 137 ]
	run -0 mqput -K k q <<<next
	[ "$(waiting q k)" = 1 ]
	[ -e "q/new/$output,kk" ]
	[ "$(cat q/keys/k)" = "new/$output,kk" ]
}

@test "SIGKILL of a keyed put at each of its syscalls leaves no blocking key" {
	command -v strace >/dev/null || skip "no strace"
	# The queue (keys/ made), the message's file, new/.
	for n in 1 2 3; do kill_put_at fsync "$n"; done
	kill_put_at flock 1
	kill_put_at pwrite64 1
	kill_put_at ftruncate 1
	kill_put_at linkat 1
	kill_put_at unlinkat 1
	kill_put_at renameat2 1
	kill_put_at close 4
}

@test "SIGKILL of a claimer before it lets go: the key is stale, mqreap removes it" {
	command -v strace >/dev/null || skip "no strace"
	mkq q
	id=$(echo one | mqput -K k q)
	# The claim's rename is done; the key's lock is where it lets go.
	run -137 strace -f -o /dev/null -e inject=flock:signal=KILL:when=1 \
		mqget q
	[ "$(count q/new)" = 0 ]
	[ "$(cat q/keys/k)" = "new/$id,kk" ]
	run -0 mqreap -v q
	[ "$output" = "unkey q/keys/k (stale: its message is gone)" ]
	[ "$(count q/keys)" = 0 ]
	id2=$(echo two | mqput -K k q)
	[ "$id2" != "$id" ]
}

@test "a stale key is taken over by the next put without mqreap" {
	command -v strace >/dev/null || skip "no strace"
	mkq q
	echo one | mqput -K k q >/dev/null
	run -137 strace -f -o /dev/null -e inject=flock:signal=KILL:when=1 \
		mqget q
	id2=$(echo two | mqput -K k q)
	[ "$(cat q/keys/k)" = "new/$id2,kk" ]
	[ "$(waiting q k)" = 1 ]
}

@test "mqreap removes what a put killed before linking its key left" {
	command -v strace >/dev/null || skip "no strace"
	mkq q
	run -137 strace -f -o /dev/null -e inject=linkat:signal=KILL:when=1 \
		mqput -K k q <<<x
	[ "$(ls -A q/keys | wc -l)" = 1 ]
	[[ $(ls -A q/keys) == .k.* ]]
	# Not while it may be a put at work (two seconds, by its ctime).
	run -0 faketime -f '+1m' mqreap -v q
	[[ $output == *"remove q/keys/.k."*" (left by a put killed)"* ]]
	[ "$(ls -A q/keys | wc -l)" = 0 ]
}

@test "a keyed put on a file system out of inodes: a whole message and its key, or nothing" {
	mkdir -p small
	mount -t tmpfs -o size=1m,nr_inodes=64 tmpfs small 2>/dev/null ||
		skip "cannot mount tmpfs"
	MNT=$BATS_TEST_TMPDIR/small
	mkq small/q
	# Use up every inode, then give back one at a time.
	i=0
	while touch "small/f$i" 2>/dev/null; do i=$((i + 1)); done
	for free in 1 2 3 4; do
		rm "small/f$((i - free))"
		run mqput -K k small/q <<<"try $free"
		echo "# free $free: status $status" >&3
		if [ "$status" = 0 ]; then
			[ "$(cat "small/q/new/$output,kk")" = "try $free" ]
			[ "$(cat small/q/keys/k)" = "new/$output,kk" ]
			break
		fi
		[ "$status" = 111 ]
		[ "$(count small/q/new)" = 0 ]
		[ "$(count small/q/tmp)" = 0 ]
		[ -z "$(ls -A small/q/keys 2>/dev/null)" ]
	done
	[ "$status" = 0 ]
	[ "$free" -ge 2 ]
}
