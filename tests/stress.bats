#!/usr/bin/env bats
# Many producers and consumers at once on one queue: every message is
# delivered, none twice once acknowledged, nothing invented (Jepsen's
# queue checker counters).

load test_helper

PRODUCERS=4
CONSUMERS=4
PER_PRODUCER=2500

# consume K: claim batches, record the bodies, acknowledge; stop once the
# producers are done and the queue stays empty.
consume() {
	local k=$1 paths rc
	while :; do
		rc=0
		paths=$(mqget -n 50 -w 2s q) || rc=$?
		if [ "$rc" = 1 ]; then
			[ -e produced ] && break
			continue
		fi
		[ "$rc" = 0 ] || { echo "mqget exit $rc" >>errors; break; }
		# Bodies are recorded only for claims that were acknowledged.
		mapfile -t p <<<"$paths"
		cat "${p[@]}" >batch$k || { echo "cat failed" >>errors; break; }
		if mqack "${p[@]}"; then
			cat batch$k >>acked$k
		else
			echo "mqack exit $?" >>errors
		fi
	done
}

@test "4 producers x 4 consumers x 10000 messages: none lost, none twice" {
	mkq q
	start=$(date +%s%N)
	for k in $(seq $CONSUMERS); do
		consume "$k" 3>&- &
		cons[k]=$!
	done
	for k in $(seq $PRODUCERS); do
		seq -f "p$k-%g" 1 $PER_PRODUCER >in$k
		(mqput -l q <in$k >ids$k || echo "mqput $k exit $?" >>errors) 3>&- &
		prod[k]=$!
	done
	for k in $(seq $PRODUCERS); do wait "${prod[k]}"; done
	touch produced
	for k in $(seq $CONSUMERS); do wait "${cons[k]}"; done
	ms=$(( ($(date +%s%N) - start) / 1000000 ))

	cat in* | sort >attempted
	cat ids* | wc -l >enqueued
	cat acked* | sort >acked
	sort -u acked >acked.uniq
	attempted=$(wc -l <attempted)
	acked=$(wc -l <acked)
	lost=$(comm -23 attempted acked.uniq | wc -l)
	duplicated=$(( acked - $(wc -l <acked.uniq) ))
	unexpected=$(comm -13 attempted acked.uniq | wc -l)
	echo "# attempted=$attempted enqueued=$(cat enqueued) acked=$acked lost=$lost duplicated=$duplicated unexpected=$unexpected in ${ms} ms" >&3
	[ ! -e errors ] || { cat errors; false; }
	[ "$attempted" = $((PRODUCERS * PER_PRODUCER)) ]
	[ "$(cat enqueued)" = "$attempted" ]
	[ "$lost" = 0 ]
	[ "$duplicated" = 0 ]
	[ "$unexpected" = 0 ]
	[ "$(count q/new)" = 0 ]
	[ "$(count q/cur)" = 0 ]
	[ "$(count q/tmp)" = 0 ]
	[ "$(count q/done)" = "$attempted" ]
	# Each producer's messages were enqueued in its order.
	for k in $(seq $PRODUCERS); do
		cmp ids$k <(LC_ALL=C ls q/done | sed 's/,.*//' | grep -Fx -f ids$k)
	done
}

@test "consumers that crash mid-claim lose nothing: claims come back" {
	mkq q
	seq -f 'm%g' 1 500 | mqput -l q >/dev/null
	# Half the claims are abandoned, as by a consumer killed before mqack.
	n=0
	while paths=$(mqget -n 10 q); do
		mapfile -t p <<<"$paths"
		n=$((n + 1))
		if [ $((n % 2)) = 0 ]; then
			cat "${p[@]}" >>acked
			mqack "${p[@]}"
		fi
	done
	[ "$(count q/cur)" = 250 ]
	# Once their deadline passed, the abandoned claims are delivered again.
	while paths=$(faketime -f '+1h' mqget -n 50 q); do
		mapfile -t p <<<"$paths"
		cat "${p[@]}" >>acked
		faketime -f '+1h' mqack "${p[@]}"
	done
	sort acked >acked.s
	seq -f 'm%g' 1 500 | sort | cmp - acked.s
	[ "$(count q/cur)" = 0 ]
	[ "$(ls q/done | grep -c ',d2$')" = 250 ]
}
