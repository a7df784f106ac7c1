#!/usr/bin/env bats
# Crashes and I/O errors in the middle of a put: nothing partial is ever
# visible in new/, and nothing that failed is reported as enqueued.  And
# in the middle of an ordered group's put or ack: no group stuck or doubled.

load test_helper

setup_file() {
	command -v strace >/dev/null || skip "no strace"
}

# every_file_is DIR FILE: each message in DIR is byte-identical to FILE.
every_file_is() {
	local f
	for f in "$1"/*; do
		[ -e "$f" ] || continue
		cmp "$2" "$f" || return 1
	done
}

# kill_at SYSCALL WHEN: SIGKILL mqput at its WHEN-th SYSCALL; checks that
# new/ holds nothing but whole messages and that no id was printed.
kill_at() {
	mkq q
	head -c 300000 /dev/urandom >big
	run -137 strace -f -o /dev/null \
		-e inject="$1":signal=KILL:when="$2" mqput q <big
	[ -z "$output" ]
	every_file_is q/new big
	# A leftover may stay in tmp/ (maildir's 36-hour rule removes it).
	[ "$(count q/tmp)" -le 1 ]
}

@test "SIGKILL at the first write: nothing in new/" {
	kill_at write 1
	[ "$(count q/new)" = 0 ]
}

@test "SIGKILL at a later write: nothing in new/" {
	kill_at write 3
	[ "$(count q/new)" = 0 ]
}

@test "SIGKILL at the fsync of the file: nothing in new/" {
	kill_at fsync 1
	[ "$(count q/new)" = 0 ]
}

@test "SIGKILL at the rename: nothing partial in new/" {
	kill_at renameat2 1
}

@test "SIGKILL at the fsync of new/: nothing partial in new/" {
	kill_at fsync 2
}

@test "SIGKILL in the middle of a batch: only whole messages in new/" {
	mkq q
	seq 1 100 | sed 's/^/line /' >in
	run -137 strace -f -o /dev/null -e inject=renameat2:signal=KILL:when=50 \
		mqput -l q <in
	[ -z "$output" ]
	for f in q/new/*; do
		grep -qx "line [0-9]*" "$f"
	done
	[ "$(count q/new)" -le 50 ]
}

@test "an fsync error on the file is not a success: exit 111, no id" {
	mkq q
	run -111 --separate-stderr strace -f -o /dev/null \
		-e inject=fsync:error=EIO:when=1 mqput q <<<x
	[ -z "$output" ]
	[[ $stderr == *"Input/output error"* ]]
	[ "$(count q/new)" = 0 ]
	[ "$(count q/tmp)" = 0 ]
}

@test "an fsync error on new/ is not a success: exit 4, the id given" {
	mkq q
	# fsync 1 is the message's file, fsync 2 is new/ after the rename:
	# the message is visible but maybe not durable.
	run -4 --separate-stderr strace -f -o /dev/null \
		-e inject=fsync:error=EIO:when=2 mqput q <<<x
	[ -e "q/new/$output" ]
	[ "${stderr_lines[0]}" = "mqput: q/new: Input/output error" ]
	[[ ${stderr_lines[1]} == "mqput: q: 1 message visible in new/ but maybe not durable"* ]]
	[ "$(count q/new)" = 1 ]
	[ "$(count q/tmp)" = 0 ]
}

@test "a syncfs error on a batch is not a success: exit 111, no id" {
	mkq q
	run -111 --separate-stderr strace -f -o /dev/null \
		-e inject=syncfs:error=EIO mqput -l q < <(seq 1 50)
	[ -z "$output" ]
	[ "$(count q/new)" = 0 ]
	[ "$(count q/tmp)" = 0 ]
}

@test "a write error is not a success: exit 111, nothing left" {
	mkq q
	run --separate-stderr -111 strace -f -o /dev/null -e inject=write:error=EIO:when=1 \
		mqput q <<<x
	[ -z "$output" ]
	[ "$(count q/new)" = 0 ]
	[ "$(count q/tmp)" = 0 ]
}

@test "a rename error is not a success: nothing left in tmp/" {
	mkq q
	run --separate-stderr strace -f -o /dev/null -e inject=renameat2:error=EIO:when=1 \
		mqput q <<<x
	[ "$status" = 111 ]
	[ -z "$output" ]
	[ "$(count q/new)" = 0 ]
	[ "$(count q/tmp)" = 0 ]
}

@test "names that always collide in new/: an error, nothing left in tmp/" {
	mkq q
	run -100 --separate-stderr strace -f -o /dev/null \
		-e inject=renameat2:error=EEXIST:when=1+ mqput q <<<x
	[ -z "$output" ]
	[[ $stderr == "mqput: q/new/"*": File exists" ]]
	[ "$(count q/new)" = 0 ]
	[ "$(count q/tmp)" = 0 ]
}

@test "an fsync error on a claim hands nothing out" {
	mkq q
	mqput q <<<x >/dev/null
	run --separate-stderr -111 strace -f -o /dev/null -e inject=fsync:error=EIO:when=1 \
		mqget q
	[ -z "$output" ]
}

@test "an fsync error on an ack is reported: exit 111" {
	mkq q
	mqput q <<<x >/dev/null
	c=$(mqget q)
	run -111 strace -f -o /dev/null -e inject=fsync:error=EIO:when=1 \
		mqack "$c"
}

@test "SIGKILL of mqget at the rename: the message is in new/ or cur/" {
	mkq q
	id=$(mqput q <<<x)
	run -137 strace -f -o /dev/null -e inject=renameat2:signal=KILL:when=1 \
		mqget q
	[ -z "$output" ]
	[ $(( $(count q/new) + $(count q/cur) )) = 1 ]
	# Whatever state it is in, it comes back.
	run -0 faketime -f '+1h' mqget -b q
	[ "$output" = x ]
}

# ack_result_state ID CLAIM RESULT: after an mqack -R killed anywhere, either
# no end record and the claim, or the whole record and result: never an end
# without its result, never part of a result.  (The record may stand beside
# the claim: written first, the claim moves after it; see mq-spool(5).)
ack_result_state() {
	local rec=q/ends/$1
	if [ -e "$rec" ]; then
		[ "$(cat "$rec")" = "$(printf 'acknowledged\n%s' "$(cat "$3")")" ] ||
		    { echo "partial record: $(cat "$rec")"; return 1; }
	elif [ ! -e "$2" ]; then
		echo "$2 ended with no record"
		return 1
	fi
}

@test "SIGKILL of mqack -R at every call: no result and the claim, or the result and the end" {
	local sys n calls runs=0
	head -c 20000 /dev/urandom | base64 >result
	# Which calls an ack with a result makes, and how often each.
	mkq q
	mqput q <<<x >/dev/null
	strace -f -c -o calls.txt mqack -R result "$(mqget q)"
	calls=$(awk '$4 ~ /^[0-9]+$/ && $NF ~ /^[a-z_0-9]+$/ &&
	    $NF != "total" && $NF != "execve" { print $NF ":" $4 }' calls.txt)
	[ -n "$calls" ]
	for sys in $calls; do
		for n in $(seq "${sys#*:}"); do
			rm -rf q
			mkq q
			id=$(mqput q <<<x)
			c=$(mqget q)
			run strace -f -o /dev/null \
			    -e inject="${sys%:*}":signal=KILL:when="$n" \
			    mqack -R result "$c"
			ack_result_state "$id" "$c" result
			runs=$((runs + 1))
		done
	done
	echo "# $runs kill points" >&3
	[ "$runs" -ge 30 ]
}

# deleted_ack_state ID CLAIM: after an mqack killed anywhere in a queue that
# keeps no done/ (the message is deleted: nothing else tells of its end),
# with a waiter registered for ID: the claim, or the record of its end;
# never the message gone with no record (a waiter's "outcome unknown").
deleted_ack_state() {
	local rec=q/ends/$1
	if [ -e "$rec" ]; then
		[ "$(cat "$rec")" = acknowledged ] ||
		    { echo "record: $(cat "$rec")"; return 1; }
	elif [ ! -e "$2" ]; then
		echo "$2 deleted with no record"
		return 1
	fi
}

@test "SIGKILL of an ack that deletes a message someone waits for, at every call: the claim, or the record" {
	local sys n calls runs=0 acked=0
	# Which calls such an ack makes, and how often each.
	for n in 1 2; do
		rm -rf q
		mkq q
		sed -i 's/^keep_done = yes/keep_done = no/' q/config
		id=$(mqput q <<<x)
		# A registration of a waiter that comes and goes: mqwait leaves it.
		run -1 mqwait -t 0 q "$id"
		[ -p "q/ends/wait/$id" ]
		c=$(mqget q)
		if [ "$n" = 1 ]; then
			strace -f -c -o calls.txt mqack "$c"
			calls=$(awk '$4 ~ /^[0-9]+$/ && $NF ~ /^[a-z_0-9]+$/ &&
			    $NF != "total" && $NF != "execve" { print $NF ":" $4 }' \
			    calls.txt)
			[ -n "$calls" ]
			continue
		fi
		for sys in $calls; do
			for n in $(seq "${sys#*:}"); do
				rm -rf q
				mkq q
				sed -i 's/^keep_done = yes/keep_done = no/' q/config
				id=$(mqput q <<<x)
				run -1 mqwait -t 0 q "$id"
				c=$(mqget q)
				run strace -f -o /dev/null \
				    -e inject="${sys%:*}":signal=KILL:when="$n" \
				    mqack "$c"
				deleted_ack_state "$id" "$c"
				runs=$((runs + 1))
				[ -e "$c" ] && continue
				# Gone: a waiter learns it was acknowledged.
				run -0 mqwait -t 10 q "$id"
				[ "$output" = "$id acknowledged" ]
				acked=$((acked + 1))
			done
		done
	done
	echo "# $runs kill points, $acked of them after the end" >&3
	[ "$runs" -ge 20 ] && [ "$acked" -ge 1 ]
}

@test "inotify on new/ during 200 puts never sees a partial file" {
	command -v inotifywait >/dev/null || skip "no inotifywait"
	mkq q
	# Sizes differ per message, so a partial file cannot pass.
	for i in $(seq 1 200); do
		head -c $((i * 997)) /dev/zero | tr '\0' "$(printf \\$(printf %o $((65 + i % 26))))" >"m$i"
	done
	coproc W { exec timeout 60 inotifywait -m -e create,moved_to,modify,close_write,attrib --format '%e %f' q/new 2>&1; }
	# inotifywait says so once its watch is in place.
	while read -r -t 10 -u "${W[0]}" line; do
		[ "$line" = "Watches established." ] && break
	done
	[ "$line" = "Watches established." ]
	exec 5<&"${W[0]}" # a coproc's descriptors are not inherited
	(
		while read -r ev f; do
			# Read each file the moment it appears.
			if [ -e "q/new/$f" ]; then
				echo "$ev $f $(stat -c %s "q/new/$f") $(md5sum <"q/new/$f" | cut -c1-32)"
			else
				echo "$ev $f gone"
			fi
			[ "$((++n))" = 200 ] && break
		done <&5 >events 3>&-
	) 3>&- &
	reader=$!
	for i in $(seq 1 200); do
		mqput q "m$i" >>ids
	done
	wait $reader
	kill "$W_PID" 2>/dev/null || :
	exec 5<&-
	[ "$(wc -l <events)" = 200 ]
	# Only whole files arrive: by rename, never created or written there.
	! grep -v '^MOVED_TO ' events
	i=0
	while read -r id; do
		i=$((i + 1))
		line=$(grep " $id " events)
		[ "$line" = "MOVED_TO $id $((i * 997)) $(md5sum <"m$i" | cut -c1-32)" ]
	done <ids
	[ "$i" = 200 ]
}

# Ordered groups (issue 19): a crash at any system call of a grouped put
# or of the end of a head's claim leaves the group neither stuck (after
# mqreap) nor doubled (two of its messages claimable at once).

# drain Q: claim and acknowledge Q's messages one by one, printing their
# bodies; fails if two were claimable at once.
drain() {
	local got= c
	while c=$(mqget -n 10 "$1"); do
		[ "$(wc -l <<<"$c")" = 1 ] || { echo "doubled: $c" >&2; return 1; }
		got="$got$(cat "$c")"
		mqack "$c" || return 1
	done
	echo "$got"
}

# The system calls a grouped put or ack makes: each is killed at its 1st,
# 2nd, ... call, until the command runs through.
SYSCALLS="openat flock write renameat renameat2 unlinkat fsync syncfs getdents64"

@test "SIGKILL at any system call of a grouped ack: the group moves on, once" {
	local sc when kills=0
	for sc in $SYSCALLS; do
		for when in $(seq 12); do
			rm -rf q
			mkq q
			for i in 1 2 3; do echo "$i" | mqput -G g q >/dev/null; done
			c=$(mqget q)
			run strace -f -o /dev/null \
				-e inject="$sc":signal=KILL:when="$when" mqack "$c"
			[ "$status" = 0 ] && break
			kills=$((kills + 1))
			[ "$status" = 137 ]
			[ "$(ls q/new q/cur | grep -c ,gg)" -le 1 ]
			# Killed before its ack took: the consumer acks again.
			[ ! -e "$c" ] || mqack "$c"
			mqreap q
			run -0 drain q
			[ "$output" = 23 ] || { echo "$sc $when: $output"; false; }
			[ -z "$(ls q/groups/g/.head)" ]
		done
	done
	echo "crash points: $kills"
	[ "$kills" -gt 15 ]
}

@test "SIGKILL at any system call of a put into a held group: neither stuck nor doubled" {
	local sc when kills=0
	for sc in $SYSCALLS; do
		for when in $(seq 12); do
			rm -rf q
			mkq q
			echo 1 | mqput -G g q >/dev/null
			run strace -f -o /dev/null \
				-e inject="$sc":signal=KILL:when="$when" mqput -G g q <<<2
			[ "$status" = 0 ] && break
			kills=$((kills + 1))
			[ "$status" = 137 ]
			mqreap q
			run -0 drain q
			[[ $output == 1 || $output == 12 ]] || { echo "$sc $when: $output"; false; }
			echo 3 | mqput -G g q >/dev/null
			[ "$(drain q)" = 3 ]
		done
	done
	echo "crash points: $kills"
	[ "$kills" -gt 15 ]
}

@test "SIGKILL at any system call of a put into an idle group: neither stuck nor doubled" {
	local sc when kills=0
	for sc in $SYSCALLS; do
		for when in $(seq 12); do
			rm -rf q
			mkq q
			run strace -f -o /dev/null \
				-e inject="$sc":signal=KILL:when="$when" mqput -G g q <<<1
			[ "$status" = 0 ] && break
			kills=$((kills + 1))
			[ "$status" = 137 ]
			mqreap q
			run -0 drain q
			[[ $output == "" || $output == 1 ]] || { echo "$sc $when: $output"; false; }
			echo 2 | mqput -G g q >/dev/null
			echo 3 | mqput -G g q >/dev/null
			[ "$(drain q)" = 23 ]
		done
	done
	echo "crash points: $kills"
	[ "$kills" -gt 15 ]
}

# Priorities (issue 24): a crash at any system call of a prioritised put
# or of a claim that reads the hint of urgent names (QUEUE/.urgent) loses
# no message, and the urgent ones are still claimed first: at once, or, if
# the crash lost the hint's name, at the next full read (the documented
# race: two seconds, here faketime's).

# backlog Q: 100 messages of the default level, one claimed (so that an
# index of the rest is left), and the claim acknowledged.
backlog() {
	mkq "$1"
	seq 100 | mqput -q -l "$1"
	mqack "$(mqget "$1")"
	[ -s "$1/.index" ]
}

URGENT_SYSCALLS="openat flock fstat write renameat2 fsync close"

@test "SIGKILL at any system call of a prioritised put: whole or absent, and then claimed first" {
	local sc when kills=0
	for sc in $URGENT_SYSCALLS; do
		for when in $(seq 12); do
			rm -rf q
			backlog q
			run strace -f -o /dev/null \
				-e inject="$sc":signal=KILL:when="$when" \
				mqput -p 0 q <<<urgent
			[ "$status" = 0 ] && break
			kills=$((kills + 1))
			[ "$status" = 137 ]
			[ "$(count q/new)" -le 100 ]
			ls q/new | grep -q ',p0$' || continue
			[ "$(cat q/new/*,p0)" = urgent ]
			if grep -q ',p0$' q/.urgent 2>/dev/null; then
				c=$(mqget q)
			else
				c=$(faketime -f '+3s' mqget q)
			fi
			[ "$(cat "$c")" = urgent ] || { echo "$sc $when"; false; }
		done
	done
	echo "crash points: $kills"
	[ "$kills" -gt 20 ]
}

CLAIM_SYSCALLS="openat flock pread64 pwrite64 ftruncate newfstatat renameat2 utimensat fsync"

@test "SIGKILL at any system call of a claim with urgent names in the hint: none lost, urgent first" {
	local sc when kills=0
	for sc in $CLAIM_SYSCALLS; do
		for when in $(seq 12); do
			rm -rf q
			backlog q
			echo u1 | mqput -q -p 1 q
			echo u0 | mqput -q -p 0 q
			[ "$(wc -l <q/.urgent)" = 2 ]
			run strace -f -o /dev/null \
				-e inject="$sc":signal=KILL:when="$when" mqget -n 3 q
			[ "$status" = 0 ] && break
			kills=$((kills + 1))
			[ "$status" = 137 ]
			# Every message in new/ or cur/, once.
			[ $(( $(count q/new) + $(count q/cur) )) = 101 ]
			# Claims of the dead process expire; the urgent come
			# first (an expired claim after those the hint names).
			faketime -f '+1h' mqget -b -n 200 q >got
			[ "$(wc -l <got)" = 101 ]
			[ "$(head -n 2 got | sort | tr '\n' ' ')" = "u0 u1 " ] ||
			    { echo "$sc $when: $(head -n 3 got)"; false; }
		done
	done
	echo "crash points: $kills"
	[ "$kills" -gt 20 ]
}
