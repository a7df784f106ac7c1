/*
 * publish.c: one publication's fan-out (the order and its reasons are in
 * topic.c's header).  In short, for publication ID and each subscriber
 * NAME, under the publication's lock:
 *
 *	1. copy the body to the queue's tmp/ID.NAME, fsync it
 *	2. make the record pub/ID/NAME; fsync pub/ID once for all
 *	3. tmp/ID.NAME into new/ the one way there is (enter.c: limits,
 *	   no-replace rename, new/ fsync'ed once)
 *
 * and a retry reads where each subscriber stands from the record and the
 * copy in tmp/.  Nothing here prints: each subscriber's outcome is in its
 * struct mq_sub.
 */
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/fs.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mq-internal.h"

struct target {
	struct mq_sub *s;
	struct mq_queue q;
	int open;		/* q is open */
	int fresh;		/* its record is to be made */
	int staged;		/* its copy waits in tmp/ for the rename */
	char did[MQ_NAME_MAX + 1]; /* ID.NAME */
};

struct pub {
	struct mq_topic *t;
	char id[MQ_ID_MAX + 1];
	int pdfd, bodyfd, sync;
	long long born;		/* the body's mtime: the publication's moment */
	off_t size;
	struct target *tg;
	size_t n;
};

/* An id given for a publication: a word, so ID.NAME is a safe name. */
int
mq_pub_id_valid(const char *id)
{
	return mq_word_valid(id, MQ_ID_MAX);
}

static int
pfail(struct pub *P, const char *obj, const char *name)
{
	int e = errno;

	snprintf(P->t->errobj, sizeof(P->t->errobj), "%s/%s", obj, name);
	errno = e;
	return -1;
}

/* dir/body from in, synced with its directory entry. */
static int
write_body(struct pub *P, int dfd, const char *dir, int in)
{
	int fd, e;

	fd = openat(dfd, "body", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd < 0)
		return pfail(P, "tmp", dir);
	if (mq_copy(in, fd) < 0) {
		/* The input failed, or the write: say which. */
		e = errno;
		close(fd);
		errno = e;
		return pfail(P, "tmp", dir);
	}
	if ((P->sync && mq_fsync(fd) < 0)) {
		e = errno;
		close(fd);
		errno = e;
		return pfail(P, "tmp", dir);
	}
	if (close(fd) < 0 || (P->sync && mq_fsync(dfd) < 0))
		return pfail(P, "tmp", dir);
	return 0;
}

/*
 * The body into a fresh directory in tmp/, synced, renamed to pub/ID.
 * Returns 0, 1 if pub/ID exists already (a retry raced us), or -1.
 */
