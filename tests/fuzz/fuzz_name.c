/*
 * fuzz_name.c: libFuzzer target for the file-name parser (naming.c) and
 * what follows a parse: the fate table and the name it gives (fate.c).
 *
 * Properties: a name that parses formats back to itself, byte for byte (a
 * foreign id keeps every comma of its own; a field is read only in the
 * form it is written); each field fits its buffer; no event's verdict or
 * new name overflows or reads out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mq-internal.h"

static void
fates(const struct mq_name *n)
{
	static const enum mq_event evs[] = { MQ_EV_REACHED, MQ_EV_EXPIRED,
		MQ_EV_DONE, MQ_EV_FAILED, MQ_EV_REJECTED, MQ_EV_INTERRUPTED,
		MQ_EV_UNDELIVERED, MQ_EV_KICKED, MQ_EV_LINKED,
		MQ_EV_UNREADABLE };
	struct mq_config cfg;
	struct mq_verdict v;
	struct mq_name to;
	char buf[MQ_NAME_MAX + 1];
	size_t i;

	mq_config_defaults(&cfg);
	for (i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
		mq_fate(&cfg, n, evs[i], 1700000000000LL, &v);
		(void)mq_fate_dir(&v);
		mq_fate_name(n, &v, 1700000000000LL, &to);
		if (mq_name_format(buf, sizeof(buf), &to) == 0 &&
		    strlen(buf) > MQ_NAME_MAX)
			abort();
		if (v.fate == MQ_FATE_RETURN && v.delay_ms < 0)
			abort();
	}
	if (mq_backoff_ms(n->deliveries) <= 0)
		abort();
	(void)mq_name_time(n->id);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[MQ_NAME_MAX + 2], back[MQ_NAME_MAX + 1];
	struct mq_name n;

	if (size > MQ_NAME_MAX + 1)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (mq_name_parse(s, &n) < 0)
		return 0;
	if (!mq_name_safe(s) || !mq_name_safe(n.id) ||
	    strlen(n.owner) >= sizeof(n.owner) ||
	    strlen(n.token) >= sizeof(n.token) ||
	    strlen(n.reason) >= sizeof(n.reason) ||
	    n.expires < 0 || n.deliveries < 0)
		abort();
	if (mq_name_format(back, sizeof(back), &n) < 0 || strcmp(back, s) != 0)
		abort();
	fates(&n);
	return 0;
}
