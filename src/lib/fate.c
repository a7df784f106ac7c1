/*
 * fate.c: what becomes of a message.  One table for every tool.
 *
 * A claimer reaching a visible message, a reaper finding a claim expired,
 * a worker whose handler ended, an operator kicking a dead letter: each is
 * an event on a message, and mq_fate alone decides what follows from it and
 * the queue's settings.  mq_fate_name alone says what the message is called
 * afterwards.  The moves (mq_settle in lease.c) and mqreap's dry run both
 * use these two, so they cannot disagree; a new rule (a limit, a topic,
 * another host) is a new line here and nowhere else.
 *
 * The rules, in the order they apply:
 *	done			finished: to done/ or deleted (keep_done)
 *	rejected		dead letter "exit100": never retried
 *	linked, unreadable	dead letter "links", "unreadable": no claimer
 *				could ever take it, a person must look
 *	overflow		dead letter "overflow": the oldest waiting
 *				message of a queue past max_length, when
 *				overflow = drop-oldest (limit.c)
 *	kicked, undelivered	back to new/ at once (a claim given back
 *				undelivered, or whose deadline could not be
 *				set, is not counted as a delivery)
 *	unstarted		back, uncounted, after mq_backoff_ms: its
 *				handler could not start (fork failed)
 *	released		back to new/ after the consumer's delay
 *	purged			deleted: an operator named its state (mqpurge)
 *	moved			to another queue's new/, at once and afresh,
 *				as kicked (mqmove; admin.c)
 *	TTL passed		deleted, or dead letter "expired" (ttl_dead)
 *	deliveries used up	dead letter "maxdeliveries" (reached, expired,
 *				failed: not interrupted, which is no failure)
 *	reached			claim it
 *	failed			back to new/ after mq_backoff_ms
 *	expired, interrupted	back to new/ at once
 */
#include <string.h>

#include "mq-internal.h"

/*
 * The events whose verdict is the same for every message: one row each.
 * The others (reached, expired, failed, interrupted) meet the TTL and
 * max_deliveries first (mq_fate).
 */
static const struct row {
	int fixed;		/* a row of this table */
	enum mq_fate fate;
	const char *reason, *verb, *why;
	int live, uncount, reset;
	int backoff;		/* delay: mq_backoff_ms of its deliveries */
} rows[] = {
	[MQ_EV_DONE] = { 1, MQ_FATE_DONE, NULL, "ack", "acknowledged",
	    1, 0, 0, 0 },
	[MQ_EV_REJECTED] = { 1, MQ_FATE_BURY, "exit100", "bury",
	    "rejected by its handler", 1, 0, 0, 0 },
	[MQ_EV_LINKED] = { 1, MQ_FATE_BURY, "links", "bury",
	    "has more than one link", 0, 0, 0, 0 },
	[MQ_EV_UNREADABLE] = { 1, MQ_FATE_BURY, "unreadable", "bury",
	    "cannot be read", 0, 0, 0, 0 },
	[MQ_EV_OVERFLOW] = { 1, MQ_FATE_BURY, "overflow", "drop",
	    "queue full, oldest", 0, 0, 0, 0 },
	[MQ_EV_KICKED] = { 1, MQ_FATE_RETURN, NULL, "kick", "kicked",
	    0, 0, 1, 0 },
	[MQ_EV_PURGED] = { 1, MQ_FATE_DELETE, NULL, "purge", "purged",
	    0, 0, 0, 0 },
	[MQ_EV_MOVED] = { 1, MQ_FATE_RETURN, NULL, "move", "moved",
	    0, 0, 1, 0 },
	[MQ_EV_UNDELIVERED] = { 1, MQ_FATE_RETURN, NULL, "return",
	    "not delivered", 1, 1, 0, 0 },
	[MQ_EV_UNSTARTED] = { 1, MQ_FATE_RETURN, NULL, "return",
	    "handler not started", 1, 1, 0, 1 },
	/* Not live: without its deadline, it already looks expired. */
	[MQ_EV_UNTAKEN] = { 1, MQ_FATE_RETURN, NULL, "return",
	    "deadline not set", 0, 1, 0, 0 },
	/* The delay is the consumer's: mq_finish sets delay_ms. */
	[MQ_EV_RELEASED] = { 1, MQ_FATE_RETURN, NULL, "release", "released",
	    1, 0, 0, 0 },
};

