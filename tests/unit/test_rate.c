/*
 * test_rate.c: the rate limit of mqwatch -r (rate.c): what parses, and
 * that no window of one period ever holds more starts than the limit,
 * however the caller's loop is late or the clock jumps.
 */
#include <errno.h>

#include "mq-internal.h"
#include "check.h"

#define T0 1800000000000000LL	/* us */

static long long
every(const char *s)
{
	struct mq_rate r;

	return mq_rate_parse(s, &r) < 0 ? -errno : r.every_us;
}

static void
parsing(void)
{
	CHECK(every("60/s") == 16667);	/* rounded up: never faster */
	CHECK(every("60") == 16667);
	CHECK(every("1/s") == 1000000);
	CHECK(every("60/m") == 1000000);
	CHECK(every("100/h") == 36000000);
	CHECK(every("1000000/s") == 1);
	CHECK(every("7/s") == 142858);
	CHECK(every("0/s") == -EINVAL);
	CHECK(every("1000001/s") == -EINVAL);
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
 * A loop that wants to start want at a time and wakes at the token's time
 * plus late us: the starts of 10 s, then the most found in any window of
 * one second (sliding, start to start).
 */
static size_t
most_in_a_second(const char *spec, size_t want, long long late)
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
		now = k ? now : mq_rate_next(&r, now) + late;
	}
	for (i = 0, j = 0; i < n; i++) {
		while (at[i] - at[j] >= 1000000)
			j++;
		if (i - j + 1 > most)
			most = i - j + 1;
	}
	return most;
}

static void
limits(void)
{
	struct mq_rate r;

	CHECK(most_in_a_second("60/s", 8, 0) == 60);
	CHECK(most_in_a_second("60/s", 1, 0) == 60);
	CHECK(most_in_a_second("60/s", 8, 3000) <= 60);
	CHECK(most_in_a_second("60/s", 8, 3000) >= 50);
	CHECK(most_in_a_second("1/s", 64, 0) == 1);
	CHECK(most_in_a_second("600/m", 4, 0) == 10);

	/* No limit: all that is asked, at once. */
	mq_rate_parse("1/s", &r);
	r.every_us = 0;
	CHECK(mq_rate_allow(&r, T0, 64) == 64);
	mq_rate_spend(&r, T0, 64);
	CHECK(mq_rate_allow(&r, T0, 64) == 64 && mq_rate_next(&r, T0) == T0);

	/* The first start is at once; asking for none spends nothing. */
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

	/* A long quiet spell stores no burst. */
	mq_rate_spend(&r, T0 + 60000000, 1);
	CHECK(mq_rate_allow(&r, T0 + 60000000, 1) == 0);
	CHECK(mq_rate_next(&r, T0 + 60000000) == T0 + 60500000);

	/* The clock stepped back an hour: the next token is one interval on. */
	CHECK(mq_rate_next(&r, T0 - 3600000000LL) == T0 - 3600000000LL + 500000);
	CHECK(mq_rate_allow(&r, T0 - 3600000000LL + 500000, 1) == 1);
	mq_rate_spend(&r, T0 - 3600000000LL + 500000, 1);
	CHECK(mq_rate_next(&r, T0 - 3600000000LL + 500000) ==
	    T0 - 3600000000LL + 1000000);
}

int
main(void)
{
	parsing();
	limits();
	return check_done("test_rate");
}
