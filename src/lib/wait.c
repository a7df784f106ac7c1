/*
 * wait.c: wait for a message's end (mqwait, mqput -W; issue 20).
 *
 * A waiter registers (QUEUE/ends/wait/ID, see end.c), then looks, in this
 * order: for the end record (ends/ID); for the message in new/, cur/ (still
 * alive: wait), done/ (acknowledged), dead/ (its reason in its name) and
 * the ordered groups' groups/KEY/ (alive, behind its group's head).
 * Found nowhere, with no record, for MQ_RENAME_GRACE_MS: the id is unknown (never
 * put, or ended with nothing kept).  While the message lives the waiter
 * sleeps in poll(2) on its FIFO, which the ender's close wakes; it looks
 * again every RECHECK_MS all the same (an ender killed between its move and
 * its record leaves no wake-up), and refreshes its registration then, so
 * that mqreap leaves it alone.  Without a FIFO (a network file system, no
 * descriptor left, a registration it cannot make) it looks for the record
 * every poll interval instead.
 *
 * A waiter changes nothing but its registration: killed, it leaves that
 * behind, which costs one record at the message's end and is reaped later.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mq-internal.h"

#define RECHECK_MS 10000

struct mq_waiter {
	struct mq_queue *q;
	int efd, wfd;		/* ends/, ends/wait/ */
	int fifo;		/* the registration's read end; -1: polling */
	int remote;		/* a network file system: never a FIFO */
	char id[MQ_NAME_MAX + 1];
	enum mq_dir dir;	/* where the message was last seen ... */
	char name[MQ_NAME_MAX + 1]; /* ... under this name; "" not seen */
	long long gone;		/* since when it is nowhere; 0: seen */
	long long ready;	/* every consumer knows someone waits (ms) */
	int woken;		/* the FIFO woke us: register afresh */
};

/*
 * Register: make ends/wait/ID (a FIFO, or on a network file system an
 * empty file) and hold the FIFO open for reading; refresh its mtime.  A
 * registration that cannot be made leaves the waiter polling.
 */
static void
enroll(struct mq_waiter *w)
{
	struct mq_queue *q = w->q;
	mode_t mode = q->fmode & 0040 ? 0660 : q->fmode;
	struct stat st;
	int fd, tries;

	if (w->fifo >= 0)
		close(w->fifo);
	w->fifo = -1;
	if (w->wfd < 0)
		return;
	for (tries = 0; tries < 8; tries++) {
		if (w->remote) {
			fd = openat(w->wfd, w->id, O_WRONLY | O_CREAT |
			    O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC, mode);
			if (fd >= 0)
				close(fd);
			break;
		}
		if (mkfifoat(w->wfd, w->id, mode) < 0 && errno != EEXIST)
			return;
		/* The ender may remove it between the two: make it again. */
		fd = openat(w->wfd, w->id, O_RDONLY | O_NONBLOCK | O_NOFOLLOW |
		    O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT)
			break;
	}
	if (!w->remote && fd >= 0 && fstat(fd, &st) == 0 &&
	    S_ISFIFO(st.st_mode))
		w->fifo = fd;
	else if (fd >= 0 && !w->remote)
		close(fd);
	utimensat(w->wfd, w->id, NULL, AT_SYMLINK_NOFOLLOW);
}

/*
 * When every consumer knows someone waits on the queue.  Consumers look for
 * ends/wait/ only once every MQ_WAITS_MS (end.c): if it was made just now
 * (by the first waiter of the queue), an end within that time by one that
 * looked before may go unrecorded.  Its birth time (statx) tells; without
 * one (a file system that keeps none), the directory's change time, later
 * than its birth, errs on the side of waiting.
 */
static long long
ready_at(struct mq_waiter *w)
{
	struct statx sx;
	long long born;

	if (w->wfd < 0 || statx(w->wfd, "", AT_EMPTY_PATH, STATX_BTIME |
	    STATX_CTIME, &sx) < 0)
		return 0;
	if (sx.stx_mask & STATX_BTIME)
		born = sx.stx_btime.tv_sec * 1000LL +
		    sx.stx_btime.tv_nsec / 1000000;
	else
		born = sx.stx_ctime.tv_sec * 1000LL +
		    sx.stx_ctime.tv_nsec / 1000000;
	born += MQ_WAITS_MS + 100;
	return born > mq_now_ms() + MQ_WAITS_MS + 100 ? 0 : born;
}

/*
 * Sleep until every consumer knows someone waits: mqput -W, before its
 * message becomes visible, so that even the fastest end is recorded.
 * (Only the first waiters of a queue ever sleep here.)
 */
void
mq_wait_ready(struct mq_waiter *w)
{
	long long left = w->ready - mq_now_ms();

	if (left > 0)
		poll(NULL, 0, (int)left);
}

/*
 * ends/ or ends/wait/ (name) in at, made if missing.  A reader of a group
 * queue may not make it (EACCES, EPERM, EROFS): -2, and the waiter polls
 * without it; any other failure is -1 (errno): a fault is not mistaken for
 * "nothing recorded".
 */
