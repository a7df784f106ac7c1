/*
 * fuzz_config.c: libFuzzer target for the settings parser (config.c): the
 * input is written as QUEUE/config of a scratch directory and read back.
 *
 * Properties: either the settings are accepted and every one is in its
 * range, or the error names the file (and the line, for a bad line).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mq-internal.h"

static int qfd = -1;

static void
scratch(void)
{
	const char *t = getenv("TMPDIR");
	char dir[PATH_MAX];

	/* run.sh gives a TMPDIR of its own and removes it afterwards. */
	snprintf(dir, sizeof(dir), "%s/mq-fuzz-config.XXXXXX", t ? t : "/tmp");

	if (mkdtemp(dir) == NULL)
		abort();
	if ((qfd = open(dir, O_RDONLY | O_DIRECTORY)) < 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mq_config c;
	char err[128];
	int fd;

	if (qfd < 0)
		scratch();
	fd = openat(qfd, "config", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || mq_write_all(fd, data, size) < 0 || close(fd) < 0)
		abort();
	memset(err, 'x', sizeof(err));
	if (mq_config_read(qfd, &c, err, sizeof(err)) < 0) {
		if (memchr(err, '\0', sizeof(err)) == NULL ||
		    strncmp(err, "config", 6) != 0)
			abort();
		return 0;
	}
	if (c.timeout_ms <= 0 || c.max_deliveries < 0 || c.ttl_ms < 0 ||
	    c.retention_ms < 0 || c.max_size < 0 ||
	    (c.keep_done != 0 && c.keep_done != 1) ||
	    (c.sync != 0 && c.sync != 1) ||
	    (c.ttl_dead != 0 && c.ttl_dead != 1))
		abort();
	return 0;
}
