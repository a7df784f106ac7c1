#!/usr/bin/env bats
# Priorities (issue 24): a level from 0 (the most urgent) to 9 on every
# message, the p field of its name; no field for the default, 5.

load test_helper

@test "mqput -p writes the level as the name's first field; the default writes none" {
	mkq q
	a=$(put q -p 0)
	b=$(put q -p 5)
	c=$(put q -p 9 -e 1h)
	d=$(put q)
	[ -e "q/new/$a,p0" ]
	[ -e "q/new/$b" ]
	[ -e "q/new/$d" ]
	ls q/new | grep -qx "$c,p9,t[0-9]*"
	[ "$(count q/new)" = 4 ]
}

@test "mqput -p refuses what is not a level, with exit 2" {
	mkq q
	for l in 10 -1 a '' 05; do
		run -2 --separate-stderr mqput -p "$l" q </dev/null
		[[ $stderr == *"-p $l: bad level"* ]]
	done
	[ "$(count q/new)" = 0 ]
}

@test "mqpub -p gives every copy its level" {
	mkq a
	mkq b
	mqpub -c -a t a b
	id=$(echo hi | mqpub -p 1 t)
	ls a/new | grep -qx "$id\.a,p1"
	ls b/new | grep -qx "$id\.b,p1"
}

@test "a maildir writer's name, even one with commas, is of the default level" {
	mkq q
	echo x >q/new/1732000000.M4P5.host,S=2
	echo y >q/new/1732000001.M4P5.host,p5
	run -0 mqget -n 2 q
	[[ ${lines[0]} == */cur/1732000000.M4P5.host,S=2,d1,c* ]]
	[[ ${lines[1]} == */cur/1732000001.M4P5.host,p5,d1,c* ]]
}

@test "a claim, a release and a dead letter keep the level; mqmove too" {
	mkq q
	mkq r
	id=$(put q -p 2)
	c=$(mqget q)
	[[ $c == */cur/$id,p2,d1,c* ]]
	mqack -r "$c"
	[ -e "q/new/$id,p2,d1" ]
	c=$(mqget q)
	mqack -f broken "$c"
	ls q/dead | grep -qx "$id,p2,d2,rbroken"
	run -0 mqmove -s dead q r
	ls r/new | grep -qx "$id,p2"
}
