#!/bin/sh
# Scenario 3, uploads processed in the background (the video case): each
# upload is published once to the topic "uploads", to which four queues are
# subscribed: 144p, 720p and 1080p transcoding, and captions, each served
# by its own pool of workers (mqwatch -j).  1080p runs on two machines' worth
# of pools; one of them is killed (SIGKILL) in the middle of a job.  Its
# handler dies with it, mqreap -f sees its owner gone and puts the job back
# at once, and the other pool does it again.  Every output exists once.
. "$(dirname -- "$0")/scenario.sh"

n=$(scaled 10)			# uploads, one every 0.3 s; at least 2,
[ "$n" -ge 2 ] || n=2		# so that both 1080p pools are busy
for q in t144 t720 t1080 captions; do mqput -c -l $q </dev/null; done
mqpub -a -c uploads t144 t720 t1080 captions
mkdir out

# A pool of workers.  A job notes its start and delivery, works a while
# (sleep stands for the transcoder), then writes its output, named by the
# copy's id (upload-3.t720).
pool() {	# SECONDS [-j JOBS] QUEUE
	t=$1 && shift
	bg mqwatch "$@" -- sh -c "echo \$MQ_ID \$MQ_DELIVERIES >>started; sleep $t
	    { cat; echo done by \$MQ_QUEUE; } >out/\$MQ_ID"
}
pool 0.2 -j 2 t144
pool 0.5 -j 2 t720
pool 0.3 -j 2 captions
pool 1 t1080 && a=$!
pool 1 t1080 && b=$!
bg mqreap -f t1080
say "4 queues on the topic: $(ls -m uploads/subscribers); 1080p: pools $a and $b"

# Pool $a's claims carry its pid as their owner: t1080/cur/ID,d1,oTAG-PID,...
busy() {
	for job in t1080/cur/*-"$a",*; do [ -e "$job" ] && return 0; done
	return 1
}
for i in $(seq "$n"); do
	echo "upload $i: cat video, 4k" | mqpub -q -i "upload-$i" uploads ||
		fail "upload $i not published"
	sleep 0.3
	[ "$i" = $(((n + 2) / 2)) ] || continue
	until_true 30 busy || fail "pool $a took no 1080p job"
	say "after $i uploads, killing pool $a in the middle of ${job##*/}"
	stop "$a" KILL
done

outputs() { [ "$(n_of out)" -ge $((4 * n)) ]; }
until_true 60 outputs || fail "$(n_of out) outputs of $((4 * n))"
say "$(n_of out) outputs for $n uploads; jobs started: $(n_lines started)," \
    "again after the kill: $(while read -r id d; do [ "$d" = 1 ] || echo "$id"; done <started)"
say "cat out/upload-1.t1080:" $(cat out/upload-1.t1080)

for i in $(seq "$n"); do
	for q in t144 t720 t1080 captions; do
		[ "$(cat out/upload-$i.$q 2>/dev/null)" = "upload $i: cat video, 4k
done by $q" ] || fail "out/upload-$i.$q is missing or wrong"
	done
done
[ "$(n_lines started)" -gt $((4 * n)) ] || fail "no job was started again"
[ "$(n_of out)" = $((4 * n)) ] || fail "$(n_of out) outputs, not $((4 * n))"
verdict
