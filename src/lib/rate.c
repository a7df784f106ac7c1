/*
 * rate.c: a consumer's rate limit (mqwatch -r): "60/s", "600/m", "100/h".
 *
 * A token bucket that holds one token, refilled every period/n: the
 * generic cell rate algorithm with no burst tolerance.  Starts are thus at
 * least period/n apart, and no window of one period, wherever it lies,
 * holds more than n of them: what a service that "handles 60 a second"
 * needs, where a bucket of 60 tokens would let 60 through at once after a
 * quiet spell, then 59 more within that same second.
 *
 * The interval is rounded up to the microsecond, so the rounding errs on
 * the slow side (60/s: 16667 us, 0.002% under the limit).  A start later
 * than its token (the caller's loop was busy) does not let the next one
 * come sooner: the lost time is lost, never made up by a burst.
 *
 * Pure: no clock, no I/O.  The caller passes the time (us, any clock that
 * that should only move forward; one stepped back is caught: a token is
 * never further away than one interval).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mq-internal.h"

/* "N/s", "N/m", "N/h", or a bare N (per second); N from 1 to 1000000. */
int
mq_rate_parse(const char *s, struct mq_rate *r)
{
	static const struct {
		const char *u;
		long long us;
	} units[] = { { "", 1000000 }, { "/s", 1000000 },
		{ "/m", 60000000 }, { "/h", 3600000000LL } };
	char *end;
	long long n;
	size_t i;

	if (*s < '0' || *s > '9')
		goto bad;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno || n < 1 || n > MQ_RATE_MAX)
		goto bad;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].u) != 0)
			continue;
		r->every_us = (units[i].us + n - 1) / n;
		r->next_us = 0;
		return 0;
	}
bad:
	errno = EINVAL;
	return -1;
}

/*
 * A token further off than one interval means the clock was stepped back:
 * it is put one interval from now, not left to wait for the step's length.
 */
static void
rewind_check(struct mq_rate *r, long long now)
{
	if (r->next_us > now + r->every_us)
		r->next_us = now + r->every_us;
}

/* How many of want may start now: all without a limit, else 1 or 0. */
size_t
mq_rate_allow(struct mq_rate *r, long long now, size_t want)
{
	if (r->every_us == 0 || want == 0)
		return want;
	rewind_check(r, now);
	return now >= r->next_us ? 1 : 0;
}

/* n started at now: the next token is n intervals on. */
void
mq_rate_spend(struct mq_rate *r, long long now, size_t n)
{
	if (r->every_us == 0 || n == 0)
		return;
	rewind_check(r, now);
	r->next_us = (r->next_us > now ? r->next_us : now) +
	    (long long)n * r->every_us;
}

/* When the next token comes (us; at or before now: there is one). */
long long
mq_rate_next(struct mq_rate *r, long long now)
{
	if (r->every_us == 0)
		return now;
	rewind_check(r, now);
	return r->next_us;
}
