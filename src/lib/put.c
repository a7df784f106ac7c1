/*
 * put.c: enqueue, the way qmail and Postfix do it.
 *
 * Each message is written to tmp/ (O_EXCL, O_NOFOLLOW, an explicit mode),
 * closed and checked; at commit the data is made durable (fsync of the one
 * file, or one syncfs for a batch: group commit), each file is renamed into
 * new/ without replacing anything, and new/ is fsync'ed.  Only then is an id
 * given to the caller to report.  A consumer can never see a partial file: new/ only ever gets
 * whole files by rename.  The queue's limits (limit.c) are checked at
 * commit, before anything is renamed: a refused message never reaches new/.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mq-internal.h"

struct pending {
	char name[MQ_NAME_MAX + 1];
	char id[MQ_NAME_MAX + 1];
};

struct mq_put {
	struct mq_queue *q;
	long long delay_ms, ttl_ms;
	int sync;
	int lastfd;		/* the latest file, kept for its fsync */
	enum mq_refusal refused; /* by the last commit (limit.c) */
	char key[MQ_FIELD_MAX + 1]; /* of the one message; "" none */
	int coalesced;		/* the last commit added nothing (key.c) */
	char group[MQ_FIELD_MAX + 1]; /* of every message; "" none */
	struct mq_group *g;	/* locked while a commit enters it */
	struct pending *p;
	size_t n, cap;
};

static int flush(struct mq_put *);
static int publish(struct mq_put *, struct pending *);
static int commit_keyed(struct mq_put *, size_t *, int *);
static int enter(struct mq_put *, const char *, const char *);
static int ungroup(struct mq_put *);

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
	int e = errno;

	snprintf(p->q->errobj, sizeof(p->q->errobj), "%s%s%s", dir,
	    *name ? "/" : "", name);
	errno = e;
	return -1;
}

static int
close_last(struct mq_put *p)
{
	int fd = p->lastfd;

	p->lastfd = -1;
	if (fd >= 0 && close(fd) < 0)
		return fail(p, "tmp", p->p[p->n - 1].name);
	return 0;
}

