/*
 * test_rate.c: the rate limit of mqwatch -r (rate.c): what parses; that
 * no window of one period ever holds more starts than the limit, and that
 * the limit is still reached when the caller's loop wakes up late; what a
 * quiet spell stores; a clock stepped back.
 */
#include <errno.h>
#include <string.h>

#include "mq-internal.h"
#include "check.h"

#define T0 1800000000000000LL	/* us */

static long long
every(const char *s)
{
	struct mq_rate r;
	long long e;

	if (mq_rate_parse(s, &r) < 0)
		return -errno;
	e = r.every_us;
	mq_rate_free(&r);
	return e;
}

static void
parsing(void)
{
	CHECK(every("60/s") == 16667);	/* rounded up: never faster */
	CHECK(every("60") == 16667);
	CHECK(every("1/s") == 1000000);
	CHECK(every("60/m") == 1000000);
	CHECK(every("100/h") == 36000000);
	CHECK(every("100000/s") == 10);
	CHECK(every("100000/h") == 36000);
	CHECK(every("7/s") == 142858);
	CHECK(every("0/s") == -EINVAL);
	CHECK(every("100001/s") == -EINVAL);
	CHECK(every("-5/s") == -EINVAL);
	CHECK(every("+5/s") == -EINVAL);
	CHECK(every("") == -EINVAL);
	CHECK(every("/s") == -EINVAL);
	CHECK(every("5/d") == -EINVAL);
	CHECK(every("5/") == -EINVAL);
	CHECK(every("5s") == -EINVAL);
	CHECK(every("5/s ") == -EINVAL);
	CHECK(every("99999999999999999999/s") == -EINVAL);
}

/*
 * A loop that wants to start want at a time and wakes up to maxlate us
 * after the time it was given (varying, as on a loaded machine): its starts
 * over 10 s; returns the most found in any window of one second (sliding),
 * and *total.
 */
static size_t
most_in_a_second(const char *spec, size_t want, long long maxlate,
    size_t *total)
{
	static long long at[20000];
	struct mq_rate r;
	long long now = T0;
	size_t n = 0, k, i, j, most = 0;

	if (mq_rate_parse(spec, &r) < 0)
		return 0;
	while (now < T0 + 10000000 && n < 20000) {
		k = mq_rate_allow(&r, now, want);
		mq_rate_spend(&r, now, k);
		for (i = 0; i < k; i++)
			at[n++] = now;
		if (k == 0)
			now = mq_rate_next(&r, now) +
			    (maxlate ? (long long)(n * 7919) % maxlate : 0);
	}
	mq_rate_free(&r);
	for (i = 0, j = 0; i < n; i++) {
		while (at[i] - at[j] >= 1000000)
			j++;
		if (i - j + 1 > most)
			most = i - j + 1;
	}
	*total = n;
	return most;
}

static void
limits(void)
{
	size_t total;

	/* The limit is reached and never passed, late wake-ups or not. */
	CHECK(most_in_a_second("60/s", 8, 0, &total) == 60);
	CHECK(total >= 599 && total <= 601);
	CHECK(most_in_a_second("60/s", 1, 3000, &total) == 60);
	CHECK(total >= 595);		/* one token only: ~510 */
	CHECK(most_in_a_second("60/s", 4, 16000, &total) == 60);
	CHECK(total >= 560);
	CHECK(most_in_a_second("1/s", 64, 300000, &total) == 1);
	CHECK(most_in_a_second("600/m", 4, 0, &total) == 10);
	CHECK(most_in_a_second("100000/s", 64, 0, &total) == 20000);
}

static void
tokens(void)
{
	struct mq_rate r;

	/* No limit: all that is asked, at once. */
	memset(&r, 0, sizeof(r));
	CHECK(mq_rate_allow(&r, T0, 64) == 64);
	mq_rate_spend(&r, T0, 64);
	CHECK(mq_rate_allow(&r, T0, 64) == 64 && mq_rate_next(&r, T0) == T0);

	/* One at a time, an interval apart. */
	mq_rate_parse("2/s", &r);
	CHECK(mq_rate_allow(&r, T0, 0) == 0);
	CHECK(mq_rate_allow(&r, T0, 5) == 1);
	mq_rate_spend(&r, T0, 0);
	CHECK(mq_rate_allow(&r, T0, 5) == 1);
	mq_rate_spend(&r, T0, 1);
	CHECK(mq_rate_allow(&r, T0, 5) == 0);
	CHECK(mq_rate_next(&r, T0) == T0 + 500000);
	CHECK(mq_rate_allow(&r, T0 + 499999, 5) == 0);
	CHECK(mq_rate_allow(&r, T0 + 500000, 5) == 1);

	/* Late by 0.3 s: the next is on the schedule, 0.2 s later ... */
	mq_rate_spend(&r, T0 + 800000, 1);
	CHECK(mq_rate_next(&r, T0 + 800000) == T0 + 1000000);
	/* ... unless two would be in one second: the log holds it back. */
	mq_rate_spend(&r, T0 + 1000000, 1);
	CHECK(mq_rate_next(&r, T0 + 1000000) == T0 + 1800000);

	/* A long quiet spell stores nothing. */
	mq_rate_spend(&r, T0 + 60000000, 1);
	CHECK(mq_rate_allow(&r, T0 + 60000000, 1) == 0);
	CHECK(mq_rate_next(&r, T0 + 60000000) == T0 + 60500000);

	/* The clock stepped back an hour: the next start is an interval on. */
	CHECK(mq_rate_next(&r, T0 - 3600000000LL) == T0 - 3600000000LL + 500000);
	CHECK(mq_rate_allow(&r, T0 - 3600000000LL + 500000, 1) == 1);
	mq_rate_spend(&r, T0 - 3600000000LL + 500000, 1);
	CHECK(mq_rate_next(&r, T0 - 3600000000LL + 500000) ==
	    T0 - 3600000000LL + 1000000);
	mq_rate_free(&r);
	CHECK(r.n == 0 && r.log == NULL);
}

int
main(void)
{
	parsing();
	limits();
	tokens();
	return check_done("test_rate");
}
