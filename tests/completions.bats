#!/usr/bin/env bats
# The completions of every tool in bin/ (tools added later are covered
# without touching this file): every option of the usage line is in the
# bash, zsh and fish completions and in the man page, the bash completion
# really produces candidates, and zsh and fish parse their files.

load test_helper

tools() {
	local b
	for b in "$MQ_ROOT"/bin/mq*; do
		[ -x "$b" ] && echo "${b##*/}"
	done
}

# The option letters of a tool's usage line, which it prints (exit 2) when
# given an option no tool has.
letters() {
	local u
	u=$("$1" -@ 2>&1 >/dev/null | grep '^usage:')
	[ -n "$u" ] || { echo "$1: no usage line" >&2; return 1; }
	grep -oE '(^|[[ |])-[A-Za-z0-9]+' <<<"$u" | sed 's/^[[ |]*-//' |
	    fold -w1 | sort -u
}

# bashcomp TOOL WORD...: the candidates of TOOL's bash completion for the
# command line "TOOL WORD..." (the last word being completed), one a line.
bashcomp() {
	local tool=$1
	shift
	bash -c '
		source "$1"; shift
		fn=$(complete -p "$1" | sed -n "s/.*-F \([^ ]*\) .*/\1/p")
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		"$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}"
	' bash "$MQ_ROOT/completions/bash/$tool" "$tool" "$@"
}

@test "there are tools to check" {
	run -0 tools
	[[ $output == *mqput* && $output == *mqget* && $output == *mqack* ]]
}

@test "a bad option makes every tool print its usage line and exit 2" {
	local t
	for t in $(tools); do
		run -2 --separate-stderr "$t" -@
		[ -z "$output" ]
		[[ $stderr == *"usage: $t "* ]]
	done
}

@test "every option of every usage line is in all three completions and the man page" {
	local t l missing=
	for t in $(tools); do
		for f in completions/bash/$t completions/zsh/_$t \
		    completions/fish/$t.fish man/$t.1; do
			[ -f "$MQ_ROOT/$f" ] || missing="$missing $f"
		done
		for l in $(letters "$t"); do
			grep -qE -- "(^|[^A-Za-z0-9_])-$l([^A-Za-z0-9]|\$)" \
			    "$MQ_ROOT/completions/bash/$t" ||
			    missing="$missing bash:$t:-$l"
			grep -qE -- "(^|[^A-Za-z0-9_])-$l([^A-Za-z0-9]|\$)" \
			    "$MQ_ROOT/completions/zsh/_$t" ||
			    missing="$missing zsh:$t:-$l"
			grep -qE -- "-s $l( |\$)" "$MQ_ROOT/completions/fish/$t.fish" ||
			    missing="$missing fish:$t:-$l"
			grep -qE -- "^\.It Fl $l( |\$)" "$MQ_ROOT/man/$t.1" ||
			    missing="$missing man:$t:-$l"
		done
	done
	echo "missing:$missing"
	[ -z "$missing" ]
}

@test "the bash completion of every tool offers each of its options" {
	local t l
	for t in $(tools); do
		run -0 bashcomp "$t" -
		for l in $(letters "$t"); do
			grep -qx -- "-$l" <<<"$output" || {
				echo "$t: -$l not offered: $output"
				return 1
			}
		done
	done
}

@test "zsh parses the completion of every tool, which names its tool" {
	local t
	for t in $(tools); do
		run -0 zsh -n "$MQ_ROOT/completions/zsh/_$t"
		run -0 head -n 1 "$MQ_ROOT/completions/zsh/_$t"
		[ "$output" = "#compdef $t" ]
	done
}

@test "fish parses the completion of every tool and offers each of its options" {
	local t l
	for t in $(tools); do
		run -0 fish -n "$MQ_ROOT/completions/fish/$t.fish"
		run -0 fish -N -c "source '$MQ_ROOT/completions/fish/$t.fish'; complete -C '$t -'"
		for l in $(letters "$t"); do
			grep -q -- "^-$l"$'\t' <<<"$output" || {
				echo "$t: -$l not offered: $output"
				return 1
			}
		done
	done
}

@test "bash completes the queue operand of mqput and mqget with directories" {
	mkq jobs
	touch jolly
	run -0 bashcomp mqput jo
	[ "$output" = jobs ]
	run -0 bashcomp mqget -n 5 jo
	[ "$output" = jobs ]
	# After mqput's queue come files.
	run -0 bashcomp mqput jobs jo
	[ "$(sort <<<"$output" | tr '\n' ' ')" = "jobs jolly " ]
}

@test "bash completes mqack operands with the files in a queue's cur/" {
	mkq jobs
	echo x | mqput -q jobs
	m=$(mqget jobs)
	run -0 bashcomp mqack jo
	[ "$output" = jobs ]
	run -0 bashcomp mqack jobs/cur/
	[ "$output" = "$m" ]
	run -0 bashcomp mqack -q jobs ""
	[ "$output" = "${m##*/}" ]
}

@test "fish completes mqack operands with the files in a queue's cur/" {
	mkq jobs
	echo x | mqput -q jobs
	m=$(mqget jobs)
	run -0 fish -N -c "source '$MQ_ROOT/completions/fish/mqack.fish'; complete -C 'mqack jobs/cur/'"
	[ "$output" = "$m" ]
}

@test "bash completes mqpub's topic, and after it queues (-a, -d) or a file" {
	mkq jobs
	mkdir topic
	touch jolly
	run -0 bashcomp mqpub to
	[ "$output" = topic ]
	run -0 bashcomp mqpub -a topic jo
	[ "$output" = jobs ]
	run -0 bashcomp mqpub topic jo
	[ "$(sort <<<"$output" | tr '\n' ' ')" = "jobs jolly " ]
}
