#!/bin/bash
# tests/like.sh: a Like counter's update, as mqwatch's handler (the Like
# counter tests of groups.bats and cluster.bats).  The body is "ENTITY
# PRODUCER SEQ"; the update is applied without any lock: read the entity's
# counter (counters/ENTITY), think 1-5 ms, write it back plus one.  Then a
# line in logs/ENTITY: the message id, the start and end times (in
# microseconds), the producer and its sequence number.
read -r e p i
s=${EPOCHREALTIME/./}
read -r n <"counters/$e"
sleep "0.00$((RANDOM % 5 + 1))"
echo $((n + 1)) >"counters/$e"
echo "$MQ_ID $s ${EPOCHREALTIME/./} $p $i" >>"logs/$e"