static int
create(struct pub *P, int in)
{
	struct mq_topic *t = P->t;
	char dir[MQ_ID_MAX + 32];
	int dfd, e, r;

	snprintf(dir, sizeof(dir), "%s.%ld.%08x", P->id, (long)getpid(),
	    arc4random());
	if (mkdirat(t->tmpfd, dir, 0700) < 0)
		return pfail(P, "tmp", dir);
	if ((dfd = openat(t->tmpfd, dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0) {
		r = pfail(P, "tmp", dir);
		goto out;
	}
	if ((r = write_body(P, dfd, dir, in)) == 0) {
		if (mq_rename_fresh(t->tmpfd, dir, t->pubfd, P->id) == 0) {
			close(dfd);
			if (P->sync && mq_fsync(t->pubfd) < 0)
				return pfail(P, "pub", "");
			return 0;
		}
		/* Published meanwhile under this id: a retry, like ours. */
		r = errno == EEXIST || errno == ENOTEMPTY ? 1 :
		    pfail(P, "pub", P->id);
	}
	e = errno;
	unlinkat(dfd, "body", 0);
	close(dfd);
	errno = e;
out:
	e = errno;
	unlinkat(t->tmpfd, dir, AT_REMOVEDIR);
	errno = e;
	return r;
}

/*
 * What publishers killed while writing left in the topic's tmp/: removed
 * once untouched for 36 hours, maildir's rule, as mqreap does in a queue.
 */
static void
sweep(struct mq_topic *t)
{
	struct dirent *d;
	struct stat st;
	DIR *dp;
	int fd, sub;

	if ((fd = openat(t->tmpfd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0)
		return;
	if ((dp = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((d = readdir(dp)) != NULL) {
		if (d->d_name[0] == '.' || fstatat(t->tmpfd, d->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode) ||
		    mq_mtime_ms(&st) + MQ_TMP_MAX_AGE_MS > mq_now_ms())
			continue;
		if ((sub = openat(t->tmpfd, d->d_name, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC)) >= 0) {
			unlinkat(sub, "body", 0);
			close(sub);
		}
		unlinkat(t->tmpfd, d->d_name, AT_REMOVEDIR);
	}
	closedir(dp);
}

/*
 * The publication: made (no id, or an id not yet published) or found (a
 * retry: the stored body is used, the input is not read), then locked for
 * the fan-out and its body opened.
 */
static int
store(struct pub *P, const char *id, int in)
{
	struct stat st;

	if (id == NULL && mq_new_id(P->id, sizeof(P->id)) < 0)
		return pfail(P, "pub", "");
	if (id != NULL)
		strlcpy(P->id, id, sizeof(P->id));
	if (fstatat(P->t->pubfd, P->id, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			return pfail(P, "pub", P->id);
		sweep(P->t);
		if (create(P, in) < 0)
			return -1;
	}
	P->pdfd = openat(P->t->pubfd, P->id, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC);
	if (P->pdfd < 0 || flock(P->pdfd, LOCK_EX) < 0)
		return pfail(P, "pub", P->id);
	P->bodyfd = openat(P->pdfd, "body", O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (P->bodyfd < 0 || fstat(P->bodyfd, &st) < 0)
		return pfail(P, "pub", P->id);
	P->born = mq_mtime_ms(&st);
	P->size = st.st_size;
	return 0;
}

static int
byname(const void *a, const void *b)
{
	const struct mq_sub *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/* One subscriber link, if it subscribed by the publication's moment. */
static int
add(struct pub *P, const char *name, struct mq_sub **subs, size_t *cap)
{
	struct stat st;
	struct mq_sub *s;
	ssize_t n;

	if (fstatat(P->t->subfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISLNK(st.st_mode) || mq_mtime_ms(&st) > P->born ||
	    !mq_key_valid(name))
		return 0;
	if (P->n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		void *ns = reallocarray(*subs, c, sizeof(**subs));
		void *nt = reallocarray(P->tg, c, sizeof(*P->tg));
		if (ns)
			*subs = ns;
		if (nt)
			P->tg = nt;
		if (ns == NULL || nt == NULL)
			return -1;
		*cap = c;
	}
	s = &(*subs)[P->n];
	memset(s, 0, sizeof(*s));
	memset(&P->tg[P->n], 0, sizeof(P->tg[P->n]));
	strlcpy(s->name, name, sizeof(s->name));
	n = readlinkat(P->t->subfd, name, s->queue, sizeof(s->queue) - 1);
	if (n < 0)
		return 0;
	s->queue[n] = '\0';
	P->n++;
	return 0;
}

/* The subscribers of the publication's moment, in name order. */
static int
snapshot(struct pub *P, struct mq_sub **subs)
{
	struct dirent *d;
	size_t cap = 0, i;
	DIR *dp;
	int fd;

	if ((fd = openat(P->t->subfd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0 || (dp = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return pfail(P, "subscribers", "");
	}
	for (;;) {
		errno = 0;
		if ((d = readdir(dp)) == NULL)
			break;
		if (d->d_name[0] != '.' && add(P, d->d_name, subs, &cap) < 0)
			break;
	}
	closedir(dp);
	if (errno != 0)
		return pfail(P, "subscribers", "");
	if (P->n > 0)
		qsort(*subs, P->n, sizeof(**subs), byname);
	for (i = 0; i < P->n; i++)
		P->tg[i].s = &(*subs)[i];
	return 0;
}

/* A subscriber failed: why, and what inside its queue. */
static void
missed(struct target *g, int state)
{
	int e = errno;

	g->s->state = state;
	g->s->err = e;
	if (g->open)
		strlcpy(g->s->errobj, g->q.errobj, sizeof(g->s->errobj));
	g->staged = g->fresh = 0;
	errno = e;
}

/* The body into the queue's tmp/ID.NAME: a reflink if it can, else a copy. */
static int
copy(struct pub *P, struct target *g)
{
	struct mq_queue *q = &g->q;
	int fd, e;

	fd = openat(q->dfd[MQ_TMP], g->did, O_WRONLY | O_CREAT | O_TRUNC |
	    O_NOFOLLOW | O_CLOEXEC, q->fmode);
	if (fd < 0)
		goto fail;
	if (ioctl(fd, FICLONE, P->bodyfd) < 0 &&
	    (lseek(P->bodyfd, 0, SEEK_SET) < 0 || mq_copy(P->bodyfd, fd) < 0))
		goto fail;
	if ((P->sync && q->cfg.sync && mq_fsync(fd) < 0) || close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlinkat(q->dfd[MQ_TMP], g->did, 0);
	snprintf(q->errobj, sizeof(q->errobj), "tmp/%s", g->did);
	errno = e;
	return -1;
}

/* Where one subscriber stands; its copy written if it has none. */
static void
stage(struct pub *P, struct target *g)
{
	struct mq_queue *q = &g->q;
	struct stat st;

	snprintf(g->did, sizeof(g->did), "%s.%s", P->id, g->s->name);
	if (mq_open(q, g->s->queue, 0, 0) < 0) {
		g->open = 1;
		missed(g, MQ_SUB_FAILED);
		return;
	}
	g->open = 1;
	if (faccessat(P->pdfd, g->s->name, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		if (fstatat(q->dfd[MQ_TMP], g->did, &st,
		    AT_SYMLINK_NOFOLLOW) == 0)
			g->staged = 1;
		else
			g->s->state = MQ_SUB_ALREADY;
		return;
	}
	if (mq_fits(q, P->size) < 0 || copy(P, g) < 0) {
		missed(g, MQ_SUB_FAILED);
		return;
	}
	g->fresh = g->staged = 1;
}

/*
 * The records of the fresh copies, synced once.  If they cannot be made
 * durable no fresh copy is renamed: a retry would not know it had been.
 */
static void
records(struct pub *P)
{
	struct target *g;
	size_t i, fresh = 0;
	int fd;

	for (i = 0; i < P->n; i++) {
		g = &P->tg[i];
		if (!g->fresh)
			continue;
		fd = openat(P->pdfd, g->s->name, O_WRONLY | O_CREAT |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 || close(fd) < 0) {
			snprintf(g->q.errobj, sizeof(g->q.errobj), "%s",
			    "(record)");
			unlinkat(g->q.dfd[MQ_TMP], g->did, 0);
			missed(g, MQ_SUB_FAILED);
			continue;
		}
		fresh++;
	}
	if (fresh == 0 || !P->sync || mq_fsync(P->pdfd) == 0)
		return;
	for (i = 0; i < P->n; i++)
		if (P->tg[i].fresh)
			missed(&P->tg[i], MQ_SUB_FAILED);
}

/*
 * A copy refused by its queue's limits: its record goes first (synced: a
 * retry must not take the subscriber for served), then the copy, so that
 * a retry finds it to make afresh.
 */
static void
refused(struct pub *P, struct target *g, enum mq_refusal why)
{
	if (unlinkat(P->pdfd, g->s->name, 0) < 0 ||
	    (P->sync && mq_fsync(P->pdfd) < 0)) {
		missed(g, MQ_SUB_FAILED);
		return;
	}
	(void)unlinkat(g->q.dfd[MQ_TMP], g->did, 0);
	g->s->refused = why;
	errno = ENOSPC;
	missed(g, MQ_SUB_REFUSED);
}

/*
 * tmp/ID.NAME into new/ the one way there is (enter.c: the queue's TTL,
 * its limits, the rename or its group, new/ synced), for each one staged.
 */
static void
deliver(struct pub *P)
{
	struct mq_arrival a;
	struct mq_entered e;
	struct target *g;
	size_t i;

	for (i = 0; i < P->n; i++) {
		g = &P->tg[i];
		if (!g->staged)
			continue;
		memset(&a, 0, sizeof(a));
		strlcpy(a.tmp, g->did, sizeof(a.tmp));
		strlcpy(a.n.id, g->did, sizeof(a.n.id));
		if (P->t->group)
			strlcpy(a.n.group, P->t->group, sizeof(a.n.group));
		a.n.level = P->t->level;
		if (mq_enter_name(&g->q, &a.n, -1) < 0) {
			missed(g, MQ_SUB_FAILED);
			continue;
		}
		if (mq_enter(&g->q, &a, 1, MQ_ENTER_KEEPID | (P->sync ? 0 :
		    MQ_ENTER_NOSYNC), NULL, &e) == 0)
			g->s->state = MQ_SUB_DELIVERED;
		else if (e.unsure)
			missed(g, MQ_SUB_UNSURE);
		else if (errno == ENOSPC && e.why != MQ_REFUSED_NOT)
			refused(P, g, e.why);
		else
			missed(g, MQ_SUB_FAILED);
	}
}

/*
 * Publish the body read from in (or, id given and published before, the
 * stored one) to every subscriber of its moment.  Once the publication is
 * stored and durable, before the fan-out, stored is called with its id (a
 * fresh one when id is NULL), the name a retry gives.  Returns -1 if the
 * publication could not be stored or read (t->errobj, errno); else 0, with
 * each subscriber's outcome in *subs (to free).
 */
int
mq_publish(struct mq_topic *t, const char *id, int in, int nosync,
    void (*stored)(const char *), struct mq_sub **subs, size_t *nsubs)
{
	struct pub P = { .t = t, .pdfd = -1, .bodyfd = -1, .sync = !nosync };
	size_t i;
	int rc = -1;

	*subs = NULL;
	*nsubs = 0;
	if (store(&P, id, in) < 0)
		goto out;
	if (stored)
		stored(P.id);
	if (snapshot(&P, subs) < 0)
		goto out;
	for (i = 0; i < P.n; i++)
		stage(&P, &P.tg[i]);
	records(&P);
	deliver(&P);
	*nsubs = P.n;
	rc = 0;
out:
	for (i = 0; i < P.n; i++)
		if (P.tg[i].open)
			mq_close(&P.tg[i].q);
	free(P.tg);
	if (P.bodyfd >= 0)
		close(P.bodyfd);
	if (P.pdfd >= 0)
		close(P.pdfd);
	return rc;
}
