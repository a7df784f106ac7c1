/*
 * sweep.c: a note of the last full look at cur/, so that claimers need not
 * stat every claim held there on every scan.
 *
 * A claim in cur/ comes back when its deadline (mtime) passes or its owner
 * dies; only a stat of each file tells its deadline.  With 10000 claims
 * held (slow handlers, long timeouts) and a short backlog, every one-shot
 * mqget paid 10000 fstatat, ~16 ms on tmpfs, to learn that none was due.
 * So a claimer that looked at every entry of cur/ leaves a note beside the
 * directories, QUEUE/.cur:
 *
 *	mqcur1 SSSSSSSSSSSSS TTTTTTTTTTTTT\n	looked at (ms), next due (ms)
 *	TAG-PID\n ...				owners of this host seen
 *
 * and for MQ_CUR_NOTE_MS after S the next claimers skip cur/ while the
 * note says nothing there is due (now < T) and none of those owners died.
 * A claim made after S with a timeout of MQ_CUR_NOTE_MS or more cannot be
 * due before the note is too old to use; one made with a shorter timeout,
 * a deadline shortened by an extension, or an owner that was not there at
 * S dying, are seen by the first scan after the note ages: at most
 * MQ_CUR_NOTE_MS late.  Like .index it is only a hint: cur/ stays the
 * truth, nothing is synced, and a missing, torn or foreign note means a
 * full look.  A look that met anything but claims (a FIFO, a link, a
 * clock it could not trust) leaves no note, so that each scan reports it.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mq-internal.h"

#define MAGIC "mqcur1 "
#define NOTE ".cur"
#define NOTE_NEW ".cur.new"
#define S_AT 7			/* magic, S, space, T, newline */
#define T_AT 21
#define HDRLEN 35
#define NOTE_MAX (HDRLEN + MQ_SWEEP_OWNERS * MQ_OWNER_MAX + 1) /* and NUL */
#define NEVER 9999999999999LL	/* 13 digits of ms: no claim is due */

/*
 * Does the note let us skip cur/ now?  1 if so, with *due lowered to when
 * the first claim there may be due (or the note too old to use); else 0.
 */
int
mq_sweep_fresh(struct mq_queue *q, long long now, long long *due)
{
	char buf[NOTE_MAX + 1], *p, *nl;
	long long at, next;
	const char *e;
	ssize_t r;
	int fd;

	fd = openat(q->fd, NOTE, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd < 0)
		return 0;
	r = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	if (r < HDRLEN || (size_t)r == sizeof(buf) - 1)
		return 0;
	buf[r] = '\0';
	if (memcmp(buf, MAGIC, S_AT) != 0 || buf[T_AT - 1] != ' ' ||
	    buf[HDRLEN - 1] != '\n')
		return 0;
	buf[T_AT - 1] = buf[HDRLEN - 1] = '\0';
	at = strtonum(buf + S_AT, 0, NEVER, &e);
	if (e)
		return 0;
	next = strtonum(buf + T_AT, 0, NEVER, &e);
	if (e || at > now || now - at >= MQ_CUR_NOTE_MS || now >= next)
		return 0;
	for (p = buf + HDRLEN; *p; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			return 0; /* torn */
		*nl = '\0';
		if (mq_owner_dead(p))
			return 0;
	}
	if (next > at + MQ_CUR_NOTE_MS)
		next = at + MQ_CUR_NOTE_MS;
	mq_soonest(due, next);
	return 1;
}

/*
 * A claim seen in cur/, due at due (0: unknown), owned by owner: the note
 * keeps the first due time and the owners of this host; too many owners
 * spoil it.
 */
void
mq_sweep_seen(struct mq_sweep *sw, long long due, const char *owner)
{
	int i;

	mq_soonest(&sw->next, due);
	if (mq_owner_pid(owner) <= 0)
		return; /* none, or another host's: its deadline decides */
	for (i = 0; i < sw->nowners; i++)
		if (strcmp(sw->owners[i], owner) == 0)
			return;
	if (sw->nowners == MQ_SWEEP_OWNERS) {
		sw->spoilt = 1;
		return;
	}
	snprintf(sw->owners[sw->nowners++], sizeof(sw->owners[0]), "%s",
	    owner);
}

/*
 * Leave the note of a look at all of cur/ made at sw->at.  Failures are
 * ignored: without a note, the next claimer looks again.
 */
void
mq_sweep_write(struct mq_queue *q, const struct mq_sweep *sw)
{
	char buf[NOTE_MAX];
	size_t len;
	int fd, i;

	if (sw->spoilt)
		return;
	len = (size_t)snprintf(buf, sizeof(buf), "%s%013lld %013lld\n", MAGIC,
	    sw->at, sw->next > 0 && sw->next < NEVER ? sw->next : NEVER);
	for (i = 0; i < sw->nowners; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s\n",
		    sw->owners[i]);
	if ((fd = mq_hint_create(q, NOTE_NEW, sw->at)) < 0)
		return;
	mq_hint_commit(q, fd, mq_write_all(fd, buf, len) == 0, NOTE_NEW,
	    NOTE);
}