static int
ends_dir(struct mq_queue *q, int at, const char *name)
{
	int fd;

	if ((fd = mq_subdir(q, at, name, 0)) >= 0 || errno != ENOENT)
		return fd;
	if ((fd = mq_subdir(q, at, name, 1)) >= 0)
		return fd;
	return errno == EACCES || errno == EPERM || errno == EROFS ? -2 : -1;
}

/*
 * Begin to wait for id in q (name: its name in new/, if the caller knows
 * it).  Registered when this returns: an end from now on is recorded.
 * NULL with errno (q->errobj named) if ends/ could not be had.
 */
struct mq_waiter *
mq_wait_begin(struct mq_queue *q, const char *id, const char *name)
{
	struct mq_waiter *w;
	int e;

	if (!mq_id_valid(id)) {
		errno = EINVAL;
		return NULL;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->q = q;
	w->fifo = w->wfd = -1;
	w->remote = mq_remote(q->fd);
	strlcpy(w->id, id, sizeof(w->id));
	if (name && strlcpy(w->name, name, sizeof(w->name)) < sizeof(w->name))
		w->dir = MQ_NEW;
	else
		w->name[0] = '\0';
	if ((w->efd = ends_dir(q, q->fd, "ends")) == -1 || (w->efd >= 0 &&
	    (w->wfd = ends_dir(q, w->efd, "wait")) == -1)) {
		e = errno;
		mq_obj_error(q, "ends", w->efd >= 0 ? "wait" : NULL, NULL);
		mq_wait_close(w);
		errno = e;
		return NULL;
	}
	enroll(w);
	w->ready = ready_at(w);
	return w;
}

void
mq_wait_close(struct mq_waiter *w)
{
	if (w == NULL)
		return;
	if (w->fifo >= 0)
		close(w->fifo);
	if (w->wfd >= 0)
		close(w->wfd);
	if (w->efd >= 0)
		close(w->efd);
	free(w);
}

/* Is name (in a directory) the message id? */
static int
is_id(const char *name, const char *id, size_t idlen)
{
	struct mq_name n;

	if (strncmp(name, id, idlen) != 0 ||
	    (name[idlen] != '\0' && name[idlen] != ','))
		return 0;
	return mq_name_parse(name, &n) == 0 && strcmp(n.id, id) == 0;
}

/* Find id in dir: 1 (its name in w->name), 0 not there, -1 error. */
static int
find(struct mq_waiter *w, enum mq_dir dir)
{
	struct mq_queue *q = w->q;
	size_t idlen = strlen(w->id);
	struct dirent *d;
	DIR *dp;
	int fd, r = 0;

	fd = openat(q->dfd[dir], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (dp = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return mq_entry_error(q, dir, "", errno);
	}
	for (;;) {
		errno = 0;
		if ((d = readdir(dp)) == NULL) {
			if (errno != 0)
				r = mq_entry_error(q, dir, "", errno);
			break;
		}
		if (is_id(d->d_name, w->id, idlen)) {
			strlcpy(w->name, d->d_name, sizeof(w->name));
			w->dir = dir;
			r = 1;
			break;
		}
	}
	closedir(dp);
	return r;
}

/* Is id waiting behind the head of an ordered group (groups/KEY/)? */
static int
grouped(struct mq_waiter *w)
{
	size_t idlen = strlen(w->id);
	struct dirent *g, *d;
	DIR *gp, *dp;
	int gfd, kfd, r = 0;

	if ((gfd = mq_subdir(w->q, w->q->fd, "groups", 0)) < 0)
		return 0;
	if ((gp = fdopendir(gfd)) == NULL) {
		close(gfd);
		return 0;
	}
	while (!r && (g = readdir(gp)) != NULL) {
		if (g->d_name[0] == '.' ||
		    (kfd = mq_subdir(w->q, dirfd(gp), g->d_name, 0)) < 0)
			continue;
		if ((dp = fdopendir(kfd)) == NULL) {
			close(kfd);
			continue;
		}
		while (!r && (d = readdir(dp)) != NULL)
			r = is_id(d->d_name, w->id, idlen);
		closedir(dp);
	}
	closedir(gp);
	return r;
}

/* What a message found in done/ or dead/ says of its end. */
static void
from_name(const struct mq_waiter *w, struct mq_ended *out)
{
	struct mq_name n;

	memset(out, 0, sizeof(*out));
	out->end = MQ_END_ACKED;
	if (w->dir != MQ_DEAD || mq_name_parse(w->name, &n) < 0)
		return;
	out->end = strcmp(n.reason, "expired") == 0 ? MQ_END_EXPIRED :
	    MQ_END_DEAD;
	strlcpy(out->reason, n.reason, sizeof(out->reason));
}

/*
 * Where is the message?  1: ended, in done/ or dead/ (out filled); 0:
 * alive in new/ or cur/; -1 with ENOENT: nowhere; -1 on an error.  The
 * name it was last seen under is tried first: a stat, no directory read.
 */
static int
locate(struct mq_waiter *w, struct mq_ended *out)
{
	static const enum mq_dir dirs[] = { MQ_NEW, MQ_CUR, MQ_DONE, MQ_DEAD };
	struct stat st;
	size_t i;
	int r;

	if (w->name[0] && fstatat(w->q->dfd[w->dir], w->name, &st,
	    AT_SYMLINK_NOFOLLOW) == 0)
		r = 1;
	else
		for (i = r = 0; r == 0 && i < sizeof(dirs) / sizeof(dirs[0]);
		    i++)
			if ((r = find(w, dirs[i])) < 0)
				return -1;
	if (r == 0) {
		w->name[0] = '\0';
		if (grouped(w))
			return 0;	/* alive, behind its group's head */
		errno = ENOENT;
		return -1;
	}
	if (w->dir == MQ_DONE || w->dir == MQ_DEAD) {
		from_name(w, out);
		return 1;
	}
	return 0;
}

/* Sleep until the FIFO is woken, or until (ms); polling: until at most. */
static int
sleep_until(struct mq_waiter *w, long long until)
{
	struct pollfd pfd = { .fd = w->fifo, .events = POLLIN };
	long long left = until - mq_now_ms();
	int r;

	if (left <= 0)
		return 0;
	if (left > 86400000)
		left = 86400000;
	r = poll(w->fifo >= 0 ? &pfd : NULL, w->fifo >= 0 ? 1 : 0, (int)left);
	if (r < 0)
		return -1;
	w->woken = r > 0;
	return 0;
}

/*
 * Keep the registration fresh (its mtime: mqreap sees a live waiter).  The
 * FIFO held is kept, not opened anew: an ender that closed its write end
 * while we held none would wake nobody, after our last look for the
 * record.  1 if the registration had to be made afresh (the caller looks
 * for the record again), 0 if not.
 */
static int
refresh(struct mq_waiter *w)
{
	struct stat st, mine;

	if (w->fifo >= 0 && fstat(w->fifo, &mine) == 0 &&
	    fstatat(w->wfd, w->id, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_ino == mine.st_ino && st.st_dev == mine.st_dev) {
		utimensat(w->wfd, w->id, NULL, AT_SYMLINK_NOFOLLOW);
		return 0;
	}
	enroll(w);
	return 1;
}

/*
 * Wait until the message ends or until until_ms (0: no limit): 1 with out
 * filled (out->result malloc'ed, or NULL), 0 at until_ms, -1 with errno
 * (ENOENT: no such message, and no record of one; EINTR: a signal).
 */
int
mq_wait_end(struct mq_waiter *w, long long until, struct mq_ended *out)
{
	struct mq_ended rec;
	long long now, look = 0, at;
	int r, where = 0;

	memset(out, 0, sizeof(*out));
	for (;;) {
		if (w->efd >= 0 && (r = mq_end_read(w->q, w->efd, w->id,
		    out)) != 0)
			return r;
		/*
		 * Woken with no record (its ender killed before writing
		 * it): POLLHUP stays once the ender has closed, so a fresh
		 * registration, or this would be a busy loop; then the
		 * record is looked for again (it may have come in between).
		 */
		if (w->woken) {
			w->woken = 0;
			enroll(w);
			continue;
		}
		now = mq_now_ms();
		if (now >= look) {
			/*
			 * Ended: its record, if it has one, was written
			 * before its move (end.c), so it may have come
			 * since the read above: read again, or the name's
			 * "acknowledged" would hide a result.
			 */
			if ((where = locate(w, out)) > 0) {
				if (w->efd >= 0 && (r = mq_end_read(w->q,
				    w->efd, w->id, &rec)) != 0) {
					*out = rec;
					return r;
				}
				return 1;
			}
			if (where < 0 && errno != ENOENT)
				return -1;
			if (where == 0)
				w->gone = 0;
			else if (w->gone == 0)
				w->gone = now;
			else if (now - w->gone >= MQ_RENAME_GRACE_MS) {
				errno = ENOENT;
				return -1;
			}
			look = now + (where < 0 ? MQ_RENAME_GRACE_MS / 8 :
			    RECHECK_MS);
			if (where == 0 && refresh(w))
				continue;
		}
		if (until && now >= until)
			return 0;
		/* A waiter keeps its host's heartbeat (host.c); a hint. */
		(void)mq_host_beat(w->q, now);
		at = look;
		mq_soonest(&at, w->q->host_beat);
		if (w->fifo < 0 && now + w->q->cfg.poll_ms < at)
			at = now + w->q->cfg.poll_ms;
		/* A consumer may not know of us yet: it writes, not wakes. */
		if (now < w->ready && now + 100 < at)
			at = now + 100;
		if (until && until < at)
			at = until;
		if (sleep_until(w, at) < 0)
			return -1;
	}
}
