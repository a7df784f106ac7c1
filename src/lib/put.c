/*
 * put.c: enqueue, the way qmail and Postfix do it.
 *
 * Each message is written to tmp/ (O_EXCL, O_NOFOLLOW, an explicit mode),
 * closed and checked; at commit the data is made durable (fsync of the one
 * file, or one syncfs for a batch: group commit) and the files go into
 * new/ the one way there is (enter.c: limits, no-replace rename, new/
 * fsync'ed, overflow).  Only then is an id given to the caller to report.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mq-internal.h"

struct mq_put {
	struct mq_queue *q;
	long long delay_ms, ttl_ms;
	int sync;
	int lastfd;		/* the latest file, kept for its fsync */
	enum mq_refusal refused; /* by the last commit (limit.c) */
	char key[MQ_FIELD_MAX + 1]; /* of the one message; "" none */
	char group[MQ_FIELD_MAX + 1]; /* of every message; "" none */
	char level;		/* of every message: as mq_name's */
	struct mq_arrival *p;	/* staged in tmp/: p[i].tmp */
	size_t n, cap;
};

/* Names of tmp/ tried when one exists (a leftover of the same id). */
#define TMP_TRIES 9

static int flush(struct mq_put *, const struct mq_group *);
static void remove_unmoved(struct mq_put *, size_t);
static int commit_keyed(struct mq_put *, size_t *, int *);

/* ttl_ms < 0: the queue's default TTL. */
struct mq_put *
mq_put_begin(struct mq_queue *q, long long delay_ms, long long ttl_ms,
    int nosync)
{
	struct mq_put *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->q = q;
	p->delay_ms = delay_ms;
	p->ttl_ms = ttl_ms;
	p->sync = q->cfg.sync && !nosync;
	p->lastfd = -1;
	return p;
}

size_t
mq_put_pending(const struct mq_put *p)
{
	return p->n;
}

static int
fail(struct mq_put *p, const char *dir, const char *name)
{
	return mq_obj_error(p->q, dir, name, NULL);
}

static int
close_last(struct mq_put *p)
{
	int fd = p->lastfd;

	p->lastfd = -1;
	if (fd >= 0 && close(fd) < 0)
		return fail(p, "tmp", p->p[p->n - 1].tmp);
	return 0;
}

static int
name_new(struct mq_put *p, struct mq_arrival *a)
{
	memset(&a->n, 0, sizeof(a->n));
	if (mq_enter_name(p->q, &a->n, p->ttl_ms) < 0)
		return -1;
	strlcpy(a->n.key, p->key, sizeof(a->n.key));
	strlcpy(a->n.group, p->group, sizeof(a->n.group));
	a->n.level = p->level;
	return mq_name_format(a->tmp, sizeof(a->tmp), &a->n);
}

/* A failed put removes its own file and nothing else. */
static int
undo(struct mq_put *p)
{
	int e = errno;

	if (p->lastfd >= 0)
		close(p->lastfd);
	p->lastfd = -1;
	p->n--;
	(void)unlinkat(p->q->dfd[MQ_TMP], p->p[p->n].tmp, 0);
	errno = e;
	return -1;
}

/*
 * Copy fd (or buf, when fd < 0) into a new file in tmp/.  On failure
 * (EFBIG: larger than max_size; EINTR: a signal while reading) nothing of
 * this message is left, and the messages pending before it stay pending.
 */
