# tests/cluster/gluster.sh: a GlusterFS volume on this machine, mounted
# twice, for the cluster tests (sourced by bash: tests/cluster.bats,
# tests/cluster/run.sh, bench/cluster.sh).
#
#   gl_why_not           prints why this machine cannot run it, or nothing
#   gl_up DIR            glusterd (started if none runs), a replica-2 volume
#                        with both bricks under DIR, mounted on DIR/m1, DIR/m2
#   gl_down DIR          unmounts, removes the volume, stops what gl_up started
#   gl_host NAME CMD...  CMD as host NAME: its own host name, PID and mount
#                        namespaces (unshare); its pid 1 is CMD's shell
#
# gl_up writes what gl_down needs into DIR/gl.env, so that any later
# process (a bats teardown, a trap) can clean up.  Packages come from
# Debian (tests/deps.sh).  Every address used is this machine's host name,
# which must resolve to a loopback address: glusterd refuses "localhost"
# and 127.0.0.1 for a brick.

GL_ROOT=${GL_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}

gl_why_not() {
	local h ip
	[ "$(id -u)" -eq 0 ] || { echo "needs root (glusterd, mount)"; return; }
	[ -c /dev/fuse ] || { echo "no /dev/fuse: FUSE cannot run here"; return; }
	sh "$GL_ROOT/tests/deps.sh" glusterfs-server glusterfs-client \
	    util-linux >/dev/null 2>&1 ||
	    { echo "glusterfs-server/glusterfs-client cannot be installed"; return; }
	command -v unshare >/dev/null || { echo "no unshare(1)"; return; }
	unshare --uts --pid --fork --mount-proc true 2>/dev/null ||
	    { echo "unshare --uts --pid --mount-proc is refused here"; return; }
	h=$(hostname)
	ip=$(getent hosts "$h" | awk '{ print $1; exit }')
	case $ip in
	127.*) ;;
	*) echo "host name $h resolves to '${ip:-nothing}', not a loopback address: a volume here would use the network"; return ;;
	esac
}

# gl_wait SECONDS CMD...: poll CMD up to SECONDS (daemons start in the
# background and raise no event a script could wait on).
gl_wait() {
	local n=$(($1 * 10))
	shift
	until "$@" >/dev/null 2>&1; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 0.1
	done
}

# gl_detached CMD...: CMD with no descriptor of ours but /dev/null: the
# daemons it leaves (glusterd, a FUSE client) must not hold a pipe that a
# test runner waits on to close.
gl_detached() {
	bash -c 'for f in /proc/$$/fd/*; do
		n=${f##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-"
	done; exec "$@"' gl_detached "$@" </dev/null >/dev/null 2>&1
}

gl_up() {
	local d=$1 vol h
	mkdir -p "$d"
	d=$(cd "$d" && pwd)
	vol=mq$$x$RANDOM
	h=$(hostname)
	: >"$d/gl.env"
	echo "GL_VOL=$vol" >>"$d/gl.env"
	if ! pgrep -x glusterd >/dev/null; then
		gl_detached glusterd -p "$d/glusterd.pid" \
		    --log-file="$d/glusterd.log" || return 1
		echo "GL_OURS=1" >>"$d/gl.env"
		gl_wait 20 gluster --mode=script pool list || {
			echo "glusterd did not answer (see $d/glusterd.log)" >&2
			return 1
		}
	fi
	mkdir -p "$d/b1" "$d/b2" "$d/m1" "$d/m2"
	# force: the bricks are on the root file system, on one host.
	# features.ctime off: the bricks stamp times, not each client's
	# clock, so that a host's clock check (mq(7)) has a clock to compare.
	gluster --mode=script volume create "$vol" replica 2 \
	    "$h:$d/b1" "$h:$d/b2" force >"$d/gluster.log" 2>&1 &&
	gluster --mode=script volume set "$vol" features.ctime off \
	    >>"$d/gluster.log" 2>&1 &&
	gluster --mode=script volume start "$vol" >>"$d/gluster.log" 2>&1 || {
		cat "$d/gluster.log" >&2
		return 1
	}
	echo "GL_STARTED=1" >>"$d/gl.env"
	gl_detached mount -t glusterfs "$h:/$vol" "$d/m1" &&
	    gl_detached mount -t glusterfs "$h:/$vol" "$d/m2"
}

# gl_umount MNT: unmount a FUSE mount even if a dead host left it busy;
# its client (which a lazy unmount leaves running) is stopped too.
gl_umount() {
	local p
	mountpoint -q "$1" || return 0
	p=$(pgrep -f -- "--process-name fuse .* $1\$")
	umount "$1" 2>/dev/null || umount -l "$1"
	[ -z "$p" ] || kill $p 2>/dev/null
}

gl_down() {
	local d=$1 GL_VOL= GL_OURS= GL_STARTED= p
	[ -f "$d/gl.env" ] || return 0
	. "$d/gl.env"
	gl_umount "$d/m1"
	gl_umount "$d/m2"
	if [ -n "$GL_STARTED" ]; then
		gluster --mode=script volume stop "$GL_VOL" force >/dev/null 2>&1
		gluster --mode=script volume delete "$GL_VOL" >/dev/null 2>&1
	fi
	if [ -n "$GL_OURS" ]; then
		# Our glusterd and the self-heal daemon it started, by pid.
		for p in /var/run/gluster/shd/*/*-shd.pid "$d/glusterd.pid"; do
			[ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null
		done
	fi
	rm -f "$d/gl.env"
	rm -rf "$d/b1" "$d/b2"
}

# gl_host NAME CMD...: run CMD (a shell command line) as host NAME.  Run
# in the background, gl_host_kill $! kills the whole host.
gl_host() {
	local name=$1
	shift
	unshare --uts --pid --fork --mount-proc \
	    bash -c 'hostname "$1" && shift && eval "$*"' gl_host "$name" "$@"
}

# gl_host_kill PID: PID from $! after "gl_host ... &" (a subshell, or
# unshare itself).  SIGKILL to the host's pid 1, unshare's child, takes
# every process of the host with it; returns once that is done.
gl_host_kill() {
	local p=$1 init= i
	for i in 1 2 3; do
		if [ "$(cat "/proc/$p/comm" 2>/dev/null)" = unshare ]; then
			init=$(pgrep -P "$p" | head -n 1)
			break
		fi
		p=$(pgrep -P "$p" | head -n 1)
		[ -n "$p" ] || break
	done
	[ -n "$init" ] || return 1
	kill -KILL "$init"
	gl_wait 10 sh -c "! kill -0 $init"
}

# gl_mount DIR I: mount the volume again on DIR/mI (a host coming back).
gl_mount() {
	local GL_VOL=
	. "$1/gl.env"
	mountpoint -q "$1/m$2" ||
	    gl_detached mount -t glusterfs "$(hostname):/$GL_VOL" "$1/m$2"
}
