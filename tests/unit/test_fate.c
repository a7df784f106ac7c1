/*
 * test_fate.c: the one table of what becomes of a message (fate.c), row by
 * row, and the names it gives: no spool needed.
 */
#include <string.h>

#include "mq-internal.h"
#include "check.h"

#define NOW 1800000000000LL

static struct mq_config cfg;

static struct mq_verdict
fate(const char *name, enum mq_event ev)
{
	struct mq_verdict v;
	struct mq_name n;

	if (mq_name_parse(name, &n) < 0)
		memset(&n, 0, sizeof(n));
	mq_fate(&cfg, &n, ev, NOW, &v);
	return v;
}

/* The name a verdict gives, as a string. */
static const char *
after(const char *name, enum mq_event ev)
{
	static char out[MQ_NAME_MAX + 1];
	struct mq_verdict v = fate(name, ev);
	struct mq_name n, to;

	mq_name_parse(name, &n);
	mq_fate_name(&n, &v, NOW, &to);
	mq_name_format(out, sizeof(out), &to);
	return out;
}

static void
rules(void)
{
	/* Reached: claimed, unless its TTL passed or deliveries are used up. */
	CHECK(fate("1.a,d2", MQ_EV_REACHED).fate == MQ_FATE_CLAIM);
	CHECK(fate("1.a,t1000,d2", MQ_EV_REACHED).fate == MQ_FATE_DELETE);
	cfg.ttl_dead = 1;
	CHECK(fate("1.a,t1000", MQ_EV_REACHED).fate == MQ_FATE_BURY);
	CHECK(strcmp(after("1.a,t1000,d2", MQ_EV_EXPIRED),
	    "1.a,t1000,d2,rexpired") == 0);
	cfg.ttl_dead = 0;
	cfg.max_deliveries = 3;
	CHECK(fate("1.a,d2", MQ_EV_REACHED).fate == MQ_FATE_CLAIM);
	CHECK(fate("1.a,d3", MQ_EV_REACHED).fate == MQ_FATE_BURY);
	CHECK(strcmp(after("1.a,d3,oab-12,c99", MQ_EV_EXPIRED),
	    "1.a,d3,rmaxdeliveries") == 0);
	/* A TTL far off (18 digits, planted) is far off, not an overflow. */
	CHECK(fate("1.a,t999999999999999999", MQ_EV_REACHED).fate ==
	    MQ_FATE_CLAIM);
	CHECK(fate("1.a,t1800000000", MQ_EV_REACHED).fate == MQ_FATE_DELETE);
	CHECK(fate("1.a,t1800000001", MQ_EV_REACHED).fate == MQ_FATE_CLAIM);
	/* The TTL row comes first. */
	CHECK(fate("1.a,t1000,d3", MQ_EV_EXPIRED).fate == MQ_FATE_DELETE);
	/* An interrupted handler is no failure: not buried, back at once. */
	CHECK(fate("1.a,d3,c1", MQ_EV_INTERRUPTED).fate == MQ_FATE_RETURN);
	CHECK(fate("1.a,d3,c1", MQ_EV_INTERRUPTED).delay_ms == 0);
	CHECK(fate("1.a,d3,c1", MQ_EV_FAILED).fate == MQ_FATE_BURY);
	cfg.max_deliveries = 0;
	/* Failed: back after the backoff; the claim must still be live. */
	CHECK(fate("1.a,d3,c1", MQ_EV_FAILED).delay_ms == 4000);
	CHECK(fate("1.a,d3,c1", MQ_EV_FAILED).live);
	CHECK(!fate("1.a,d3,c1", MQ_EV_EXPIRED).live);
	CHECK(strcmp(after("1.a,d3,oab-12,c99", MQ_EV_EXPIRED), "1.a,d3") == 0);
	/* Done, rejected, given back, kicked, linked, unreadable. */
	CHECK(fate("1.a,d1,c1", MQ_EV_DONE).fate == MQ_FATE_DONE);
	CHECK(strcmp(after("1.a,d1,c1", MQ_EV_REJECTED), "1.a,d1,rexit100") == 0);
	CHECK(strcmp(after("1.a,d1,c1", MQ_EV_UNDELIVERED), "1.a") == 0);
	CHECK(strcmp(after("1.a,t1000,d7,rpoison", MQ_EV_KICKED), "1.a") == 0);
	CHECK(strcmp(after("1.a,t9999999999,d7,rx", MQ_EV_KICKED),
	    "1.a,t9999999999") == 0);
	CHECK(strcmp(after("1.a,d1", MQ_EV_LINKED), "1.a,d1,rlinks") == 0);
	CHECK(strcmp(after("1.a,d1,c5", MQ_EV_UNREADABLE),
	    "1.a,d1,runreadable") == 0);
	/* A full queue's oldest, with drop-oldest: whatever its state. */
	CHECK(strcmp(after("1.a,t9999999999,d2", MQ_EV_OVERFLOW),
	    "1.a,t9999999999,d2,roverflow") == 0);
	CHECK(strcmp(after("1.a", MQ_EV_OVERFLOW), "1.a,roverflow") == 0);
	/* An operator's purge deletes, whatever the state; a move starts
	 * the message afresh in its new queue, as a kick: same id. */
	CHECK(fate("1.a,d3,c1", MQ_EV_PURGED).fate == MQ_FATE_DELETE);
	CHECK(!fate("1.a,d3,c1", MQ_EV_PURGED).live);
	CHECK(fate("1.a,d5,rpoison", MQ_EV_MOVED).fate == MQ_FATE_RETURN);
	CHECK(strcmp(after("1.a,t9999999999,d5,rpoison", MQ_EV_MOVED),
	    "1.a,t9999999999") == 0);
	CHECK(strcmp(after("1.a,d2,o12-34,c5", MQ_EV_MOVED), "1.a") == 0);
	CHECK(mq_fate_dir(&(struct mq_verdict){ .fate = MQ_FATE_BURY }) ==
	    MQ_DEAD);
	CHECK(mq_backoff_ms(1) == 1000 && mq_backoff_ms(40) == MQ_BACKOFF_MAX_MS);
	/* Give-backs: nobody got the message, so it is not counted; a
	 * handler that could not start waits out a back-off; a claim whose
	 * deadline could not be set is no live claim to check. */
	CHECK(fate("1.a,d3,c1", MQ_EV_UNDELIVERED).live);
	CHECK(fate("1.a,d3,c1", MQ_EV_UNDELIVERED).delay_ms == 0);
	CHECK(strcmp(after("1.a,d3,o12-34,c1", MQ_EV_UNSTARTED), "1.a,d2") == 0);
	CHECK(fate("1.a,d3,c1", MQ_EV_UNSTARTED).delay_ms == 4000);
	CHECK(!fate("1.a,d1,c1", MQ_EV_UNTAKEN).live);
	CHECK(strcmp(after("1.a,d1,o12-34,c1", MQ_EV_UNTAKEN), "1.a") == 0);
	/* A release counts: the consumer had it; its delay is its own. */
	CHECK(fate("1.a,d3,c1", MQ_EV_RELEASED).live);
	CHECK(strcmp(after("1.a,d3,c1", MQ_EV_RELEASED), "1.a,d3") == 0);
	/* Even with deliveries used up, the give-backs only return. */
	cfg.max_deliveries = 3;
	CHECK(fate("1.a,d3,c1", MQ_EV_UNDELIVERED).fate == MQ_FATE_RETURN);
	CHECK(fate("1.a,d3,c1", MQ_EV_RELEASED).fate == MQ_FATE_RETURN);
	cfg.max_deliveries = 0;
}

int
main(void)
{
	mq_config_defaults(&cfg);
	cfg.max_deliveries = 0;
	rules();
	return check_done("test_fate");
}
