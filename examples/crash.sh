#!/bin/sh
# Scenario 6, a crashed server's jobs go to the others (the pizza chain):
# two servers bake the orders of one queue on a shared file system (a
# GlusterFS volume made on this machine, mounted twice; each server is a
# "host" of its own: unshare gives it a host name and processes of its
# own).  Their claims last 10 minutes, as long jobs need.  One server
# crashes with orders in the oven: its heartbeat in orders/hosts/ stops, and
# once it is older than host_timeout (5 s) the other server takes those
# orders back at once, not 10 minutes later, while its own stay with it.
# Each order is baked to the end once.
. "$(dirname -- "$0")/scenario.sh"

fs="$here/../tests/cluster/fs.sh"	# the test harness makes the volume
[ -f "$fs" ] || skip "run it from the repository: tests/cluster/ makes the volume"
why=$(bash -c '. "$1" && fs_why_not' fs "$fs")
[ -z "$why" ] || skip "$why"
cluster() { bash -c '. "$1" && shift && "$@"' fs "$fs" "$@" >/dev/null 2>&1; }
# unshare --fork does not die of SIGTERM: SIGKILL takes the host with it.
cleanup() {
	[ -z "${b:-}" ] || stop "$b" KILL
	cluster fs_down "$work/gl"
}
cluster fs_up "$work/gl" || { fail "the GlusterFS volume could not be made"; verdict; }

n=9				# orders: 3 ovens a server, 3 waiting
q1=$work/gl/m1/orders q2=$work/gl/m2/orders	# one queue, seen by each host
mqput -c -l "$q1" </dev/null
printf 'host_timeout = 5s\npoll = 100ms\n' >>"$q1/config"
for i in $(seq "$n"); do echo "pizza-$i"; done | mqput -l -q "$q1"

# A server: its own host name and processes (killed all at once by
# killing unshare: --kill-child), 3 ovens (-j 3), 2 s a pizza.
server() {	# NAME QUEUE
	bg unshare --uts --pid --fork --mount-proc --kill-child sh -c "hostname $1
	    exec mqwatch -j 3 -t 10m $2 -- sh -c 'read -r p
		echo \"$1 \$p \$MQ_DELIVERIES\" >>$work/oven; sleep 2'"
}
server shopA "$q1" && a=$!
server shopB "$q2" && b=$!
busy() { [ "$(n_lines oven)" -ge 6 ]; }
until_true 30 busy || fail "the servers did not start baking"
say "$n orders, two servers of 3 ovens; their heartbeats: ls orders/hosts:" $(ls "$q1/hosts")
inA=$(echo $(while read -r s p d; do [ "$s" = shopA ] && echo "$p"; done <oven))
say "  shopA bakes" $inA
stop "$a" KILL
say "shopA crashed with those in the oven, their claims good for 10 minutes"
again() { [ "$(n_lines oven)" -gt "$n" ]; }
t=0
until again || [ "$t" -ge 600 ]; do sleep 0.1 && t=$((t + 1)); done
say "shopB took them back about $((t / 10)) s later (host_timeout: 5 s after shopA's last heartbeat)"

baked() { [ "$(n_of "$q1/done")" -ge "$n" ]; }
until_true 120 baked || fail "$(n_of "$q1/done") of $n orders done in 2 minutes"
say "  shopB bakes again:" $(while read -r s p d; do [ "$d" = 1 ] || echo "$p"; done <oven)

# Every order done once; shopB never had one of its own taken.
[ "$(n_of "$q1/done")" = "$n" ] || fail "$(n_of "$q1/done") in done/ for $n orders"
again=0
while read -r s p d; do
	[ "$d" = 1 ] && continue
	again=$((again + 1))
	[ "$s" = shopB ] || fail "$p delivered again to $s"
	case " $inA " in *" $p "*) ;; *) fail "$p taken from shopB" ;; esac
done <oven
[ "$again" -ge 1 ] || fail "no order of shopA was taken back"
[ "$(n_lines oven)" = $((n + again)) ] || fail "$(n_lines oven) bakes for $n orders"
verdict
