#!/bin/sh
# Scenario 4, the Like counter: many users like a few posts at once.  Each
# like is a message in the ordered group of its post (mqput -G post-3): of
# one group, one message at a time is claimed, in the order they were put,
# while other posts' likes are handled in parallel.  The workers update the
# counters with no lock at all (read the count, think, write it plus one):
# with groups every like counts, in order; the same run without -G loses
# likes, two workers writing the same post's counter over each other.
. "$(dirname -- "$0")/scenario.sh"

posts=5 clients=4 each=$(scaled 40)
total=$((clients * each))
say "$total likes from $clients clients on $posts posts, 4 workers (mqwatch -j 4), no lock"

APPLY='read -r post c i; read -r n <counts/$post; sleep 0.01
	echo $((n + 1)) >counts/$post; echo "$c $i" >>applied/$post'

likes() {	# -G, or nothing
	rm -rf likes counts applied && mkdir counts applied
	mqput -c -l likes </dev/null
	for k in $(seq "$posts"); do echo 0 >counts/post-$k; done
	for c in $(seq "$clients"); do
		(for i in $(seq "$each"); do
			k=$(((i * 7 + c) % posts + 1))
			echo "post-$k $c $i" | mqput -q ${1:+"$1" post-$k} likes
		done) &
	done
	mqwatch -j 4 -n "$total" -i 10s likes -- sh -c "$APPLY" ||
		fail "mqwatch exited $?"
	wait
	sum=0 shown=
	for k in $(seq "$posts"); do
		n=$(cat counts/post-$k) && sum=$((sum + n)) && shown="$shown $n"
	done
}

likes -G
say "with groups: counters$shown, $sum in all"
for k in $(seq "$posts"); do
	[ "$(cat counts/post-$k)" = "$(n_lines applied/post-$k)" ] ||
		fail "post-$k counts $(cat counts/post-$k) of $(n_lines applied/post-$k) likes"
	# Each client's likes of a post are applied in the order it gave them.
	for c in $(seq "$clients"); do eval "last_$c=0"; done
	while read -r c i; do
		eval "[ \$last_$c -lt $i ]" || fail "post-$k: client $c's like $i out of order"
		eval "last_$c=$i"
	done <applied/post-$k
done
[ "$sum" = "$total" ] || fail "$sum likes counted of $total"
[ "$(n_of likes/new)$(n_of likes/cur)" = 00 ] || fail "messages left in likes/"

likes
say "without -G:  counters$shown, $sum in all: $((total - sum)) likes lost"
verdict
