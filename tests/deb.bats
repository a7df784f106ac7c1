#!/usr/bin/env bats
# The Debian package: dpkg-buildpackage -us -uc -b builds it (once, in
# setup_file, from a copy of the tree), lintian finds no error or warning,
# it holds every tool, page, completion and unit, and it installs, works
# and removes cleanly (dpkg -i, dpkg -r, dpkg -P; as root only).

load test_helper

setup_file() {
	export DEB_DIR="$BATS_FILE_TMPDIR/deb" DEB_WHY=
	if ! sh "$BATS_TEST_DIRNAME/deps.sh" dpkg-dev debhelper lintian \
	    libbsd-dev libmd-dev >&2; then
		export DEB_WHY="dpkg-dev, debhelper or lintian missing and not installable here"
		return 0
	fi
	mkdir -p "$DEB_DIR/mq"
	(cd "$MQ_ROOT" && git ls-files -co --exclude-standard -z) |
	    (cd "$MQ_ROOT" && xargs -0 cp --parents -P -t "$DEB_DIR/mq")
	(cd "$DEB_DIR/mq" && nice dpkg-buildpackage -us -uc -b) \
	    >"$DEB_DIR/build.log" 2>&1 || true
}

# A package this file installed and a failed test left: gone.
teardown_file() {
	[ ! -e "$DEB_DIR/installed" ] ||
	    ! dpkg-query -W -f='${Status}' mq 2>/dev/null | grep -q installed ||
	    dpkg -P mq >&2
}

deb() {
	ls "$DEB_DIR"/mq_*_*.deb 2>/dev/null | head -n 1
}

need_deb() {
	[ -z "$DEB_WHY" ] || skip "$DEB_WHY"
	[ -n "$(deb)" ] || { tail -n 30 "$DEB_DIR/build.log"; return 1; }
}

@test "dpkg-buildpackage -us -uc -b builds the package" {
	need_deb
	grep -q "building package 'mq'" "$DEB_DIR/build.log"
}

@test "lintian finds no error and no warning" {
	need_deb
	run lintian --fail-on error,warning "$(deb)"
	echo "$output"
	[ "$status" -eq 0 ]
	! grep -E '^[EW]: ' <<<"$output"
}

@test "the package holds every tool, its page and completions, the units, user and spool" {
	need_deb
	run -0 dpkg-deb -c "$(deb)"
	local t want missing=
	for t in $(cd "$MQ_ROOT/bin" && ls mq*); do
		for want in usr/bin/$t usr/share/man/man1/$t.1.gz \
		    usr/share/bash-completion/completions/$t \
		    usr/share/zsh/vendor-completions/_$t \
		    usr/share/fish/vendor_completions.d/$t.fish; do
			grep -q " \./$want\$" <<<"$output" || missing="$missing $want"
		done
	done
	for want in usr/share/man/man7/mq.7.gz usr/share/man/man5/mq-spool.5.gz \
	    lib/systemd/system/mqwatch@.service lib/systemd/system/mqreap.service \
	    lib/systemd/system/mqstat.service lib/systemd/system/mqstat.timer \
	    lib/systemd/system/mqreap-restart.path \
	    lib/systemd/system/mqreap-restart.service \
	    usr/lib/sysusers.d/mq.conf usr/lib/tmpfiles.d/mq.conf; do
		grep -q " \./$want\$" <<<"$output" || missing="$missing $want"
	done
	echo "missing:$missing"
	[ -z "$missing" ]
}

# dpkg refuses to run while apt or another dpkg holds its lock: wait.
dpkg_locked() {
	dpkg "$@" 2>dpkg.err && return 0
	cat dpkg.err >&2
	grep -q 'lock' dpkg.err && return 1
	return 2
}
dpkg_do() {
	until_ok dpkg_locked "$@"
}

@test "dpkg -i installs it, the installed tools work, dpkg -r and -P remove it" {
	need_deb
	[ "$(id -u)" -eq 0 ] || skip "dpkg -i needs root"
	! dpkg-query -W -f='${Status}' mq 2>/dev/null | grep -q installed ||
	    skip "a package mq is installed already: not touching it"
	local spool_was=no
	[ -d /var/spool/mq ] && spool_was=yes
	touch "$DEB_DIR/installed"
	run -0 dpkg_do -i "$(deb)"
	# the tools, from /usr/bin, not from the tree
	run -0 env PATH=/usr/bin:/bin sh -e -c '
		mqput -c -l q </dev/null
		echo hello | mqput -q q
		m=$(mqget q) && cat "$m" && mqack "$m"
		mqstat -j q'
	[[ $output == *hello* ]]
	[[ $output == *'"visible":0'* ]]
	# the user and its spool, from sysusers.d and tmpfiles.d
	run -0 id -u mq
	[ "$(stat -c %U:%a /var/spool/mq)" = "mq:750" ]
	[ -f /lib/systemd/system/mqwatch@.service ]
	grep -q '^ExecStart=/usr/bin/mqwatch ' /lib/systemd/system/mqwatch@.service
	run -0 dpkg_do -r mq
	[ ! -e /usr/bin/mqput ]
	[ ! -e /lib/systemd/system/mqreap.service ]
	run -0 dpkg_do -P mq
	run dpkg-query -W -f='${Status}' mq
	[[ $output != *installed* ]]
	# an empty spool that the package made goes too; the user stays (Debian's way)
	[ "$spool_was" = yes ] || rmdir /var/spool/mq
}