int
mq_put_fd(struct mq_put *p, int in, const char *buf, size_t len)
{
	struct mq_queue *q = p->q;
	struct mq_arrival *e, *np;
	char chunk[65536];
	long long total = 0;
	struct timespec ts[2];
	ssize_t r;
	int fd, tries;

	if (close_last(p) < 0)
		return -1;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		if ((np = reallocarray(p->p, cap, sizeof(*np))) == NULL)
			return -1;
		p->p = np;
		p->cap = cap;
	}
	e = &p->p[p->n];
	e->at = 0;
	for (tries = 0;; tries++) {
		if (name_new(p, e) < 0)
			return fail(p, "tmp", "");
		fd = openat(q->dfd[MQ_TMP], e->tmp, O_WRONLY | O_CREAT |
		    O_EXCL | O_NOFOLLOW | O_CLOEXEC, q->fmode);
		if (fd >= 0)
			break;
		if (errno != EEXIST || tries + 1 >= TMP_TRIES)
			return fail(p, "tmp", e->tmp);
	}
	p->n++;
	p->lastfd = fd;
	if (in < 0) {
		if (mq_fits(q, (long long)len) < 0 ||
		    mq_write_all(fd, buf, len) < 0) {
			fail(p, "tmp", e->tmp);
			return undo(p);
		}
	} else {
		for (;;) {
			r = read(in, chunk, sizeof(chunk));
			if (r < 0) {
				/* The input failed, not the spool. */
				q->errobj[0] = '\0';
				return undo(p);
			}
			if (r == 0)
				break;
			total += r;
			if (mq_fits(q, total) < 0 ||
			    mq_write_all(fd, chunk, (size_t)r) < 0) {
				fail(p, "tmp", e->tmp);
				return undo(p);
			}
		}
	}
	if (p->delay_ms > 0) {
		/* The mtime in new/ is when the message becomes visible. */
		long long at = mq_now_ms() + p->delay_ms;
		ts[0].tv_sec = 0;
		ts[0].tv_nsec = UTIME_OMIT;
		ts[1].tv_sec = at / 1000;
		ts[1].tv_nsec = (at % 1000) * 1000000;
		e->at = at;
		if (futimens(fd, ts) < 0) {
			fail(p, "tmp", e->tmp);
			return undo(p);
		}
	}
	return 0;
}

/*
 * Make the pending files durable and move them into new/ (enter.c).
 * *moved says how many reached new/, in order: mq_put_id gives their ids,
 * which the caller must report even when this fails (they are enqueued).
 * On an error the rest are removed from tmp/.  *unsure is set when the
 * moved messages are visible but new/ could not be made durable (its fsync
 * failed): they may be consumed now, or lost in a power cut.
 */
int
mq_put_commit(struct mq_put *p, size_t *moved, int *unsure)
{
	struct mq_group *g = NULL;
	struct mq_entered e;
	int rc;

	*moved = 0;
	*unsure = 0;
	p->refused = MQ_REFUSED_NOT;
	if (p->n == 0)
		return 0;
	if (p->key[0])
		return commit_keyed(p, moved, unsure);
	/* Its group first: what it makes is synced with the data (flush). */
	if (p->group[0] && (g = mq_group_begin(p->q, p->group,
	    p->p[0].tmp)) == NULL) {
		mq_put_abort(p);
		return -1;
	}
	if (flush(p, g) < 0) {
		mq_group_end(g, 0);
		mq_put_abort(p);
		return -1;
	}
	rc = mq_enter(p->q, p->p, p->n, p->sync ? 0 : MQ_ENTER_NOSYNC, g, &e);
	*moved = e.moved;
	*unsure = e.unsure;
	p->refused = e.why;
	remove_unmoved(p, e.moved);
	return rc;
}

/* The staged files from the first not moved on are removed; errno kept. */
static void
remove_unmoved(struct mq_put *p, size_t moved)
{
	int e = errno;
	size_t i;

	for (i = moved; i < p->n; i++)
		(void)unlinkat(p->q->dfd[MQ_TMP], p->p[i].tmp, 0);
	p->n = 0;
	errno = e;
}

/* A key or group (a word) for the messages to come: dst is MQ_FIELD_MAX+1. */
static int
word(struct mq_put *p, char *dst, const char *w)
{
	if (!mq_key_valid(w) || p->n > 0) {
		errno = EINVAL;
		return -1;
	}
	strlcpy(dst, w, MQ_FIELD_MAX + 1);
	return 0;
}

/*
 * The next message carries a coalescing key (key.c); a keyed put is of one
 * message: EINVAL for a bad key or a second message.
 */
int
mq_put_key(struct mq_put *p, const char *key)
{
	return word(p, p->key, key);
}

/*
 * Every message of this put joins ordered group key (group.c), in order:
 * EINVAL for a bad key or messages already pending.
 */
int
mq_put_group(struct mq_put *p, const char *key)
{
	return word(p, p->group, key);
}

