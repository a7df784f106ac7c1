# tests/cluster/ceph.sh: a one-node Ceph cluster on this machine with a
# CephFS mounted twice through ceph-fuse, for the cluster tests (sourced
# by bash, through tests/cluster/fs.sh).
#
#   ceph_why_not         prints why this machine cannot run it, or nothing
#   ceph_up DIR          a monitor, a manager, one OSD (BlueStore on a
#                        sparse file), an MDS and a CephFS, all under DIR,
#                        mounted on DIR/m1 and DIR/m2 (two clients)
#   ceph_down DIR        unmounts, stops every daemon ceph_up started,
#                        removes the cluster's data
#   ceph_mount DIR I     mounts the file system again on DIR/mI
#   ceph_crash DIR I     the client of DIR/mI dies as its host would: no
#                        unmount, its session left to time out at the MDS
#
# Everything listens on 127.0.0.1 only; the monitor on a port free when
# ceph_up looks (several clusters may run at once, one per test run),
# the other daemons on ports Ceph picks.  No authentication (auth none):
# nothing but this machine can reach the cluster.  Small on purpose:
# pools of size 1 with one placement group, osd_memory_target 1 GiB; about
# 650 MB of memory in all under load (the manager 300 MB of it), and 130 MB
# of the 8 GiB sparse file written.  Every daemon and client writes its pid under
# DIR/run and its log under DIR/log; DIR/ceph.env marks DIR as a Ceph
# cluster's, so that any later process (a bats teardown, a trap) can stop
# what runs and clean up.
# Packages come from Debian (tests/deps.sh); the hosts are gl_host's.

