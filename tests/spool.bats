#!/usr/bin/env bats
# The spool itself: layout, modes, what a directory may hold, and a whole
# put -> get -> ack cycle seen with ls and cat.

load test_helper

teardown() {
	if [ -n "${MNT:-}" ] && mountpoint -q "$MNT"; then
		umount "$MNT"
	fi
}

@test "a message's whole life is visible with ls and cat" {
	mkq q
	id=$(mqput q <<<hello)
	[ "$(ls q/new)" = "$id" ]
	c=$(mqget q)
	[ "$(ls q/new)" = "" ]
	[ "$c" = "q/cur/$(ls q/cur)" ]
	[ "$(cat "$c")" = hello ]
	mqack "$c"
	[ "$(ls q/done)" = "$id,d1" ]
	[ "$(ls q/cur q/tmp q/dead | grep -v : | grep -c .)" = 0 ]
}

@test "the default config is documented and reads back as the defaults" {
	mkq q
	grep -q '^timeout = 30s' q/config
	grep -q '^max_deliveries = 5' q/config
	grep -q '^keep_done = yes' q/config
	grep -q '^max_size = 10M' q/config
	grep -q '^sync = yes' q/config
	mqput q <<<x >/dev/null
	now=$(date +%s)
	t=$(stat -c %Y "$(mqget q)")
	[ "$t" -ge $((now + 29)) ] && [ "$t" -le $((now + 32)) ]
}

@test "a config that is a symlink or a FIFO is refused, never followed" {
	mkq q
	rm q/config
	ln -s /etc/passwd q/config
	run -100 timeout 10 mqput q <<<x
	rm q/config
	mkfifo q/config
	run timeout 10 mqget q
	[ "$status" != 124 ]
}

@test "a queue without a config uses the defaults" {
	mkq q
	rm q/config
	run -0 mqput q <<<x
	run -0 mqget q
}

@test "files in tmp/ and hidden files in new/ are never delivered" {
	mkq q
	echo partial >q/tmp/1000000000.000000.P1Q0R0000.host
	echo hidden >q/new/.1000000000.000000.P1Q0R0000.host
	run -1 --separate-stderr mqget q
	[ -z "$stderr" ]
}

@test "a subdirectory that is a symlink makes the queue unusable" {
	mkq q
	mkdir elsewhere
	rmdir q/new
	ln -s ../elsewhere q/new
	run -100 --separate-stderr mqput q <<<x
	[[ $stderr == "mqput: q/new: "* ]]
	[ "$(count elsewhere)" = 0 ]
}

@test "the queue path itself may be a symlink" {
	mkq q
	ln -s q link
	id=$(mqput link <<<x)
	[ -f "q/new/$id" ]
	run -0 mqget link
	[[ $output == link/cur/* ]]
	run -0 mqack "$output"
}

@test "a private queue: 0700 dirs, 0600 files, whatever the umask" {
	umask 000
	mqput -c q <<<x >/dev/null
	umask 077
	mqput q <<<y >/dev/null
	[ "$(stat -c %a q q/tmp q/new q/cur q/done q/dead | sort -u)" = 700 ]
	[ "$(stat -c %a q/new/* q/config | sort -u)" = 600 ]
}

@test "a group queue: setgid 2770 dirs, 0640 files, every state" {
	umask 077
	mqput -c -g q </dev/null >/dev/null
	[ "$(stat -c %a q q/tmp q/new q/cur q/done q/dead | sort -u)" = 2770 ]
	chgrp -R nogroup q
	mqput q <<<x >/dev/null
	c=$(mqget q)
	[ "$(stat -c '%a %G' "$c")" = "640 nogroup" ]
	mqack "$c"
	[ "$(stat -c '%a %G' q/done/*)" = "640 nogroup" ]
	mqput q <<<y >/dev/null
	mqack -f x "$(mqget q)"
	[ "$(stat -c '%a %G' q/dead/*)" = "640 nogroup" ]
}

@test "a group queue chgrp'ed to a group nobody is in: nobody is refused" {
	mqput -c -g q </dev/null >/dev/null
	rm q/new/*
	chgrp -R daemon q
	chmod 755 "$BATS_TEST_TMPDIR"
	mqput q <<<x >/dev/null
	run -100 --separate-stderr as_nobody mqget q
	[ "$stderr" = "mqget: q: Permission denied" ]
	run -100 as_nobody mqput q <<<y
	[ "$(count q/new)" = 1 ]
	# The same queue in nobody's group works for nobody.
	chgrp -R nogroup q
	run -0 as_nobody mqget -b q
	[ "$output" = x ]
	run -0 as_nobody mqput q <<<y
}

@test "a group member who cannot read a message does not loop on it" {
	mqput -c -g q </dev/null >/dev/null
	rm q/new/*
	chgrp -R nogroup q
	chmod 755 "$BATS_TEST_TMPDIR"
	id=$(mqput q <<<x)
	chmod 600 "q/new/$id"
	run --separate-stderr as_nobody mqget q
	[ "$status" = 100 ] || [ "$status" = 1 ]
	# Whatever happened, the message is not lost.
	[ $(( $(count q/new) + $(count q/cur) + $(count q/dead) )) = 1 ]
	[ "$(count q/tmp)" = 0 ]
}

@test "a full disk on a claim: the message is not lost" {
	mkdir small
	mount -t tmpfs -o size=64k,nr_inodes=16 tmpfs small 2>/dev/null ||
		skip "cannot mount tmpfs"
	MNT=$BATS_TEST_TMPDIR/small
	mqput -c small/q </dev/null >/dev/null
	rm small/q/new/*
	n=0
	while mqput -q small/q <<<x; do n=$((n + 1)); done
	[ "$n" -gt 0 ]
	[ "$(count small/q/tmp)" = 0 ]
	[ "$(count small/q/new)" = "$n" ]
	run -0 mqget -n 100 small/q
	[ "${#lines[@]}" = "$n" ]
	run -0 mqack "${lines[@]}"
	[ "$(count small/q/done)" = "$n" ]
}
