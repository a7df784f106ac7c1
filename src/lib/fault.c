/*
 * fault.c: a long-running tool rides out its file system's faults.
 *
 * A network file system fails for a while and comes back: GlusterFS with
 * its bricks down answers ENOTCONN ("Transport endpoint is not
 * connected"), NFS ESTALE or EIO, a FUSE mount that was remounted leaves
 * the old descriptors failing for good.  A one-shot tool exits 111 and its
 * caller tries again; a daemon (mqwatch, mqreap -f, mqget -w, waiters)
 * must not exit, or the messages put after the storage came back wait with
 * no consumer.  So a temporary failure (mq_transient: the tools exit 111) starts a
 * fault: the tool says so once, stops claiming, and at growing intervals
 * (FAULT_FIRST_MS doubling to FAULT_MAX_MS) asks mq_fault_retry whether
 * the queue answers again: its directory handles first, then, if those
 * fail, the queue opened anew by its path (where the old handles went
 * stale or their mount was replaced), which then replaces the old one.
 * The fault ends when the queue answers; the tool says that once too.
 * Claims held meanwhile follow the rules: extended if an extension gets
 * through before their deadline, else taken back as expired, and the
 * handler's acknowledgement then fails as stale.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "mq-internal.h"

#define FAULT_FIRST_MS 100
#define FAULT_MAX_MS 5000

/*
 * A failure (errno err, q->errobj) met at now.  Returns 1 if it starts a
 * fault (the caller says so), 0 if a fault was already on (the caller says
 * nothing), -1 if it is no fault to ride out: a permanent error.
 */
int
mq_fault_begin(struct mq_fault *f, struct mq_queue *q, int err,
    long long now)
{
	if (!mq_transient(err))
		return -1;
	if (f->err) {
		f->next = now + f->wait;
		return 0;
	}
	f->err = err;
	f->since = now;
	f->wait = FAULT_FIRST_MS;
	f->next = now + f->wait;
	f->reopened = 0;
	strlcpy(f->obj, q->errobj, sizeof(f->obj));
	return 1;
}

/* Do the queue's handles answer?  0, or -1 with errno. */
static int
answers(struct mq_queue *q)
{
	struct stat st;
	int i;

	if (fstat(q->fd, &st) < 0)
		return -1;
	for (i = 0; i < MQ_NDIRS; i++)
		if (fstat(q->dfd[i], &st) < 0)
			return -1;
	/* A lookup, not only the handles: the server must answer. */
	if (fstatat(q->dfd[MQ_NEW], ".", &st, 0) < 0 ||
	    (fstatat(q->fd, "paused", &st, AT_SYMLINK_NOFOLLOW) < 0 &&
	    errno != ENOENT))
		return -1;
	return 0;
}

/*
 * During a fault, once f->next has come: does the queue answer again?  1
 * if it does (the fault is over; f->reopened says whether q was opened
 * anew, so that the caller renews what it made from the old handles, such
 * as its watch), 0 if not yet (f->next moved on), -1 if the queue cannot
 * be opened any more for a permanent reason (errno, q->errobj).
 */
int
mq_fault_retry(struct mq_fault *f, struct mq_queue *q, long long now)
{
	struct mq_queue nq;
	int e;

	if (!f->err || now < f->next)
		return f->err ? 0 : 1;
	if (answers(q) == 0)
		goto over;
	/*
	 * An unmounted file system shows the empty directory beneath: the
	 * queue opened anew is "not found" while the old handles still say
	 * the fault is temporary.  Only both failing for good ends the wait.
	 */
	e = errno;
	if (mq_open(&nq, q->path, 0, 0) < 0) {
		if (!mq_transient(e) && !mq_transient(errno)) {
			strlcpy(q->errobj, nq.errobj, sizeof(q->errobj));
			return -1;
		}
	} else if (answers(&nq) == 0) {
		nq.skipped = q->skipped;
		nq.host_beat = q->host_beat;
		mq_close(q);
		*q = nq;
		f->reopened = 1;
		goto over;
	} else
		mq_close(&nq);
	f->wait = f->wait * 2 > FAULT_MAX_MS ? FAULT_MAX_MS : f->wait * 2;
	f->next = now + f->wait;
	return 0;
over:
	f->err = 0;
	return 1;
}
