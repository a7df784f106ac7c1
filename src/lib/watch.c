/*
 * watch.c: sleep until a queue may have something to claim.
 *
 * inotify is a hint, the directory is the truth: the caller opens the
 * watch before its first scan, and after every wake-up scans again, so an
 * arrival between a scan and the wait is never missed and a lost event
 * (IN_Q_OVERFLOW) costs only a rescan.  Times (delays, deadlines) raise no
 * event: the caller passes the earliest of them as until_ms.  Where inotify
 * cannot see other writers (network file systems) or is unavailable, the
 * watch polls instead, every poll_ms (the queue's "poll", 100 ms by default).
 *
 * The queue directory itself is watched for one thing: its pause file
 * (limit.c), whose removal resumes a paused consumer at once, and whose
 * coming a walk learns so instead of by a stat before each claim.
 *
 * A waiter that ends once woken (MQ_WATCH_BRIEF: mqget -w) watches with
 * dnotify instead (dnwatch.c): closing an inotify instance waits for an
 * RCU grace period, milliseconds between its claim and its exit.
 */
#include <sys/inotify.h>
#include <sys/vfs.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mq-internal.h"

struct mq_watch {
	int fd;		/* inotify, or -1 when polling */
	int nwd;	/* the watch on new/ */
	int qwd;	/* the watch on the queue directory */
	long long poll_ms;
	int brief;	/* fd is dn's signalfd (dnwatch.c) */
	const struct mq_queue *q; /* brief: its pause last seen */
	struct mq_dnwatch dn;
};

/* File systems where inotify misses other clients' changes (end.c too). */
int
mq_remote(int fd)
{
	struct statfs sf;

	if (fstatfs(fd, &sf) < 0)
		return 0;
	switch ((unsigned long)sf.f_type) {
	case 0x6969UL:		/* NFS */
	case 0xff534d42UL:	/* CIFS */
	case 0xfe534d42UL:	/* SMB2 */
	case 0x00c36400UL:	/* Ceph */
	case 0x65735546UL:	/* FUSE */
	case 0x47504653UL:	/* GPFS */
	case 0x0bd00bd0UL:	/* Lustre */
		return 1;
	}
	return 0;
}