/* Every message of this put has level (0-9): EINVAL if not a level. */
int
mq_put_level(struct mq_put *p, int level)
{
	if (level < 0 || level >= MQ_LEVELS || p->n > 0) {
		errno = EINVAL;
		return -1;
	}
	p->level = level == MQ_LEVEL_DEFAULT ? 0 : (char)('0' + level);
	return 0;
}

/*
 * Commit a keyed message (key.c).  The key is taken first: held by another
 * message, ours is removed unsynced, and the id reported is the holder's,
 * once the holder's directory is synced (its put may have been killed
 * before it synced it).  Ours: the file is synced, the limits checked, the
 * rename made and new/ synced while the key stays locked, so that no other
 * put reads the key before its message is there for good.
 */
static int
commit_keyed(struct mq_put *p, size_t *moved, int *unsure)
{
	struct mq_group *g = NULL;
	struct mq_queue *q = p->q;
	struct mq_arrival *a = &p->p[0];
	char holder[MQ_NAME_MAX + 8];
	struct mq_entered e;
	struct mq_name hn;
	int lk, r;

	if (p->n != 1 || (r = mq_key_take(q, p->key, a->tmp, &lk, holder,
	    sizeof(holder))) < 0)
		goto abort;
	if (r == 0) {
		mq_put_abort(p);
		*moved = 1;
		if (mq_name_parse(holder + 4, &hn) < 0)
			return -1;
		strlcpy(a->n.id, hn.id, sizeof(a->n.id));
		if (p->sync && mq_fsync(q->dfd[holder[0] == 'n' ? MQ_NEW :
		    MQ_CUR]) < 0) {
			*unsure = 1;
			return fail(p, holder[0] == 'n' ? "new" : "cur", "");
		}
		return 0;
	}
	if ((p->group[0] && (g = mq_group_begin(q, p->group,
	    a->tmp)) == NULL) || flush(p, g) < 0) {
		mq_group_end(g, 0);
		mq_key_drop(q, p->key, lk);
		goto abort;
	}
	/* The key names this message: no fresh name on a clash. */
	r = mq_enter(q, a, 1, MQ_ENTER_KEEPID | (p->sync ? 0 :
	    MQ_ENTER_NOSYNC), g, &e);
	*moved = e.moved;
	*unsure = e.unsure;
	p->refused = e.why;
	if (e.moved == 0) {
		mq_key_drop(q, p->key, lk);
		goto abort;
	}
	p->n = 0;
	mq_key_release(lk);
	return r;
abort:
	mq_put_abort(p);
	return -1;
}

/*
 * Why the last commit moved fewer than pending (ENOSPC): the queue is full
 * (max_length, overflow = refuse) or the file system below min_free.
 */
enum mq_refusal
mq_put_refused(const struct mq_put *p)
{
	return p->refused;
}

/* The id of the i-th message the last commit moved into new/. */
const char *
mq_put_id(const struct mq_put *p, size_t i)
{
	return p->p[i].n.id;
}

/*
 * The data of every pending file on disk before any rename: one message,
 * fsync its file; a batch, one syncfs for all, much cheaper than an fsync
 * each (group commit).
 */
static int
flush(struct mq_put *p, const struct mq_group *g)
{
	int rc = 0;

	if (p->sync) {
		/* A group's new directories and head name need syncfs too. */
		if (p->n == 1 && p->lastfd >= 0 &&
		    !(g && mq_group_unsynced(g)))
			rc = mq_fsync(p->lastfd);
		else
			while ((rc = syncfs(p->q->dfd[MQ_TMP])) < 0 &&
			    errno == EINTR)
				;
		if (rc < 0)
			return fail(p, "tmp", p->n == 1 ? p->p[0].tmp : "");
	}
	return close_last(p);
}

/* Remove every file not yet committed; errno is kept. */
void
mq_put_abort(struct mq_put *p)
{
	int e = errno;
	size_t i;

	if (p->lastfd >= 0)
		close(p->lastfd);
	p->lastfd = -1;
	for (i = 0; i < p->n; i++)
		(void)unlinkat(p->q->dfd[MQ_TMP], p->p[i].tmp, 0);
	p->n = 0;
	errno = e;
}

void
mq_put_end(struct mq_put *p)
{
	if (p == NULL)
		return;
	mq_put_abort(p);
	free(p->p);
	free(p);
}
