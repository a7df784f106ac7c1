#!/usr/bin/env bats
# Publish-subscribe (issue 10): mqpub, its topics and their subscribers.

load test_helper

teardown() {
	if [ -n "${MNT:-}" ] && mountpoint -q "$MNT"; then
		umount "$MNT"
	fi
	if [ -n "${W:-}" ]; then
		rm -rf "$W"
	fi
}

# topic T Q...: queues Q... subscribed to a new topic T.
topic() {
	local t=$1 q
	shift
	for q in "$@"; do mkq "$q"; done
	mqpub -a -c "$t" "$@"
}

# copies Q ID: how many copies of publication ID Q holds, in any state.
copies() {
	local n=0 f
	for f in "$1"/{tmp,new,cur,done,dead}/"$2".*; do
		[ -e "$f" ] || continue
		case $f in "$1"/tmp/*) continue ;; esac
		n=$((n + 1))
	done
	echo "$n"
}

@test "subscribing and unsubscribing are one command each, visible with ls" {
	topic news a b
	[ "$(ls news/subscribers | tr '\n' ' ')" = "a b " ]
	[ "$(readlink news/subscribers/a)" = "$BATS_TEST_TMPDIR/a" ]
	# Again: no change.  A name taken by another queue: refused.
	run -0 mqpub -a news a
	mkdir other && mkq other/a
	run -100 --separate-stderr mqpub -a news other/a
	[ "$stderr" = "mqpub: news/subscribers/a: subscribes another queue" ]
	run -0 mqpub -d news b
	[ "$(ls news/subscribers)" = a ]
	run -100 mqpub -d news b
	run -100 mqpub -a news nosuchqueue
	run -100 --separate-stderr mqpub -a nosuchtopic a
	[ "$stderr" = "mqpub: nosuchtopic: no such topic (mqpub -c creates one)" ]
}

@test "a publication reaches every subscriber, as an ordinary message" {
	topic news a b c
	run -0 --separate-stderr mqpub news <<<hello
	[ -z "$stderr" ]
	id=$output
	for q in a b c; do
		[ "$(cat "$q/new/$id.$q")" = hello ]
	done
	# Stored once in the topic; each subscriber has a file of its own
	# (no hard link: their mtimes, the queues' times, stay apart).
	[ "$(cat "news/pub/$id/body")" = hello ]
	[ "$(stat -c %h "a/new/$id.a")" = 1 ]
	[ "$(stat -c %i "a/new/$id.a")" != "$(stat -c %i "b/new/$id.b")" ]
	touch -d '+1 hour' "a/new/$id.a"
	[ "$(stat -c %Y "b/new/$id.b")" -lt "$(stat -c %Y "a/new/$id.a")" ]
	# The existing tools, unchanged: claims, acks, independent per queue.
	[ "$(mqget -b b)" = hello ]
	run -1 mqget a
	[ "$(count c/new)" = 1 ]
}

@test "mqwatch serves a subscriber as any queue" {
	topic news a b
	mqwatch -n 2 a -- sh -c 'cat >>handled' 3>&- &
	pid=$!
	until_ok has_fd "$pid" inotify
	id1=$(mqpub news <<<one)
	id2=$(mqpub news <<<two)
	wait "$pid"
	[ "$(cat handled)" = "$(printf 'one\ntwo')" ]
	[ -e "a/done/$id1.a,d1" ] && [ -e "a/done/$id2.a,d1" ]
	[ "$(count b/new)" = 2 ]
}

@test "a subscriber's own settings apply: TTL, then mqreap" {
	topic news a b
	echo 'ttl = 1m' >>a/config
	id=$(mqpub news <<<x)
	[[ $(ls a/new) == "$id.a,t"* ]]
	[ "$(ls b/new)" = "$id.b" ]
	faketime -f '+1h' mqreap a b
	[ "$(count a/new)" = 0 ]
	[ "$(count b/new)" = 1 ]
}

@test "a queue subscribed later gets only later messages, even on a retry" {
	topic news a
	id1=$(mqpub news <<<one)
	mkq late
	mqpub -a news late
	id2=$(mqpub news <<<two)
	run -0 mqpub -i "$id1" news </dev/null
	[ "$(copies late "$id1")" = 0 ]
	[ "$(copies late "$id2")" = 1 ]
	[ "$(copies a "$id1")" = 1 ]
}

@test "unsubscribing leaves the queue and what it holds alone" {
	topic news a b
	id1=$(mqpub news <<<one)
	mqpub -d news b
	id2=$(mqpub news <<<two)
	[ "$(copies b "$id1")" = 1 ]
	[ "$(copies b "$id2")" = 0 ]
	[ "$(copies a "$id2")" = 1 ]
}

@test "a full subscriber misses it, the others get it: exit 5, a retry completes" {
	topic news a b c
	echo 'max_length = 1' >>b/config
	put b >/dev/null
	run -5 --separate-stderr mqpub news <<<x
	id=$output
	[ "${stderr_lines[0]}" = "mqpub: news/subscribers/b: $BATS_TEST_TMPDIR/b: full (max_length): not delivered" ]
	[ "${stderr_lines[1]}" = "mqpub: news: 1 of 3 subscribers missed $id; \"mqpub -i $id news\" retries them" ]
	[ "$(copies a "$id")" = 1 ]
	[ "$(copies b "$id")" = 0 ]
	[ "$(copies c "$id")" = 1 ]
	# The others go on consuming; b makes room; the retry gives b its copy
	# and nobody a second one.
	mqget a | mqack
	mqget b | mqack
	run -0 --separate-stderr mqpub -i "$id" news </dev/null
	[ -z "$stderr" ]
	for q in a b c; do [ "$(copies "$q" "$id")" = 1 ]; done
	run -0 mqpub -i "$id" news </dev/null
	for q in a b c; do [ "$(copies "$q" "$id")" = 1 ]; done
}

@test "a removed subscriber is named, the others get it: exit 100" {
	topic news a b
	rm -rf a
	run -100 --separate-stderr mqpub news <<<x
	[[ ${stderr_lines[0]} == "mqpub: news/subscribers/a: $BATS_TEST_TMPDIR/a: No such file or directory: not delivered" ]]
	[ "$(copies b "$output")" = 1 ]
}

@test "an unwritable subscriber is named, the others get it" {
	# Out of the test's directory, whose parents nobody may not search.
	W=$(mktemp -d /tmp/mqpub.XXXXXX)
	chown nobody "$W" && cd "$W"
	as_nobody mqput -c -l a </dev/null
	as_nobody mqput -c -l b </dev/null
	as_nobody mqpub -a -c news a b
	chmod 500 b/tmp
	run -100 --separate-stderr as_nobody mqpub news <<<x
	[ "${stderr_lines[0]}" = "mqpub: news/subscribers/b: $W/b/tmp/$output.b: Permission denied: not delivered" ]
	[ "$(copies a "$output")" = 1 ]
	[ "$(count b/tmp)" = 0 ]
}

@test "a paused subscriber still receives: puts go on while paused" {
	topic news a b
	touch b/paused
	run -0 mqpub news <<<x
	[ "$(copies b "$output")" = 1 ]
	run -6 mqget b
}

@test "a subscriber on a full file system misses it, nothing partial: exit 111" {
	mkdir -p small
	mount -t tmpfs -o size=64k tmpfs small 2>/dev/null || skip "cannot mount tmpfs"
	MNT=$BATS_TEST_TMPDIR/small
	mkq a
	mkq small/b
	mqpub -a -c news a small/b
	head -c 200k /dev/urandom >big
	run -111 --separate-stderr mqpub news big
	[[ ${stderr_lines[0]} == *"/small/b/tmp/$output.b: No space left on device: not delivered" ]]
	cmp big "a/new/$output.a"
	[ "$(count small/b/new)" = 0 ]
	[ "$(count small/b/tmp)" = 0 ]
}

@test "a publication names its id for a retry: -i with an id of one's own" {
	topic news a
	run -0 mqpub -i order-17 news <<<first
	[ "$output" = order-17 ]
	[ "$(cat a/new/order-17.a)" = first ]
	# Published already: the stored body stands, the input is not read.
	run -0 mqpub -i order-17 news <<<second
	[ "$(copies a order-17)" = 1 ]
	[ "$(cat a/new/order-17.a)" = first ]
	run -2 mqpub -i '../x' news <<<x
	run -2 mqpub -i 'a,b' news <<<x
}

@test "concurrent publishers: every subscriber gets every message once" {
	topic news a b c
	pids=()
	for i in $(seq 1 12); do
		(echo "m$i" | mqpub news >"id$i") 3>&- &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p"; done
	for q in a b c; do
		[ "$(count "$q/new")" = 12 ]
		for i in $(seq 1 12); do
			[ "$(cat "$q/new/$(cat "id$i").$q")" = "m$i" ]
		done
	done
}

@test "concurrent retries of one id: one copy each" {
	topic news a b
	pids=()
	for i in $(seq 1 8); do
		(echo same | mqpub -i dup news >/dev/null) 3>&- &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p"; done
	[ "$(copies a dup)" = 1 ]
	[ "$(copies b dup)" = 1 ]
	[ "$(ls news/pub)" = dup ]
	[ "$(ls -A news/tmp)" = "" ]
}

# kill_pub SYSCALL N: SIGKILL a publish of id "k" at its N-th SYSCALL;
# each subscriber then has it at most once; a retry gives each exactly one.
kill_pub() {
	rm -rf news a b c
	topic news a b c
	run strace -f -o /dev/null -e inject="$1":signal=KILL:when="$2" \
		mqpub -i k news <<<body
	[ "$status" = 137 ] || { echo "$1 $2: $status"; return 1; }
	for q in a b c; do [ "$(copies "$q" k)" -le 1 ]; done
	run -0 mqpub -i k news <<<body
	for q in a b c; do
		[ "$(copies "$q" k)" = 1 ] || { echo "$1 $2: $q"; return 1; }
		[ "$(cat "$q/new/k.$q")" = body ]
	done
}

@test "SIGKILL at every syscall of a publish: at most once, and a retry completes" {
	command -v strace >/dev/null || skip "no strace"
	local s n total
	topic news a b c
	for s in mkdirat openat write fsync renameat2 flock close ioctl unlinkat; do
		rm -rf news a b c
		topic news a b c
		total=$(strace -f -c -o /dev/stdout -e trace="$s" mqpub -i k news \
			<<<body | awk -v s="$s" '$NF == s { print $4 }')
		echo "$s: ${total:-0}"
		for n in $(seq 1 "${total:-0}"); do
			kill_pub "$s" "$n"
		done
	done
}

@test "what a publisher killed while storing left in the topic's tmp/ goes after 36 hours" {
	command -v strace >/dev/null || skip "no strace"
	topic news a
	run -137 strace -f -o /dev/null -e inject=renameat2:signal=KILL:when=1 \
		mqpub news <<<x
	[ "$(count news/tmp)" = 1 ]
	[ "$(count a/new)" = 0 ]
	left=$(ls news/tmp)
	mqpub news <<<y >/dev/null
	[ "$(ls news/tmp)" = "$left" ]
	touch -d '-37 hours' "news/tmp/$left"
	mqpub news <<<z >/dev/null
	[ "$(count news/tmp)" = 0 ]
	[ "$(count a/new)" = 2 ]
}

@test "an fsync error on the records: nobody gets it yet, a retry completes" {
	command -v strace >/dev/null || skip "no strace"
	topic news a b c
	# fsync 1-3: the body, its directory, pub/; 4-6: the copies; 7: the
	# records; 8-10: each new/.
	run -111 --separate-stderr strace -f -o /dev/null \
		-e inject=fsync:error=EIO:when=7 mqpub -i r news <<<x
	[ "$output" = r ]
	[ "$(grep -c 'Input/output error: not delivered' <<<"$stderr")" = 3 ]
	for q in a b c; do [ "$(copies "$q" r)" = 0 ]; done
	run -0 mqpub -i r news </dev/null
	for q in a b c; do [ "$(copies "$q" r)" = 1 ]; done
	[ "$(count a/tmp)" = 0 ]
}

@test "an fsync error on a subscriber's new/: exit 4, that one named, maybe not durable" {
	command -v strace >/dev/null || skip "no strace"
	topic news a b c
	run -4 --separate-stderr strace -f -o /dev/null \
		-e inject=fsync:error=EIO:when=9 mqpub -i u news <<<x
	[ "${stderr_lines[0]}" = "mqpub: news/subscribers/b: $BATS_TEST_TMPDIR/b/new: Input/output error: delivered, maybe not durable" ]
	[ "${#stderr_lines[@]}" = 1 ]
	for q in a b c; do [ "$(copies "$q" u)" = 1 ]; done
	run -0 mqpub -i u news </dev/null
	for q in a b c; do [ "$(copies "$q" u)" = 1 ]; done
}
