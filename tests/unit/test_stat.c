/*
 * test_stat.c: the states of a message (stat.c) from its directory and
 * times, and the state lists an operator names (admin.c): no spool needed.
 */
#include <string.h>

#include "mq-internal.h"
#include "check.h"

#define NOW 1800000000000LL

static struct stat
at(long long mtime_ms, long long ctime_ms)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	st.st_mtim.tv_sec = mtime_ms / 1000;
	st.st_mtim.tv_nsec = mtime_ms % 1000 * 1000000;
	st.st_ctim.tv_sec = ctime_ms / 1000;
	st.st_ctim.tv_nsec = ctime_ms % 1000 * 1000000;
	return st;
}

static void
states(void)
{
	struct stat st;

	st = at(NOW, NOW);
	CHECK(mq_state_of(MQ_NEW, &st, NOW) == MQ_ST_VISIBLE);
	st = at(NOW + 1, NOW);
	CHECK(mq_state_of(MQ_NEW, &st, NOW) == MQ_ST_DELAYED);
	/* a claim: live until its deadline, and its rename 2 s old */
	st = at(NOW + 1, NOW - 60000);
	CHECK(mq_state_of(MQ_CUR, &st, NOW) == MQ_ST_INFLIGHT);
	st = at(NOW - 1, NOW - 60000);
	CHECK(mq_state_of(MQ_CUR, &st, NOW) == MQ_ST_EXPIRED);
	st = at(NOW - 60000, NOW - MQ_SETTLE_MS + 1);
	CHECK(mq_state_of(MQ_CUR, &st, NOW) == MQ_ST_INFLIGHT);
	st = at(NOW - 60000, NOW - MQ_SETTLE_MS);
	CHECK(mq_state_of(MQ_CUR, &st, NOW) == MQ_ST_EXPIRED);
	CHECK(mq_state_of(MQ_DONE, NULL, NOW) == MQ_ST_DONE);
	CHECK(mq_state_of(MQ_DEAD, NULL, NOW) == MQ_ST_DEAD);
	CHECK(mq_state_of(MQ_TMP, NULL, NOW) == MQ_ST_TMP);
}

static void
lists(void)
{
	unsigned s;

	CHECK(mq_states_parse("dead", &s) == 0 &&
	    s == MQ_STATE_BIT(MQ_ST_DEAD));
	CHECK(mq_states_parse("dead,done", &s) == 0 &&
	    s == (MQ_STATE_BIT(MQ_ST_DEAD) | MQ_STATE_BIT(MQ_ST_DONE)));
	CHECK(mq_states_parse("waiting", &s) == 0 &&
	    s == (MQ_STATE_BIT(MQ_ST_VISIBLE) | MQ_STATE_BIT(MQ_ST_DELAYED)));
	/* all: never the claims in flight, never tmp/ */
	CHECK(mq_states_parse("all", &s) == 0 &&
	    !(s & MQ_STATE_BIT(MQ_ST_INFLIGHT)) &&
	    !(s & MQ_STATE_BIT(MQ_ST_TMP)) && (s & MQ_STATE_BIT(MQ_ST_EXPIRED)));
	CHECK(mq_states_parse("all,inflight", &s) == 0 &&
	    (s & MQ_STATE_BIT(MQ_ST_INFLIGHT)));
	CHECK(mq_states_parse("", &s) < 0);
	CHECK(mq_states_parse("dead,", &s) < 0);
	CHECK(mq_states_parse("DEAD", &s) < 0);
	CHECK(mq_states_parse("everything", &s) < 0);
}

int
main(void)
{
	states();
	lists();
	return check_done("test_stat");
}