static void
verdict(struct mq_verdict *v, enum mq_fate fate, const char *reason,
    const char *why)
{
	static const char *const verbs[] = { [MQ_FATE_CLAIM] = "claim",
		[MQ_FATE_RETURN] = "return", [MQ_FATE_DONE] = "ack",
		[MQ_FATE_BURY] = "bury", [MQ_FATE_DELETE] = "expire" };

	memset(v, 0, sizeof(*v));
	v->fate = fate;
	v->reason = reason;
	v->why = why;
	v->verb = verbs[fate];
}

static int
ttl_passed(const struct mq_name *n, long long now)
{
	/* Not expires * 1000 <= now: a planted t field of 18 digits overflows. */
	return n->expires > 0 && n->expires <= now / 1000;
}

static int
used_up(const struct mq_config *cfg, const struct mq_name *n)
{
	return cfg->max_deliveries > 0 && n->deliveries >= cfg->max_deliveries;
}

/*
 * The verdict on event ev of the message named n (NULL for the events of
 * the table but unstarted, which do not look at it).
 */
void
mq_fate(const struct mq_config *cfg, const struct mq_name *n,
    enum mq_event ev, long long now, struct mq_verdict *v)
{
	const struct row *r = (size_t)ev < sizeof(rows) / sizeof(rows[0]) ?
	    &rows[ev] : NULL;

	if (r != NULL && r->fixed) {
		verdict(v, r->fate, r->reason, r->why);
		v->verb = r->verb;
		v->live = r->live;
		v->uncount = r->uncount;
		v->reset = r->reset;
		if (r->backoff)
			v->delay_ms = mq_backoff_ms(n->deliveries);
		return;
	}
	if (ttl_passed(n, now)) {
		if (cfg->ttl_dead) {
			verdict(v, MQ_FATE_BURY, "expired",
			    "ttl, to dead letters");
			v->verb = "expire";
		} else
			verdict(v, MQ_FATE_DELETE, NULL, "ttl, deleted");
	} else if (ev != MQ_EV_INTERRUPTED && used_up(cfg, n))
		verdict(v, MQ_FATE_BURY, "maxdeliveries", "maxdeliveries");
	else if (ev == MQ_EV_REACHED)
		verdict(v, MQ_FATE_CLAIM, NULL, "claimed");
	else if (ev == MQ_EV_FAILED) {
		verdict(v, MQ_FATE_RETURN, NULL, "failed, retried later");
		v->delay_ms = mq_backoff_ms(n->deliveries);
	} else
		verdict(v, MQ_FATE_RETURN, NULL, ev == MQ_EV_EXPIRED ?
		    "claim expired" : "interrupted");
	v->live = ev == MQ_EV_FAILED || ev == MQ_EV_INTERRUPTED;
}

/* The directory a verdict sends a message to. */
enum mq_dir
mq_fate_dir(const struct mq_verdict *v)
{
	switch (v->fate) {
	case MQ_FATE_CLAIM:
		return MQ_CUR;
	case MQ_FATE_DONE:
		return MQ_DONE;
	case MQ_FATE_BURY:
		return MQ_DEAD;
	case MQ_FATE_DELETE:
	case MQ_FATE_RETURN:
		break;
	}
	return MQ_NEW;
}

/*
 * The name after the move: a claim's owner and token never leave cur/; a
 * reason only stands in dead/; a kicked message starts afresh (no
 * deliveries, a TTL that passed dropped: kicking it is an operator's
 * decision); a claim given back undelivered is not counted.
 */
void
mq_fate_name(const struct mq_name *from, const struct mq_verdict *v,
    long long now, struct mq_name *to)
{
	*to = *from;
	to->token[0] = to->owner[0] = to->reason[0] = '\0';
	if (v->fate == MQ_FATE_BURY)
		mq_sanitize_word(to->reason, sizeof(to->reason), v->reason);
	if (v->uncount && to->deliveries > 0)
		to->deliveries--;
	if (v->reset) {
		to->deliveries = 0;
		if (ttl_passed(to, now))
			to->expires = 0;
	}
}

/*
 * Retry delay after the n-th delivery failed: 1 s, 2 s, 4 s, ... doubling
 * up to an hour, so a failing dependency is not hammered and a message
 * still reaches max_deliveries within a day with the default settings.
 */
long long
mq_backoff_ms(long long deliveries)
{
	if (deliveries < 1)
		deliveries = 1;
	if (deliveries > 12)
		return MQ_BACKOFF_MAX_MS;
	return 1000LL << (deliveries - 1) < MQ_BACKOFF_MAX_MS ?
	    1000LL << (deliveries - 1) : MQ_BACKOFF_MAX_MS;
}
