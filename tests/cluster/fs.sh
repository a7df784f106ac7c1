# tests/cluster/fs.sh: the cluster's shared file system, whichever it is,
# for the cluster tests (sourced by bash: tests/cluster.bats,
# tests/cluster/run.sh, bench/cluster.sh).
#
#   CLUSTER_FS           glusterfs (the default) or cephfs: what fs_up makes
#   fs_why_not           prints why this machine cannot run CLUSTER_FS
#   fs_up DIR            the file system, mounted on DIR/m1 and DIR/m2
#   fs_down DIR          undoes fs_up (whichever fs DIR holds)
#   fs_mount DIR I       mounts it again on DIR/mI (a host coming back)
#   fs_crash DIR I       DIR/mI's client goes as its host's crash takes it
#   fs_name DIR          what DIR holds, with its version, for reports
#   fs_stall DIR         seconds a crashed host's client may hold up the
#                        other hosts' moves (0 where nothing waits for it)
#
# The hosts are the same on every file system: gl_host NAME CMD and
# gl_host_kill PID (tests/cluster/gluster.sh).  GlusterFS is made by
# tests/cluster/gluster.sh (gl_*), CephFS by tests/cluster/ceph.sh
# (ceph_*); fs_down, fs_mount and fs_crash go by what DIR holds, so that a
# teardown needs no CLUSTER_FS.

FS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$FS_ROOT/gluster.sh"
. "$FS_ROOT/ceph.sh"

CLUSTER_FS=${CLUSTER_FS:-glusterfs}

fs_why_not() {
	case $CLUSTER_FS in
	glusterfs) gl_why_not ;;
	cephfs) ceph_why_not ;;
	*) echo "CLUSTER_FS=$CLUSTER_FS: not glusterfs or cephfs" ;;
	esac
}

fs_up() {
	case $CLUSTER_FS in
	glusterfs) gl_up "$1" ;;
	cephfs) ceph_up "$1" ;;
	*) return 1 ;;
	esac
}

fs_down() {
	gl_down "$1"
	ceph_down "$1"
}

fs_mount() {
	if [ -f "$1/ceph.env" ]; then
		ceph_mount "$1" "$2"
	else
		gl_mount "$1" "$2"
	fi
}

# fs_crash DIR I: on GlusterFS the mount is taken away and its client
# stopped; on CephFS the client is killed, its session left to the MDS.
fs_crash() {
	if [ -f "$1/ceph.env" ]; then
		ceph_crash "$1" "$2"
	else
		gl_umount "$1/m$2"
	fi
}

fs_name() {
	if [ -f "$1/ceph.env" ]; then
		echo "CephFS $(dpkg-query -W -f='${Version}' ceph-mds 2>/dev/null)"
	else
		echo "GlusterFS $(dpkg-query -W -f='${Version}' glusterfs-server 2>/dev/null)"
	fi
}

# fs_stall DIR: on CephFS the MDS's session timeout and a tick.
fs_stall() {
	if [ -f "$1/ceph.env" ]; then
		echo $((CEPH_SESSION_TIMEOUT + 5))
	else
		echo 0
	fi
}