CEPH_ROOT=${CEPH_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
. "$CEPH_ROOT/tests/cluster/gluster.sh"

CEPH_PKGS="ceph-mon ceph-mgr ceph-osd ceph-mds ceph-fuse ceph-common"

# A client that dies keeps its capabilities (on the queue's directories,
# say) until the MDS finds its session stale, and other clients wait for
# them that long: session_timeout, 60 s by default, at least 30 s; the MDS
# looks every 5 s (mds_tick_interval).  ceph_up sets the least.
CEPH_SESSION_TIMEOUT=30

ceph_why_not() {
	local kb
	[ "$(id -u)" -eq 0 ] || { echo "needs root (ceph daemons, mount)"; return; }
	[ -c /dev/fuse ] || { echo "no /dev/fuse: ceph-fuse cannot run here"; return; }
	# shellcheck disable=SC2086
	sh "$CEPH_ROOT/tests/deps.sh" $CEPH_PKGS util-linux iproute2 \
	    >/dev/null 2>&1 ||
	    { echo "$CEPH_PKGS cannot be installed"; return; }
	command -v unshare >/dev/null || { echo "no unshare(1)"; return; }
	unshare --uts --pid --fork --mount-proc true 2>/dev/null ||
	    { echo "unshare --uts --pid --mount-proc is refused here"; return; }
	kb=$(awk '$1 == "MemAvailable:" { print $2 }' /proc/meminfo)
	[ "${kb:-0}" -ge 1500000 ] ||
	    { echo "less than 1.5 GB of memory available (${kb:-?} kB)"; return; }
}

# ceph_cmd DIR ARGS...: the ceph CLI on DIR's cluster.
ceph_cmd() {
	local d=$1
	shift
	timeout 60 ceph -c "$d/ceph.conf" "$@"
}

# ceph_port: a TCP port of 127.0.0.1 nobody listens on now.
ceph_port() {
	local p i
	for i in $(seq 50); do
		p=$((20000 + RANDOM % 20000))
		[ -z "$(ss -Htln "sport = :$p")" ] && { echo "$p"; return 0; }
	done
	return 1
}

# ceph_conf DIR FSID PORT: the cluster's one configuration file.  All a
# daemon writes stays under DIR: pids, sockets, logs, the cluster log and
# crash reports (else /var/run/ceph, /var/log/ceph, /var/lib/ceph/crash).
ceph_conf() {
	cat <<EOF
[global]
fsid = $2
mon_host = [v2:127.0.0.1:$3]
public_addr = 127.0.0.1
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
run_dir = $1/run
crash_dir = $1/log
mon_cluster_log_file = $1/log/\$channel.log
client_mount_timeout = 30
rados_mon_op_timeout = 30
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 1
osd_pool_default_pgp_num = 1
osd_pool_default_pg_autoscale_mode = off
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
mon_warn_on_insecure_global_id_reclaim_allowed = false
osd_crush_chooseleaf_type = 0
osd_objectstore = bluestore
bluestore_block_create = true
bluestore_block_size = 8589934592
osd_memory_target = 1073741824
[mon]
mon_data = $1/\$name
pid_file = $1/run/\$name.pid
log_file = $1/log/\$name.log
[mgr]
mgr_data = $1/\$name
pid_file = $1/run/\$name.pid
log_file = $1/log/\$name.log
[osd]
osd_data = $1/\$name
pid_file = $1/run/\$name.pid
log_file = $1/log/\$name.log
[mds]
mds_data = $1/\$name
pid_file = $1/run/\$name.pid
log_file = $1/log/\$name.log
[client]
admin_socket = $1/run/\$name.\$pid.asok
EOF
}

# ceph_daemon LOG CMD...: start CMD, a daemon, detached (gl_detached);
# what it says before it detaches (a refused option, a taken port) goes
# to LOG.
ceph_daemon() {
	local log=$1
	shift
	gl_detached sh -c 'exec "$@" >>"$0" 2>&1' "$log" "$@"
}

# ceph_fail DIR STEP LOG: say which step failed and where to look.
ceph_fail() {
	echo "ceph_up: $2 failed (see $1/$3)" >&2
	[ ! -f "$1/$3" ] || tail -n 5 "$1/$3" >&2
	return 1
}

# ceph_mon DIR: the monitor (and its map), on a free port.  Another
# cluster may take the port between the look and the bind: try again.
ceph_mon() {
	local d=$1 fsid port i
	fsid=$(cat /proc/sys/kernel/random/uuid)
	for i in 1 2 3; do
		port=$(ceph_port) || { echo "ceph_up: no free port" >&2; return 1; }
		rm -rf "$d/mon.a" "$d/monmap"
		mkdir -p "$d/mon.a"
		ceph_conf "$d" "$fsid" "$port" >"$d/ceph.conf"
		monmaptool --create --fsid "$fsid" \
		    --addv a "[v2:127.0.0.1:$port]" "$d/monmap" \
		    >"$d/log/mkfs.log" 2>&1 &&
		ceph-mon -c "$d/ceph.conf" -i a --mkfs --monmap "$d/monmap" \
		    >>"$d/log/mkfs.log" 2>&1 ||
		    { ceph_fail "$d" "ceph-mon --mkfs" log/mkfs.log; return; }
		ceph_daemon "$d/log/mon.a.log" ceph-mon -c "$d/ceph.conf" -i a &&
		    gl_wait 30 ceph_cmd "$d" mon stat && return 0
		[ ! -f "$d/run/mon.a.pid" ] || kill "$(cat "$d/run/mon.a.pid")"
	done
	ceph_fail "$d" "the monitor" log/mon.a.log
}

# ceph_osd DIR: OSD 0, BlueStore on DIR/osd.0/block, a sparse file.
ceph_osd() {
	local d=$1 uuid id
	uuid=$(cat /proc/sys/kernel/random/uuid)
	id=$(ceph_cmd "$d" osd new "$uuid" 2>>"$d/log/mkfs.log") ||
	    { ceph_fail "$d" "ceph osd new" log/mkfs.log; return; }
	mkdir -p "$d/osd.$id"
	ceph-osd -c "$d/ceph.conf" -i "$id" --mkfs --osd-uuid "$uuid" \
	    >>"$d/log/mkfs.log" 2>&1 ||
	    { ceph_fail "$d" "ceph-osd --mkfs (BlueStore on a file)" log/mkfs.log; return; }
	ceph_daemon "$d/log/osd.$id.log" ceph-osd -c "$d/ceph.conf" -i "$id" &&
	    gl_wait 60 sh -c "ceph -c '$d/ceph.conf' osd dump |
	    grep -q '^osd.$id up '" ||
	    ceph_fail "$d" "the OSD" "log/osd.$id.log"
}

# ceph_fs DIR: the MDS and the file system; waits for the MDS to serve it.
ceph_fs() {
	local d=$1
	mkdir -p "$d/mds.a"
	ceph_daemon "$d/log/mds.a.log" ceph-mds -c "$d/ceph.conf" -i a ||
	    { ceph_fail "$d" "ceph-mds" log/mds.a.log; return; }
	{ ceph_cmd "$d" osd pool create mqmeta 1 1 &&
	  ceph_cmd "$d" osd pool create mqdata 1 1 &&
	  ceph_cmd "$d" fs new mqfs mqmeta mqdata &&
	  ceph_cmd "$d" fs set mqfs session_timeout "$CEPH_SESSION_TIMEOUT"; } \
	    >>"$d/log/mkfs.log" 2>&1 ||
	    { ceph_fail "$d" "ceph fs new" log/mkfs.log; return; }
	gl_wait 60 sh -c "ceph -c '$d/ceph.conf' mds stat | grep -q up:active" ||
	    ceph_fail "$d" "the MDS" log/mds.a.log
}

ceph_up() {
	local d=$1
	mkdir -p "$d"
	d=$(cd "$d" && pwd)
	mkdir -p "$d/run" "$d/log" "$d/m1" "$d/m2" "$d/mgr.x"
	echo "CEPH_DIR=$d" >"$d/ceph.env"
	ceph_mon "$d" || return
	# The manager: placement group statistics and health; the file
	# system itself would work without it.
	ceph_daemon "$d/log/mgr.x.log" ceph-mgr -c "$d/ceph.conf" -i x ||
	    { ceph_fail "$d" "ceph-mgr" log/mgr.x.log; return; }
	ceph_osd "$d" && ceph_fs "$d" && ceph_mount "$d" 1 && ceph_mount "$d" 2
}

# ceph_mount DIR I: a client on DIR/mI; its pid in DIR/run/fuse.mI.pid.
ceph_mount() {
	local d=$1 m=$1/m$2
	mountpoint -q "$m" && return 0
	ceph_daemon "$d/log/fuse.m$2.log" ceph-fuse -c "$d/ceph.conf" \
	    --pid-file "$d/run/fuse.m$2.pid" --log-file "$d/log/fuse.m$2.log" "$m" &&
	    mountpoint -q "$m" ||
	    ceph_fail "$d" "ceph-fuse on $m" "log/fuse.m$2.log"
}

# ceph_crash DIR I: SIGKILL to the client of DIR/mI, then the dead mount
# is detached.  The MDS still holds the client's session and capabilities
# until it finds it stale (CEPH_SESSION_TIMEOUT): until then, the other
# client's creates and renames in a directory the dead one had cached
# wait.
ceph_crash() {
	local p=$1/run/fuse.m$2.pid
	[ -f "$p" ] && kill -KILL "$(cat "$p")" 2>/dev/null
	rm -f "$p"
	umount -l "$1/m$2" 2>/dev/null
	return 0
}

# ceph_stop PIDFILE...: TERM to each, then KILL to those left after 10 s
# (a daemon that lost its monitor may never end); returns once all are
# gone.  Nothing of the cluster is kept, so nothing need stop in order.
ceph_stop() {
	local f p pids=
	for f; do
		[ -f "$f" ] || continue
		p=$(cat "$f")
		rm -f "$f"
		kill "$p" 2>/dev/null && pids="$pids $p"
	done
	[ -n "$pids" ] || return 0
	# shellcheck disable=SC2086
	gl_wait 10 ceph_gone $pids || {
		kill -KILL $pids 2>/dev/null
		gl_wait 10 ceph_gone $pids
	}
}

# ceph_gone PID...: none of them runs.
ceph_gone() {
	local p
	for p; do
		! kill -0 "$p" 2>/dev/null || return 1
	done
}

ceph_down() {
	local d=$1 CEPH_DIR= i
	[ -f "$d/ceph.env" ] || return 0
	. "$d/ceph.env"
	# A clean unmount ends its client; a busy mount is detached and its
	# client stopped with the daemons.
	for i in 1 2; do
		umount "$CEPH_DIR/m$i" 2>/dev/null ||
		    umount -l "$CEPH_DIR/m$i" 2>/dev/null
	done
	ceph_stop "$CEPH_DIR"/run/*.pid
	rm -rf "$CEPH_DIR"/mon.a "$CEPH_DIR"/mgr.x "$CEPH_DIR"/osd.* \
	    "$CEPH_DIR"/mds.a "$CEPH_DIR/run" "$CEPH_DIR/monmap"
	rm -f "$CEPH_DIR/ceph.env"
}
