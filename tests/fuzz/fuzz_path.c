/*
 * fuzz_path.c: libFuzzer target for the handles given to mqack: a path
 * "QUEUE/cur/NAME" split into its queue and name (spool.c), the name
 * judged (naming.c) and checked as a claim of that queue (lease.c).
 *
 * It runs in a scratch directory holding a queue "q" with a claim in it,
 * a symlink to the queue, and a file outside any queue, so that relative
 * paths, "..", links and real claims all occur.  Properties: a path is
 * accepted only if its directory really is a queue's cur/ and the name is
 * its last component; a check never changes the spool.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mq-internal.h"

static const char claim[] = "1700000000.000001.P1Q0R0000.h,d1,c0123abcd";
static char top[PATH_MAX], qreal[PATH_MAX];

static void
scratch(void)
{
	const char *t = getenv("TMPDIR");
	char dir[PATH_MAX];

	/* run.sh gives a TMPDIR of its own and removes it afterwards. */
	snprintf(dir, sizeof(dir), "%s/mq-fuzz-path.XXXXXX", t ? t : "/tmp");
	struct mq_queue q;
	int fd;

	if (mkdtemp(dir) == NULL || chdir(dir) < 0)
		abort();
	umask(0);
	if (mq_open(&q, "q", 1, 0) < 0)
		abort();
	fd = openat(q.dfd[MQ_CUR], claim, O_WRONLY | O_CREAT, 0600);
	if (fd < 0 || close(fd) < 0 ||
	    mq_settime(q.dfd[MQ_CUR], claim, 4000000000000LL) < 0)
		abort();
	mq_close(&q);
	if (getcwd(top, sizeof(top)) == NULL || realpath("q", qreal) == NULL)
		abort();
	if (symlink("q", "link") < 0 || mkdir("cur", 0700) < 0 ||
	    mkdir("x", 0700) < 0 || symlink("../q/cur", "x/cur") < 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	char path[PATH_MAX + 1], qpath[PATH_MAX], name[MQ_NAME_MAX + 1];
	char real[PATH_MAX], *slash;
	struct mq_queue q;
	struct mq_name n;

	if (!ready) {
		scratch();
		ready = 1;
	}
	if (size > PATH_MAX)
		return 0;
	memcpy(path, data, size);
	path[size] = '\0';
	if (mq_split_path(path, MQ_CUR, qpath, sizeof(qpath), name,
	    sizeof(name)) < 0)
		return 0;
	/* The name is the path's last component, whole. */
	slash = strrchr(path, '/');
	if (slash == NULL || strcmp(slash + 1, name) != 0 || !name[0])
		abort();
	/* The queue is what the directory part resolves to, minus /cur. */
	*slash = '\0';
	if (realpath(path[0] ? path : "/", real) == NULL ||
	    strlen(real) < 4 || strcmp(real + strlen(real) - 4, "/cur") ||
	    strncmp(real, qpath, strlen(real) - 4) != 0 ||
	    strlen(qpath) != (strlen(real) == 4 ? 1 : strlen(real) - 4))
		abort();
	if (!mq_name_safe(name))
		return 0;
	if (mq_open(&q, qpath, 0, 0) < 0)
		return 0;
	/* Only the one claim of the scratch queue is a live claim there. */
	if (mq_check(&q, name, &n) == 0 &&
	    strncmp(qpath, top, strlen(top)) == 0 &&
	    (strcmp(name, claim) != 0 || strcmp(qpath, qreal) != 0))
		abort();
	mq_close(&q);
	return 0;
}