static int
name_new(struct mq_put *p, struct pending *e)
{
	struct mq_name n;

	memset(&n, 0, sizeof(n));
	if (mq_new_id(n.id, sizeof(n.id)) < 0)
		return -1;
	if (p->ttl_ms > 0)
		n.expires = (mq_now_ms() + p->ttl_ms + 999) / 1000;
	strlcpy(n.key, p->key, sizeof(n.key));
	strlcpy(n.group, p->group, sizeof(n.group));
	strlcpy(e->id, n.id, sizeof(e->id));
	return mq_name_format(e->name, sizeof(e->name), &n);
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
	unlinkat(p->q->dfd[MQ_TMP], p->p[p->n].name, 0);
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
	struct pending *e, *np;
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
	for (tries = 0;; tries++) {
		if (name_new(p, e) < 0)
			return fail(p, "tmp", "");
		fd = openat(q->dfd[MQ_TMP], e->name, O_WRONLY | O_CREAT |
		    O_EXCL | O_NOFOLLOW | O_CLOEXEC, q->fmode);
		if (fd >= 0)
			break;
		if (errno != EEXIST || tries > 8)
			return fail(p, "tmp", e->name);
	}
	p->n++;
	p->lastfd = fd;
	if (in < 0) {
		if (q->cfg.max_size && (long long)len > q->cfg.max_size) {
			errno = EFBIG;
			fail(p, "tmp", e->name);
			return undo(p);
		}
		if (mq_write_all(fd, buf, len) < 0) {
			fail(p, "tmp", e->name);
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
			if (q->cfg.max_size && total > q->cfg.max_size) {
				errno = EFBIG;
				fail(p, "tmp", e->name);
				return undo(p);
			}
			if (mq_write_all(fd, chunk, (size_t)r) < 0) {
				fail(p, "tmp", e->name);
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
		if (futimens(fd, ts) < 0) {
			fail(p, "tmp", e->name);
			return undo(p);
		}
	}
	return 0;
}

/*
 * Make the pending files durable, move them into new/, make new/ durable.
 * *moved says how many reached new/, in order: mq_put_id gives their ids,
 * which the caller must report even when this fails (they are enqueued).
 * On an error the rest are removed from tmp/.  *unsure is set when the
 * moved messages are visible but new/ could not be made durable (its fsync
 * failed): they may be consumed now, or lost in a power cut.
 */
int
mq_put_commit(struct mq_put *p, size_t *moved, int *unsure)
{
	struct mq_queue *q = p->q;
	size_t i, room;
	int rc = 0;

	*moved = 0;
	*unsure = 0;
	p->refused = MQ_REFUSED_NOT;
	p->coalesced = 0;
	if (p->n == 0)
		return 0;
	if (p->key[0])
		return commit_keyed(p, moved, unsure);
	if (mq_limit_room(q, p->n, &room, &p->refused) < 0)
		goto abort;
	if (room == 0) {
		q->errobj[0] = '\0';
		errno = ENOSPC;
		goto abort;
	}
	/* Its group first: what it makes is synced with the data (flush). */
	if (p->group[0] && (p->g = mq_group_begin(q, p->group,
	    p->p[0].name)) == NULL)
		goto abort;
	if (flush(p) < 0)
		goto abort;
	for (i = 0; i < room; i++) {
		if (publish(p, &p->p[i]) < 0) {
			rc = -1;
			break;
		}
		(*moved)++;
	}
	/* Into a held group, nothing entered new/ (group.c syncs its own). */
	if (*moved > 0 && p->sync && (!p->g || q->dirty & 1u << MQ_NEW) &&
	    mq_fsync(q->dfd[MQ_NEW]) < 0) {
		fail(p, "new", "");
		*unsure = 1;
		rc = -1;
	}
	if (ungroup(p) < 0 && rc == 0) {
		*unsure = 1;
		rc = -1;
	}
	if (rc == 0 && room < p->n) {
		/* Refused by a limit: no spool object failed. */
		q->errobj[0] = '\0';
		errno = ENOSPC;
		rc = -1;
	}
	if (rc == 0 && q->cfg.overflow_drop)
		mq_limit_trim(q);
	if (*moved < p->n) {
		int e = errno;
		for (i = *moved; i < p->n; i++)
			unlinkat(q->dfd[MQ_TMP], p->p[i].name, 0);
		errno = e;
	}
	p->n = 0;
	return rc;
abort:
	mq_put_abort(p);
	return -1;
}

/*
 * The next message carries a coalescing key (key.c); a keyed put is of one
 * message: EINVAL for a bad key or a second message.
 */
int
mq_put_key(struct mq_put *p, const char *key)
{
	if (!mq_key_valid(key) || p->n > 0) {
		errno = EINVAL;
		return -1;
	}
	strlcpy(p->key, key, sizeof(p->key));
	return 0;
}

/*
 * Every message of this put joins ordered group key (group.c), in order:
 * EINVAL for a bad key or messages already pending.
 */
int
mq_put_group(struct mq_put *p, const char *key)
{
	if (!mq_key_valid(key) || p->n > 0) {
		errno = EINVAL;
		return -1;
	}
	strlcpy(p->group, key, sizeof(p->group));
	return 0;
}

/* Did the last commit add nothing, its key held by a message waiting? */
int
mq_put_coalesced(const struct mq_put *p)
{
	return p->coalesced;
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
	struct mq_queue *q = p->q;
	struct pending *e = &p->p[0];
	char holder[MQ_NAME_MAX + 8];
	struct mq_name hn;
	size_t room;
	int lk, r;

	if (p->n != 1 || (r = mq_key_take(q, p->key, e->name, &lk, holder,
	    sizeof(holder))) < 0)
		goto abort;
	if (r == 0) {
		mq_put_abort(p);
		p->coalesced = *moved = 1;
		if (mq_name_parse(holder + 4, &hn) < 0)
			return -1;
		strlcpy(e->id, hn.id, sizeof(e->id));
		if (p->sync && mq_fsync(q->dfd[holder[0] == 'n' ? MQ_NEW :
		    MQ_CUR]) < 0) {
			*unsure = 1;
			return fail(p, holder[0] == 'n' ? "new" : "cur", "");
		}
		return 0;
	}
	if ((p->group[0] && (p->g = mq_group_begin(q, p->group,
	    e->name)) == NULL) || flush(p) < 0) {
		mq_key_drop(q, p->key, lk);
		goto abort;
	}
	if (mq_limit_room(q, 1, &room, &p->refused) < 0 || room == 0) {
		if (room == 0) {
			q->errobj[0] = '\0';
			errno = ENOSPC;
		}
		mq_key_drop(q, p->key, lk);
		goto abort;
	}
	/* No fresh name on a clash, as publish() does: the key names this. */
	if (enter(p, e->name, e->name) < 0) {
		if (!p->g)
			fail(p, "new", e->name);
		ungroup(p);
		mq_key_drop(q, p->key, lk);
		goto abort;
	}
	p->n = 0;
	*moved = 1;
	if ((p->sync && mq_fsync(q->dfd[MQ_NEW]) < 0) || ungroup(p) < 0) {
		*unsure = 1;
		ungroup(p);
		mq_key_release(lk);
		return fail(p, "new", "");
	}
	mq_key_release(lk);
	if (q->cfg.overflow_drop)
		mq_limit_trim(q);
	return 0;
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
	return p->p[i].id;
}

/*
 * The data of every pending file on disk before any rename: one message,
 * fsync its file; a batch, one syncfs for all, much cheaper than an fsync
 * each (group commit).
 */
static int
flush(struct mq_put *p)
{
	int rc = 0;

	if (p->sync) {
		/* A group's new directories and head name need syncfs too. */
		if (p->n == 1 && p->lastfd >= 0 &&
		    !(p->g && mq_group_unsynced(p->g)))
			rc = mq_fsync(p->lastfd);
		else
			while ((rc = syncfs(p->q->dfd[MQ_TMP])) < 0 &&
			    errno == EINTR)
				;
		if (rc < 0)
			return fail(p, "tmp", p->n == 1 ? p->p[0].name : "");
	}
	return close_last(p);
}

/* tmp/ to new/, or into its group (group.c): the head, or behind it. */
static int
enter(struct mq_put *p, const char *from, const char *to)
{
	if (p->g)
		return mq_group_enter(p->g, p->q->dfd[MQ_TMP], from, to,
		    p->sync) < 0 ? -1 : 0;
	return mq_rename_fresh(p->q->dfd[MQ_TMP], from, p->q->dfd[MQ_NEW],
	    to);
}

/* The commit is over: its group's line synced, the group let go. */
static int
ungroup(struct mq_put *p)
{
	struct mq_group *g = p->g;

	p->g = NULL;
	return mq_group_end(g, p->sync);
}

/*
 * tmp/ to new/.  The id is fresh (host, pid, counter, random), so a plain
 * rename would do; where the file system can refuse to replace, a name
 * another host made all the same takes a new one.
 */
static int
publish(struct mq_put *p, struct pending *e)
{
	char oldname[MQ_NAME_MAX + 1];
	int tries;

	strlcpy(oldname, e->name, sizeof(oldname));
	for (tries = 0;; tries++) {
		if (enter(p, oldname, e->name) == 0)
			return 0;
		if (errno != EEXIST || tries > 8 || name_new(p, e) < 0) {
			fail(p, "new", e->name);
			/* The file in tmp/ still has its first name. */
			strlcpy(e->name, oldname, sizeof(e->name));
			return -1;
		}
	}
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
		unlinkat(p->q->dfd[MQ_TMP], p->p[i].name, 0);
	p->n = 0;
	ungroup(p);
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
