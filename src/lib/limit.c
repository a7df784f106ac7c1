/*
 * limit.c: flow control, the queue as a buffer between a fast producer and
 * a slow consumer.  Three switches, all in the queue directory where ls and
 * cat show them:
 *
 *	max_length, overflow	(config) how many messages may wait in new/,
 *				and what a put into a full queue does: is
 *				refused, or sends the oldest to dead/
 *	min_free		(config) puts are refused while the file
 *				system has less free space (Postfix's
 *				queue_minfree), so consumers, whose moves
 *				need no space, can still drain a full disk
 *	paused			(a file) while it exists nothing is claimed;
 *				puts go on
 *
 * The length is counted by reading new/ (getdents, no stat), and only on a
 * queue that has a limit: a plain put pays nothing but the config it reads
 * anyway, a put with min_free one statvfs.  Reading stops at max_length, so
 * the cost is bounded by the limit itself.  Concurrent puts into an almost
 * full queue each count before they rename: the queue may pass its limit
 * by up to the number of concurrent producers (documented in mq-spool(5)).
 */
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "mq-internal.h"

#define PAUSED "paused"

/* 1 while QUEUE/paused exists (any kind of entry), 0 if not, -1 on error. */
int
mq_paused(struct mq_queue *q)
{
	struct stat st;

	q->pausedseen = 1;	/* or unknown */
	if (fstatat(q->fd, PAUSED, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 1;
	if (errno == ENOENT) {
		q->pausedseen = 0;
		return 0;
	}
	strlcpy(q->errobj, PAUSED, sizeof(q->errobj));
	return -1;
}

/* Entries waiting in new/, counted up to max (hidden names are not). */
static int
count_new(struct mq_queue *q, long long max, long long *n)
{
	struct dirent *d;
	DIR *dp;
	int e;

	*n = 0;
	if ((dp = mq_dir_open(q, MQ_NEW)) == NULL)
		return -1;
	for (;;) {
		errno = 0;
		if ((d = readdir(dp)) == NULL)
			break;
		if (d->d_name[0] != '.' && ++*n >= max)
			break;
	}
	e = errno;
	closedir(dp);
	if ((errno = e) == 0)
		return 0;
	strlcpy(q->errobj, "new", sizeof(q->errobj));
	return -1;
}

/* Is the file system below the reserve? */
static int
below_reserve(struct mq_queue *q, int *below)
{
	const struct mq_config *c = &q->cfg;
	struct statvfs sv;
	unsigned long long avail, total;

	*below = 0;
	if (c->min_free == 0 && c->min_free_pct == 0)
		return 0;
	if (fstatvfs(q->dfd[MQ_TMP], &sv) < 0) {
		strlcpy(q->errobj, "tmp", sizeof(q->errobj));
		return -1;
	}
	avail = (unsigned long long)sv.f_bavail * sv.f_frsize;
	total = (unsigned long long)sv.f_blocks * sv.f_frsize;
	if (c->min_free_pct > 0)
		*below = avail * 100 < total * (unsigned long long)c->min_free_pct;
	else
		*below = avail < (unsigned long long)c->min_free;
	return 0;
}

/*
 * How many of want messages may go into new/ now: *room, and *why when it
 * is fewer.  With overflow = drop-oldest a full queue takes them all (the
 * put then calls mq_limit_trim).  -1 with errno if the queue cannot be read.
 */
int
mq_limit_room(struct mq_queue *q, size_t want, size_t *room,
    enum mq_refusal *why)
{
	long long n;
	int below;

	*room = want;
	*why = MQ_REFUSED_NOT;
	if (below_reserve(q, &below) < 0)
		return -1;
	if (below) {
		*room = 0;
		*why = MQ_REFUSED_RESERVE;
		return 0;
	}
	if (q->cfg.max_length == 0 || q->cfg.overflow_drop)
		return 0;
	if (count_new(q, q->cfg.max_length, &n) < 0)
		return -1;
	if (n + (long long)want > q->cfg.max_length) {
		*room = (size_t)(q->cfg.max_length - n);
		*why = MQ_REFUSED_FULL;
	}
	return 0;
}

/*
 * overflow = drop-oldest: while more than max_length wait, the oldest of
 * the least urgent level (mq_scan_cmp; then id order, i.e. arrival) go to
 * dead/ with the reason "overflow" (fate.c): what would be claimed last
 * goes first, so a flood of routine work never drops an urgent message.
 * The put that calls this has already succeeded: a message that cannot be
 * moved (claimed meanwhile: fine) is reported through q->skipped, and the
 * next put or mqreap tries again.
 */
void
mq_limit_trim(struct mq_queue *q)
{
	struct mq_verdict v;
	struct mq_scan s;
	const char *name;
	size_t i, k;

	if (q->cfg.max_length == 0 || !q->cfg.overflow_drop)
		return;
	memset(&s, 0, sizeof(s));
	if (mq_scan(q, MQ_NEW, &s) < 0 ||
	    s.n <= (size_t)q->cfg.max_length) {
		mq_scan_free(&s);
		return;
	}
	k = s.n - (size_t)q->cfg.max_length;
	/* Levels turned round: the least urgent sorts first. */
	for (i = 0; i < s.n; i++)
		s.e[i].level = (unsigned char)(MQ_LEVELS - 1 - s.e[i].level);
	mq_scan_sort_head(&s, k);
	mq_fate(&q->cfg, NULL, MQ_EV_OVERFLOW, mq_now_ms(), &v);
	for (i = 0; i < k; i++) {
		name = mq_scan_name(&s, i);
		if (mq_settle(q, MQ_NEW, name, &v, NULL, 0) < 0 &&
		    errno != ENOENT && q->skipped)
			q->skipped(q, MQ_NEW, name, "overflow: not moved to "
			    "dead/");
	}
	mq_scan_free(&s);
	if (mq_sync(q) < 0 && q->skipped)
		q->skipped(q, MQ_DEAD, "", "overflow: not synced");
}
