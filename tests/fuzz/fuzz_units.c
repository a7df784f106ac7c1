/*
 * fuzz_units.c: libFuzzer target for durations ("30s", "250ms", "7d") and
 * sizes ("64k", "1M") as options and settings give them (util.c).
 *
 * Properties: an accepted value is never negative and leaves room to be
 * added to a time (a duration is at most LLONG_MAX / 4 ms); a rejected
 * one sets EINVAL and leaves the output alone.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mq-internal.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[64];
	long long v;

	if (size >= sizeof(s))
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	v = -7;
	if (mq_parse_duration(s, &v) == 0) {
		if (v < 0 || v > LLONG_MAX / 4)
			abort();
	} else if (errno != EINVAL || v != -7)
		abort();
	v = -7;
	if (mq_parse_size(s, &v) == 0) {
		if (v < 0)
			abort();
	} else if (errno != EINVAL || v != -7)
		abort();
	return 0;
}
