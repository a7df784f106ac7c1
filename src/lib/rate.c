/*
 * rate.c: a consumer's rate limit (mqwatch -r): "60/s", "600/m", "100/h".
 *
 * Two rules, both needed for a start:
 *
 *  - a token bucket of one token, refilled every period/n on a fixed
 *    schedule that a late start does not move: a start that came late
 *    (the caller's loop was busy: a slow fsync, a loaded machine) is
 *    followed by the next one on time, so the rate is kept, not lost a
 *    little at every late wake-up (with the refill counted from each
 *    start, 60/s gave 50 a second on a machine with a load of 12).  A
 *    start more than an interval late (after a quiet spell) begins a new
 *    schedule: a quiet spell stores nothing, there is no burst;
 *  - a log of the last n starts: a start is allowed only when the n-th
 *    before it is a whole period old.  So no window of one period,
 *    wherever it lies, ever holds more than n starts, which catching up
 *    on the schedule alone could pass by one.
 *
 * The interval is rounded up to the microsecond (60/s: 16667 us).
 *
 * Pure: no clock, no I/O.  The caller passes the time (us, any clock that
 * should only move forward; one stepped back is caught: the log is
 * forgotten and the next start is one interval on).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mq-internal.h"

/* "N/s", "N/m", "N/h", or a bare N (per second); N from 1 to MQ_RATE_MAX. */
int
mq_rate_parse(const char *s, struct mq_rate *r)
{
	static const struct mq_unit units[] = { { "", 1000000 },
		{ "/s", 1000000 }, { "/m", 60000000 },
		{ "/h", 3600000000LL } };
	long long n, us;

	memset(r, 0, sizeof(*r));
	if (mq_parse_unit(s, units, sizeof(units) / sizeof(units[0]), &n,
	    &us) < 0)
		return -1;
	if (n < 1 || n > MQ_RATE_MAX) {
		errno = EINVAL;
		return -1;
	}
	if ((r->log = calloc((size_t)n, sizeof(*r->log))) == NULL)
		return -1;
	r->n = (size_t)n;
	r->period_us = us;
	r->every_us = (us + n - 1) / n;
	return 0;
}

void
mq_rate_free(struct mq_rate *r)
{
	free(r->log);
	memset(r, 0, sizeof(*r));
}

/* A start later than now, or a token too far off: the clock went back. */
static void
stepped_back(struct mq_rate *r, long long now)
{
	if (r->next_us > now + r->every_us || (r->used > 0 &&
	    r->log[(r->first + r->used - 1) % r->n] > now)) {
		r->used = 0;
		r->next_us = now + r->every_us;
	}
}

/* When the next start may be: the token's time, or the log's. */
static long long
next(const struct mq_rate *r)
{
	long long at = r->next_us;

	if (r->used == r->n && r->log[r->first] + r->period_us > at)
		at = r->log[r->first] + r->period_us;
	return at;
}

/* How many of want may start now: all without a limit, else 1 or 0. */
size_t
mq_rate_allow(struct mq_rate *r, long long now, size_t want)
{
	if (r->n == 0 || want == 0)
		return want;
	stepped_back(r, now);
	return now >= next(r) ? 1 : 0;
}

/* k started at now: each takes the token and a place in the log. */
void
mq_rate_spend(struct mq_rate *r, long long now, size_t k)
{
	if (r->n == 0)
		return;
	stepped_back(r, now);
	while (k-- > 0) {
		r->next_us = now - r->next_us <= r->every_us ?
		    r->next_us + r->every_us : now + r->every_us;
		if (r->used == r->n)
			r->first = (r->first + 1) % r->n;
		else
			r->used++;
		r->log[(r->first + r->used - 1) % r->n] = now;
	}
}

/* When the next start may be (us; at or before now: now). */
long long
mq_rate_next(struct mq_rate *r, long long now)
{
	if (r->n == 0)
		return now;
	stepped_back(r, now);
	return next(r) > now ? next(r) : now;
}
