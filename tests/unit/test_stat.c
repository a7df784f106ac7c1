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

/* The state of a message in dir with these times, as mqstat says it. */
static enum mq_state
state_of(enum mq_dir dir, const struct stat *st, long long now)
{
	struct mq_look l;
	enum mq_look_kind k = MQ_LOOK_DUE;

	memset(&l, 0, sizeof(l));
	if (dir == MQ_CUR)
		k = mq_gate_claim(NULL, st, &l, now);
	else if (dir == MQ_NEW && mq_mtime_ms(st) > now)
		k = MQ_LOOK_WAITING;
	return mq_look_state(dir, k);
}

static void
states(void)
{
	struct stat st;

	st = at(NOW, NOW);
	CHECK(state_of(MQ_NEW, &st, NOW) == MQ_ST_VISIBLE);
	st = at(NOW + 1, NOW);
	CHECK(state_of(MQ_NEW, &st, NOW) == MQ_ST_DELAYED);
	/* a claim: live until its deadline, and its rename 2 s old */
	st = at(NOW + 1, NOW - 60000);
	CHECK(state_of(MQ_CUR, &st, NOW) == MQ_ST_INFLIGHT);
	st = at(NOW - 1, NOW - 60000);
	CHECK(state_of(MQ_CUR, &st, NOW) == MQ_ST_EXPIRED);
	st = at(NOW - 60000, NOW - MQ_RENAME_GRACE_MS + 1);
	CHECK(state_of(MQ_CUR, &st, NOW) == MQ_ST_INFLIGHT);
	st = at(NOW - 60000, NOW - MQ_RENAME_GRACE_MS);
	CHECK(state_of(MQ_CUR, &st, NOW) == MQ_ST_EXPIRED);
	CHECK(state_of(MQ_DONE, NULL, NOW) == MQ_ST_DONE);
	CHECK(state_of(MQ_DEAD, NULL, NOW) == MQ_ST_DEAD);
	CHECK(state_of(MQ_TMP, NULL, NOW) == MQ_ST_TMP);
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