struct mq_watch *
mq_watch_open(struct mq_queue *q, int flags)
{
	struct mq_watch *w;
	char path[64];

	if ((w = malloc(sizeof(*w))) == NULL)
		return NULL;
	w->fd = w->nwd = w->qwd = -1;
	w->poll_ms = q->cfg.poll_ms > 0 ? q->cfg.poll_ms : MQ_POLL_MS;
	w->brief = 0;
	w->q = q;
	if ((flags & MQ_WATCH_POLL) || mq_remote(q->fd))
		return w;
	if (flags & MQ_WATCH_BRIEF) {
		/* Without dnotify: poll. */
		w->fd = mq_dnwatch_open(&w->dn, q->dfd[MQ_NEW], q->fd);
		w->brief = w->fd >= 0;
		return w;
	}
	if ((w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0)
		return w; /* no inotify here: poll */
	/*
	 * Through /proc, so the watch is on the directory we hold.  Arrivals
	 * (link(2) raises IN_CREATE, not IN_MOVED_TO) in new/; in cur/ only
	 * for a reaper, which learns new deadlines so: nothing that arrives
	 * in cur/ is claimable before a time, which raises no event anyway,
	 * and every claim's own rename into cur/ woke every claimer for a
	 * useless rescan of new/ and cur/.
	 */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", q->dfd[MQ_NEW]);
	if ((w->nwd = inotify_add_watch(w->fd, path, IN_MOVED_TO | IN_CREATE |
	    IN_ONLYDIR)) < 0)
		goto poll;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", q->dfd[MQ_CUR]);
	if ((flags & MQ_WATCH_CUR) && inotify_add_watch(w->fd, path,
	    IN_MOVED_TO | IN_CREATE | IN_ONLYDIR) < 0)
		goto poll;
	/* Its coming too: a walk need not stat it before each claim. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", q->fd);
	if ((w->qwd = inotify_add_watch(w->fd, path, IN_DELETE |
	    IN_MOVED_FROM | IN_CREATE | IN_MOVED_TO | IN_ONLYDIR)) < 0)
		goto poll;
	return w;
poll:
	close(w->fd);
	w->fd = -1;
	return w;
}

int
mq_watch_fd(const struct mq_watch *w)
{
	return w->fd;
}

/*
 * Wait until something happens or until_ms (0: forever).  Returns 1 after
 * an event (or a poll interval), 0 at until_ms, -1 with errno (EINTR when a
 * signal arrived).
 */
int
mq_watch_wait(struct mq_watch *w, long long until_ms)
{
	struct pollfd pfd;
	long long left;
	int tmo, r;

	left = until_ms ? until_ms - mq_now_ms() : -1;
	if (until_ms && left <= 0)
		return 0;
	if (w->fd < 0) {
		tmo = left < 0 || left > w->poll_ms ? (int)w->poll_ms :
		    (int)left;
		r = poll(NULL, 0, tmo);
		if (r < 0)
			return -1;
		return left >= 0 && left <= w->poll_ms ? 0 : 1;
	}
	pfd.fd = w->fd;
	pfd.events = POLLIN;
	tmo = left < 0 ? -1 : left > 86400000 ? 86400000 : (int)left;
	r = poll(&pfd, 1, tmo);
	if (r < 0)
		return -1;
	if (r == 0)
		return until_ms && mq_now_ms() >= until_ms ? 0 : 1;
	if (mq_watch_drain(w, NULL))
		return 1;
	/* Only the queue directory's other names changed: wait on. */
	return mq_watch_wait(w, until_ms);
}

/*
 * Read every pending event: they are hints, and one rescan covers them all,
 * IN_Q_OVERFLOW (events lost) included.  A walk (if given) learns the names
 * that arrived in new/, so that it can claim them without a rescan (see
 * worker.c); after lost events it rescans.  Returns 0 when none of them
 * matters: only names in the queue directory other than the pause file
 * (.index being rewritten, a config edited) went away.
 */
int
mq_watch_drain(struct mq_watch *w, struct mq_walk *walk)
{
	char buf[16384] __attribute__((aligned(8)));
	const struct inotify_event *ev;
	ssize_t r, off;
	int any = 0;

	if (w->fd < 0)
		return 1;
	if (w->brief) {
		/* No names: a rescan, and a look at the pause file. */
		if (walk != NULL) {
			walk->stale = 1;
			walk->pauseknown = 0;
			return mq_dnwatch_drain(&w->dn) != 0;
		}
		/*
		 * Only the queue directory: a hint rewritten (or our own
		 * note), or the pause file gone, which matters only to one
		 * that last saw the queue paused.
		 */
		any = mq_dnwatch_drain(&w->dn);
		return (any & MQ_DN_NEW) ||
		    ((any & MQ_DN_QUEUE) && w->q->pausedseen);
	}
	do {
		if ((r = read(w->fd, buf, sizeof(buf))) <= 0)
			break;
		for (off = 0; off < r; off += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)(buf + off);
			if (ev->wd != w->qwd || (ev->len > 0 &&
			    strcmp(ev->name, "paused") == 0))
				any = 1;
			if (walk == NULL)
				continue;
			if (ev->mask & IN_Q_OVERFLOW) {
				walk->stale = 1;
				walk->pauseknown = 0;
			} else if (ev->wd == w->nwd && ev->len > 0)
				mq_walk_hint(walk, ev->name);
			else if (ev->wd == w->qwd && ev->len > 0 &&
			    strcmp(ev->name, "paused") == 0)
				walk->pauseknown = 0;
		}
		/* A read that left room for one more event got them all. */
	} while ((size_t)r > sizeof(buf) - sizeof(*ev) - NAME_MAX - 1);
	return any;
}

void
mq_watch_close(struct mq_watch *w)
{
	if (w == NULL)
		return;
	if (w->brief)
		mq_dnwatch_close(&w->dn);
	else if (w->fd >= 0)
		close(w->fd);
	free(w);
}
