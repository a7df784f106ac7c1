#!/usr/bin/env bats
# The documentation runs: every ```sh block of README.md, the EXAMPLES of
# the man pages (except blocks marked with a `.\" notest` line: cron lines,
# placeholders such as a transcode command), make install, and the demo.

load test_helper

# The ```sh blocks of README.md, each ending in a line "#### END".
readme_blocks() {
	awk '/^```sh$/ { on = 1; next }
	    /^```/ && on { on = 0; print "#### END"; next }
	    on' "$MQ_ROOT/README.md"
}

# The literal blocks of the EXAMPLES section of man page $1, as sh.
man_examples() {
	awk '/^\.Sh / { ex = ($2 == "EXAMPLES") }
	    ex && /^\.\\" notest/ { skip = 1; next }
	    ex && /^\.Bd -literal/ { on = !skip; skip = 0; next }
	    /^\.Ed/ { on = 0; next }
	    on' "$1" | sed 's/\\e/\\/g; s/\\&//g'
}

@test "every sh block of README.md succeeds in a fresh directory" {
	local n=0 block=
	while IFS= read -r line; do
		if [ "$line" = "#### END" ]; then
			n=$((n + 1))
			mkdir "b$n" && cd "b$n"
			run sh -e -c "$block"
			cd ..
			if [ "$status" -ne 0 ]; then
				printf 'block %d failed (%d):\n%s\n--\n%s\n' "$n" \
				    "$status" "$block" "$output"
				return 1
			fi
			block=
		else
			block="$block$line
"
		fi
	done < <(readme_blocks)
	[ "$n" -ge 3 ]
}

@test "the README's batch example leaves 5 of 25 messages" {
	readme_blocks | awk '/#### END/ { n++; next } n == 1' >batch.sh
	run -0 sh -e batch.sh
	[ "${lines[${#lines[@]} - 1]}" -eq 5 ]
	[ "$(count jobs/done)" -eq 20 ]
}

@test "the EXAMPLES of mqput(1) run" {
	man_examples "$MQ_ROOT/man/mqput.1" >ex.sh
	run -0 sh -e ex.sh
	[ "$(count scratch/new)" -eq 10000 ]
	[ "$(count jobs/new)" -ge 7 ]
}

@test "the EXAMPLES of mqget(1) run" {
	man_examples "$MQ_ROOT/man/mqget.1" >ex.sh
	run -0 sh -e ex.sh
	[ "$(cat bodies.txt)" = "$(printf '1\n2\n3')" ]
	[ "$(count jobs/new)" -eq 0 ]
	[ "$(count jobs/cur)" -eq 0 ]
}

@test "the EXAMPLES of mqack(1) run, and a second ack exits 3" {
	man_examples "$MQ_ROOT/man/mqack.1" >ex.sh
	run -0 sh -e ex.sh
	[[ $output == *"exit status 3"* ]]
	[[ $output == *",rbad-input"* ]]
	[ "$(count jobs/dead)" -eq 1 ]
	[ "$(count jobs/cur)" -eq 0 ]
}

@test "the EXAMPLES of mqpub(1) run: both subscribers get the order" {
	man_examples "$MQ_ROOT/man/mqpub.1" >ex.sh
	run -0 sh -e ex.sh
	[ "${#lines[@]}" -ge 4 ]
	[ "$(count mail/new)" = 1 ]
	[ "$(cat mail/new/order-18.mail)" = "order 18 paid" ]
	[ "$(ls orders/subscribers)" = mail ]
}

@test "the EXAMPLES of mqwait(1) run: a result, a dead letter, a fetch" {
	man_examples "$MQ_ROOT/man/mqwait.1" >ex.sh
	run -0 sh -e ex.sh
	[ "${lines[0]}" = photo-small.jpg ]
	[[ $output == *" dead bad-input"*"status 7"* ]]
	[ "${lines[${#lines[@]} - 1]}" = "fetched segment 17" ]
}

@test "the EXAMPLES of mq-spool(5) run" {
	man_examples "$MQ_ROOT/man/mq-spool.5" >ex.sh
	run -0 sh -e ex.sh
	grep -qx "keep_done = no" q/config
	[[ $output == *hello* ]]
}

@test "the EXAMPLES of mq(7) run, the consumer loop included" {
	# The loop stops after a minute without messages: a second here.
	man_examples "$MQ_ROOT/man/mq.7" | sed 's/-w 60s/-w 1s/' >ex.sh
	run -0 sh -e ex.sh
	[[ $output == *"resize photo.jpg"* ]]
	[ "$(count jobs/dead)" -eq 0 ]
	[ "$(count jobs/new)" -eq 0 ]
	[ "$(count jobs/done)" -eq 41 ]
}

@test "make install puts the tools, man pages and completions under DESTDIR" {
	run -0 make -C "$MQ_ROOT" install PREFIX=/usr DESTDIR="$PWD/stage"
	local t
	for t in $(cd "$MQ_ROOT/bin" && ls mq*); do
		[ -x "stage/usr/bin/$t" ]
		[ -f "stage/usr/share/man/man1/$t.1" ]
		[ -f "stage/usr/share/bash-completion/completions/$t" ]
		[ -f "stage/usr/share/zsh/site-functions/_$t" ]
		[ -f "stage/usr/share/fish/vendor_completions.d/$t.fish" ]
	done
	[ -f stage/usr/share/man/man5/mq-spool.5 ]
	[ -f stage/usr/share/man/man7/mq.7 ]
}

@test "the demo runs two producers and two consumers and loses nothing" {
	run -0 sh "$MQ_ROOT/tests/demo.sh"
	[[ $output == *"demo: 201 put, 200 acked, 1 dead, 0 lost, 0 duplicated"* ]]
	[[ $output == *"done/ 200"* ]]
	[[ $output == *",rbad-input"* ]]
}
