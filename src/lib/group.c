/*
 * group.c: ordered groups.  Messages put with one group key are claimed one
 * at a time, in put order, by every consumer of every host sharing the
 * spool; other groups and messages without a group run beside them.
 *
 * Only a group's head is ever in new/ or cur/.  The messages behind it wait
 * in QUEUE/groups/KEY/ under the names they will have in new/ (ids sort in
 * put order, so ls shows the line), where no claimer looks: a claim costs
 * the same whether ten or a million messages wait behind a held group, and
 * the claim path knows nothing of groups (a head is an ordinary message).
 *
 *	groups/KEY/NAME		waiting behind the head, oldest first
 *	groups/KEY/.head/NAME	the head: an empty file named as the head
 *				entered new/; its id (before the first
 *				comma) names the claim that holds the
 *				group: ls cur/ID,*; none while it is idle
 *	groups/KEY/.lock	flock'ed by every change of the group
 *
 * The rules:
 *	put, group idle (no head)	.head/ names it, then it enters new/
 *	put, group held			into groups/KEY/, at the back
 *	the head's claim ends (acknowledged, dead letter, TTL, purged, moved)
 *					the oldest of groups/KEY/ becomes the
 *					head: .head/ names it, then it is
 *					renamed into new/ (inotify wakes the
 *					consumers); none left: .head/ empty
 *	the head released, its claim expired, its owner dead
 *					back to new/, still the head; a
 *					delayed head holds the group
 *
 * Every change of a group is made under the flock of its .lock, checked
 * once locked to be still the group's (mqreap removes idle groups):
 * flock works across GlusterFS clients, as coalescing keys rely on.  The
 * state is names only (directory entries), never a file's contents: the
 * clients of a network file system see each other's entries at once, but
 * may read old data of a file another client rewrote (head_dir).
 *
 * The order of writes, so that a crash at any syscall leaves a group
 * neither stuck nor doubled (two of its messages in new/ or cur/):
 *  - On a put, .head/ names the message (synced: with the put's data, by
 *    one syncfs) before it enters new/: a crash in between leaves .head/
 *    naming a message still in tmp/, whose put failed; mqreap finds it
 *    nowhere and moves the group on.
 *  - A head's end is made durable (the caller's mq_sync) before the next
 *    message moves into new/ (mq_group_flush, called by mq_sync): a power
 *    cut cannot bring an acknowledged head back beside its successor.
 *  - When the group moves on, .head/ names the next message before it is
 *    renamed into new/: a crash in between leaves .head/ naming a message
 *    still in groups/KEY/, and the next put of the group (or mqreap)
 *    finishes the move.  A crash before (the head gone, .head/ not yet
 *    changed) leaves .head/ naming a message in neither new/ nor cur/:
 *    mqreap moves the group on.  If mqreap finds another message of the
 *    group there (a power cut lost .head/'s change but kept the move),
 *    that one becomes the head.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mq-internal.h"

#define GROUPS "groups"
#define HEAD ".head"
#define LOCK ".lock"
#define GROUP_IDLE_MS (3600LL * 1000) /* then mqreap removes an idle group */

/* Heads that ended, for mq_group_flush to move their groups on. */
struct mq_ends {
	size_t n, cap;
	struct mq_end {
		char group[MQ_FIELD_MAX + 1];
		char id[MQ_NAME_MAX + 1];
	} *e;
};

static int
fail(struct mq_queue *q, const char *key, const char *name)
{
	return mq_obj_error(q, GROUPS, key, name);
}

static int
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev;
}

/*
 * Make dir in fd (a group queue's mode), synced into fd if sync; or, with
 * unsynced, not synced: *unsynced is set, the caller syncs the file system.
 */
static int
make_dir(struct mq_queue *q, int fd, const char *dir, int *unsynced)
{
	if (mkdirat(fd, dir, q->fmode & 0040 ? 02770 : 0700) < 0)
		return errno == EEXIST ? 0 : -1;
	if (q->fmode & 0040)
		fchmodat(fd, dir, 02770, 0);
	/* The messages renamed into it must survive a power cut. */
	if (q->cfg.sync && unsynced)
		*unsynced = 1;
	return q->cfg.sync && !unsynced ? mq_fsync(fd) : 0;
}

/* groups/, made on first use if create (a queue from before has none). */
static int
groups_dir(struct mq_queue *q, int create, int *unsynced)
{
	if (create && make_dir(q, q->fd, GROUPS, unsynced) < 0)
		return -1;
	return openat(q->fd, GROUPS, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
}

/* A group locked: its directory and its flock'ed .lock. */
struct mq_group {
	struct mq_queue *q;
	char key[MQ_FIELD_MAX + 1];
	int gfd, lockfd, headfd; /* groups/KEY/, .lock, .head/ */
	int lazy;		/* syncs left to the caller (a put) */
	int unsynced;		/* lazy, and something to sync */
	int premade;		/* lazy: .head/ names the put's first */
	char cur[MQ_NAME_MAX + 1]; /* the name in .head/, as last seen */
	int held;		/* it has a head */
	int behind;		/* messages entered groups/KEY/: sync it */
};

static void
unlock(struct mq_group *g)
{
	if (g->headfd >= 0)
		close(g->headfd);
	g->headfd = -1;
	if (g->lockfd >= 0)
		close(g->lockfd);
	if (g->gfd >= 0)
		close(g->gfd);
	g->lockfd = g->gfd = -1;
}

/* Open and flock groups/KEY/.lock; 1 locked, 0 gone meanwhile, -1 error. */
static int
lock_once(struct mq_queue *q, int sfd, struct mq_group *g, int create,
    int nonblock)
{
	struct stat a, b, c, d;

	if (create && make_dir(q, sfd, g->key, g->lazy ? &g->unsynced :
	    NULL) < 0)
		return -1;
	g->gfd = openat(sfd, g->key, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	/* Gone meanwhile (ESTALE: removed by another client): again. */
	if (g->gfd < 0)
		return (errno == ENOENT && create) || errno == ESTALE ? 0 : -1;
	/* In a group queue any member may move a group on. */
	g->lockfd = openat(g->gfd, LOCK, O_RDWR | (create ? O_CREAT : 0) |
	    O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
	    q->fmode & 0040 ? 0660 : q->fmode);
	if (g->lockfd < 0)
		return (errno == ENOENT && create) || errno == ESTALE ? 0 : -1;
	if (flock(g->lockfd, LOCK_EX | (nonblock ? LOCK_NB : 0)) < 0)
		return -1;
	/* Still the group's lock, in the group's directory? */
	if (fstat(g->lockfd, &a) < 0 || fstat(g->gfd, &c) < 0)
		return -1;
	if (fstatat(g->gfd, LOCK, &b, AT_SYMLINK_NOFOLLOW) < 0 ||
	    fstatat(sfd, g->key, &d, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT || errno == ESTALE ? 0 : -1;
	return same_file(&a, &b) && same_file(&c, &d);
}

/*
 * Lock group key, making it if create: 0, or -1 (ENOENT: no such group;
 * EWOULDBLOCK: nonblock and busy).  A group removed while we waited for
 * its lock (mqreap removes idle ones) is made again.
 */
static int
lock_group(struct mq_queue *q, const char *key, int create, int nonblock,
    struct mq_group *g, int lazy)
{
	int sfd, r = 0, tries, e;

	memset(g, 0, sizeof(*g));
	g->q = q;
	g->gfd = g->lockfd = g->headfd = -1;
	g->lazy = lazy;
	strlcpy(g->key, key, sizeof(g->key));
	if ((sfd = groups_dir(q, create, lazy ? &g->unsynced : NULL)) < 0)
		return fail(q, NULL, NULL);
	for (tries = 0; tries < 64; tries++) {
		if ((r = lock_once(q, sfd, g, create, nonblock)) != 0)
			break;
		unlock(g);
	}
	e = r == 0 ? EAGAIN : errno;
	close(sfd);
	if (r == 1)
		return 0;
	unlock(g);
	errno = e;
	return fail(q, key, NULL);
}

/*
 * .head/, opened (made if missing) on first use under the lock.  The head
 * is the name of the one empty file in it, not the contents of a file:
 * clients of a network file system see each other's directory entries at
 * once, but may read a file's old data for a second (GlusterFS does, even
 * with O_DIRECT, and gives ESTALE for a name replaced meanwhile).
 */
static int
head_dir(struct mq_group *g)
{
	int made = 0;

	if (g->headfd >= 0)
		return 0;
	if (mkdirat(g->gfd, HEAD, g->q->fmode & 0040 ? 02770 : 0700) == 0)
		made = 1;
	else if (errno != EEXIST)
		return fail(g->q, g->key, HEAD);
	if (made && g->q->fmode & 0040)
		fchmodat(g->gfd, HEAD, 02770, 0);
	g->headfd = openat(g->gfd, HEAD, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (g->headfd < 0)
		return fail(g->q, g->key, HEAD);
	/* Its entry must last as the head it will name. */
	if (made && g->q->cfg.sync && g->lazy)
		g->unsynced = 1;
	else if (made && g->q->cfg.sync && mq_fsync(g->gfd) < 0)
		return fail(g->q, g->key, NULL);
	return 0;
}

/* The head: 1 with its name in buf, 0 none (idle), -1 error. */
static int
read_head(struct mq_group *g, char *buf, size_t len)
{
	struct dirent *d;
	DIR *dp;
	int fd;

	buf[0] = g->cur[0] = '\0';
	if (head_dir(g) < 0)
		return -1;
	if ((fd = dup(g->headfd)) < 0 || (dp = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return fail(g->q, g->key, HEAD);
	}
	rewinddir(dp);
	while ((errno = 0, d = readdir(dp)) != NULL)
		if (d->d_name[0] != '.' || (strcmp(d->d_name, ".") != 0 &&
		    strcmp(d->d_name, "..") != 0))
			break;
	if (d == NULL && errno != 0) {
		int e = errno;
		closedir(dp);
		errno = e;
		return fail(g->q, g->key, HEAD);
	}
	if (d != NULL)
		strlcpy(g->cur, d->d_name, sizeof(g->cur));
	closedir(dp);
	if (d == NULL)
		return 0;
	/* Not a name a message could have: a head not to be trusted. */
	strlcpy(buf, mq_name_safe(g->cur) ? g->cur : "", len);
	return 1;
}

/*
 * The head becomes name ("": none, the group is idle), synced if sync: its
 * marker made, renamed from the last head's, or removed.  Each is one
 * atomic change of .head/, so it never holds two names.
 */
static int
write_head(struct mq_group *g, const char *name, int sync)
{
	int fd, r = 0;

	if (head_dir(g) < 0)
		return -1;
	if (strcmp(g->cur, name) == 0)
		return 0;
	if (name[0] == '\0')
		r = unlinkat(g->headfd, g->cur, 0);
	else if (g->cur[0])
		r = renameat(g->headfd, g->cur, g->headfd, name);
	else if ((fd = openat(g->headfd, name, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, g->q->fmode)) < 0 || close(fd) < 0)
		r = -1;
	if (r < 0 || (sync && !g->lazy && mq_fsync(g->headfd) < 0))
		return fail(g->q, g->key, HEAD);
	g->unsynced |= sync && g->lazy;
	strlcpy(g->cur, name, sizeof(g->cur));
	return 0;
}

/* Is head's id the one given (the name starts with it, then "," or end)? */
static int
is_id(const char *name, const char *id)
{
	size_t n = strlen(id);

	return n > 0 && strncmp(name, id, n) == 0 &&
	    (name[n] == ',' || name[n] == '\0');
}

/* The oldest message waiting in the group, into buf: 1, 0 none, -1. */
static int
oldest(struct mq_group *g, char *buf, size_t len)
{
	struct dirent *d;
	DIR *dp;
	int fd;

	buf[0] = '\0';
	if ((fd = dup(g->gfd)) < 0 || (dp = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return fail(g->q, g->key, NULL);
	}
	rewinddir(dp);
	while ((errno = 0, d = readdir(dp)) != NULL) {
		if (!mq_name_safe(d->d_name) ||
		    (d->d_type != DT_REG && d->d_type != DT_UNKNOWN))
			continue;
		if (buf[0] == '\0' || strcmp(d->d_name, buf) < 0)
			strlcpy(buf, d->d_name, len);
	}
	if (errno != 0) {
		int e = errno;
		closedir(dp);
		errno = e;
		return fail(g->q, g->key, NULL);
	}
	closedir(dp);
	return buf[0] != '\0';
}

/*
 * The head is named and in groups/KEY/ still (a move into new/ that a
 * crash cut short): finish it.  1 moved, 0 nothing to do, -1 error.
 */
static int
finish(struct mq_group *g, const char *head)
{
	struct mq_queue *q = g->q;

	if (head[0] == '\0' || faccessat(g->gfd, head, F_OK,
	    AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	/*
	 * Gone (ENOENT), or in new/ already (EEXIST): another client of a
	 * network file system moved it, and ours still had its old entry.
	 */
	if (mq_rename_fresh(g->gfd, head, q->dfd[MQ_NEW], head) < 0)
		return errno == ENOENT || errno == EEXIST ? 0 :
		    fail(q, g->key, head);
	q->dirty |= 1u << MQ_NEW;
	/* An urgent head is named in the hint (urgent.c). */
	mq_urgent_note(q, &head, NULL, 1);
	return 1;
}

/*
 * Move the locked group on: its oldest waiting message becomes the head,
 * named by .head before it enters new/; none left, the group is idle.
 * Nothing synced (mq_group_flush syncs after every group it moved).
 * 1 moved, 0 idle now, -1 error.
 */
static int
advance(struct mq_group *g)
{
	char next[MQ_NAME_MAX + 1];
	int r;

	if ((r = oldest(g, next, sizeof(next))) < 0)
		return -1;
	if (r == 0) {
		return write_head(g, "", 0);
	}
	if (write_head(g, next, 0) < 0)
		return -1;
	return finish(g, next) < 0 ? -1 : 1;
}

/*
 * A put (or a move, a kick) into group key: lock it; a move into new/ cut
 * short by a crash is finished first.  Then mq_group_enter for each of its
 * messages, in order, and mq_group_end.  A put gives its first message's
 * name (else NULL): the group's directories and, if it is idle, the name
 * of its head are then made without a sync of their own, and if
 * mq_group_unsynced says so the put's sync of the file system (syncfs,
 * before any rename) covers them with its data.
 */
struct mq_group *
mq_group_begin(struct mq_queue *q, const char *key, const char *first)
{
	char head[MQ_NAME_MAX + 1];
	struct mq_group *g;
	int r;

	if ((g = malloc(sizeof(*g))) == NULL)
		return NULL;
	if (lock_group(q, key, 1, 0, g, first != NULL) < 0 ||
	    (r = read_head(g, head, sizeof(head))) < 0 ||
	    (r == 1 && finish(g, head) < 0) ||
	    (r == 0 && first && write_head(g, first, q->cfg.sync) < 0)) {
		mq_group_end(g, 0);
		return NULL;
	}
	g->held = r;
	g->premade = r == 0 && first;
	return g;
}

/* Must the caller sync the file system before it enters messages? */
int
mq_group_unsynced(const struct mq_group *g)
{
	return g->unsynced;
}

/*
 * fromfd/from enters the group as name: the head if the group is idle
 * (.head names it, synced if sync, then the rename into new/), else at the
 * back of groups/KEY/.  Never replaces (EEXIST).  1 into new/, 0 behind,
 * -1 error (nothing moved, nothing named).
 */
int
mq_group_enter(struct mq_group *g, int fromfd, const char *from,
    const char *name, int sync)
{
	struct mq_queue *q = g->q;
	int e;

	/* The put has synced what begin left unsynced: no more of that. */
	g->lazy = 0;
	if (g->held) {
		if (mq_rename_fresh(fromfd, from, g->gfd, name) < 0)
			return fail(q, g->key, name);
		g->behind = 1;
		return 0;
	}
	if (write_head(g, name, sync) < 0)
		return -1;
	if (mq_rename_fresh(fromfd, from, q->dfd[MQ_NEW], name) < 0) {
		e = errno;
		write_head(g, "", 0);
		snprintf(q->errobj, sizeof(q->errobj), "new/%s", name);
		errno = e;
		return -1;
	}
	q->dirty |= 1u << MQ_NEW;
	g->held = 1;
	return 1;
}

/* Sync the messages that went behind (if sync) and let the group go. */
int
mq_group_end(struct mq_group *g, int sync)
{
	int r = 0;

	if (g == NULL)
		return 0;
	/* A put that named its head and failed before it entered new/. */
	if (g->premade && !g->held)
		write_head(g, "", 0);
	if (sync && g->behind && mq_fsync(g->gfd) < 0)
		r = fail(g->q, g->key, NULL);
	unlock(g);
	free(g);
	return r;
}

/*
 * The message n left new/ or cur/ for good (mq_settle: acknowledged,
 * buried, expired, purged, moved).  If it was its group's head, the group
 * moves on at the next mq_sync, once that end is durable.  Out of memory,
 * it stays held until mqreap finds its head gone.
 */
void
mq_group_ended(struct mq_queue *q, const struct mq_name *n)
{
	struct mq_ends *x = q->ends;
	struct mq_end *ne;

	if (n->group[0] == '\0')
		return;
	if (x == NULL && (x = q->ends = calloc(1, sizeof(*x))) == NULL)
		return;
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 16;
		if ((ne = reallocarray(x->e, cap, sizeof(*ne))) == NULL)
			return;
		x->e = ne;
		x->cap = cap;
	}
	strlcpy(x->e[x->n].group, n->group, sizeof(x->e[x->n].group));
	strlcpy(x->e[x->n].id, n->id, sizeof(x->e[x->n].id));
	x->n++;
}

/* One ended head: its group moves on if it still names it.  1 moved. */
static int
move_on(struct mq_queue *q, const struct mq_end *e, int *gfd)
{
	char head[MQ_NAME_MAX + 1];
	struct mq_group g;
	int r;

	if (lock_group(q, e->group, 0, 0, &g, 0) < 0)
		return errno == ENOENT ? 0 : -1;
	r = read_head(&g, head, sizeof(head));
	if (r == 1 && is_id(head, e->id))
		r = advance(&g);
	else if (r == 1)
		r = 0;
	if (r == 1 && *gfd < 0)
		*gfd = dup(g.gfd);
	unlock(&g);
	return r;
}

/*
 * Move on the groups whose heads ended since the last call (mq_sync calls
 * it once their ends are durable), then sync what moved: one group, its
 * directory and new/; more, one syncfs for all.  0, or -1 for the first
 * failure (the others are still tried).
 */
int
mq_group_flush(struct mq_queue *q, int sync)
{
	struct mq_ends *x = q->ends;
	char obj[sizeof(q->errobj)] = "";
	size_t i, moved = 0;
	int gfd = -1, r, err = 0;

	if (x == NULL || x->n == 0)
		return 0;
	for (i = 0; i < x->n; i++) {
		if ((r = move_on(q, &x->e[i], &gfd)) < 0 && err == 0) {
			err = errno;
			strlcpy(obj, q->errobj, sizeof(obj));
		}
		moved += r > 0;
	}
	x->n = 0;
	if (moved > 0 && sync) {
		if (moved == 1 && gfd >= 0)
			r = mq_fsync(gfd) < 0 || mq_fsync(q->dfd[MQ_NEW]) < 0;
		else
			while ((r = syncfs(q->fd)) < 0 && errno == EINTR)
				;
		if (r != 0 && err == 0) {
			err = errno;
			strlcpy(obj, GROUPS, sizeof(obj));
		} else if (r == 0)
			q->dirty &= ~(1u << MQ_NEW);
	}
	if (gfd >= 0)
		close(gfd);
	if (err == 0)
		return 0;
	strlcpy(q->errobj, obj, sizeof(q->errobj));
	errno = err;
	return -1;
}

/* Heads that ended and whose groups have not moved on yet (mq_sync). */
int
mq_group_pending(const struct mq_queue *q)
{
	return q->ends && q->ends->n > 0;
}

/* The queue is closed: what the group list held goes. */
void
mq_group_close(struct mq_queue *q)
{
	if (q->ends) {
		free(q->ends->e);
		free(q->ends);
		q->ends = NULL;
	}
}

/*
 * fromfd/from enters its group (n->group) of q under n's name, alone: a
 * dead letter kicked back, a message moved in from another queue.  Synced
 * by the caller's mq_sync, as the move it replaces.
 */
int
mq_group_rejoin(struct mq_queue *q, int fromfd, const char *from,
    struct mq_name *n)
{
	char name[MQ_NAME_MAX + 1];
	struct mq_group *g;
	int r;

	if (mq_name_format(name, sizeof(name), n) < 0)
		return fail(q, n->group, from);
	if ((g = mq_group_begin(q, n->group, NULL)) == NULL)
		return -1;
	r = mq_group_enter(g, fromfd, from, name, q->cfg.sync);
	if (mq_group_end(g, q->cfg.sync) < 0 && r >= 0)
		r = -1;
	return r < 0 ? -1 : 0;
}

/* Does the message name wait in its group's line (a coalescing key asks)? */
int
mq_group_waits(struct mq_queue *q, const char *name)
{
	char path[MQ_NAME_MAX * 2 + 16];
	struct mq_name n;
	struct stat st;

	if (mq_name_parse(name, &n) < 0 || n.group[0] == '\0')
		return 0;
	snprintf(path, sizeof(path), GROUPS "/%s/%s", n.group, name);
	return fstatat(q->fd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode);
}

/* Is a message of the locked group in dir: the head's id, or any? */
static int
seek(struct mq_group *g, enum mq_dir dir, const char *id, char *found,
    size_t len)
{
	struct mq_scan s;
	struct mq_name n;
	const char *name;
	size_t i;
	int r = 0;

	memset(&s, 0, sizeof(s));
	if (mq_scan(g->q, dir, &s) < 0) {
		mq_scan_free(&s);
		return -1;
	}
	for (i = 0; i < s.n && r == 0; i++) {
		name = mq_scan_name(&s, i);
		if (id[0] ? !is_id(name, id) : strstr(name, ",g") == NULL)
			continue;
		if (mq_name_parse(name, &n) < 0 ||
		    strcmp(n.group, g->key) != 0)
			continue;
		strlcpy(found, name, len);
		r = 1;
	}
	mq_scan_free(&s);
	return r;
}

/*
 * Is the head of the locked group (.head's name, "" if unreadable) in new/
 * or cur/: 1 yes (found: its name there, or another message of the group
 * that is), 0 nowhere, -1 error.  Puts and ends of the group wait for our
 * lock; claims and returns do not, so cur/ is read before and after new/:
 * a head moving meanwhile is seen in one of the three.  First the cheap
 * looks: new/ under its name with each delivery count, cur/ by its id.
 */
static int
present(struct mq_group *g, const char *head, char *found, size_t len)
{
	struct mq_queue *q = g->q;
	struct mq_name n;
	long long d, most;
	char id[MQ_NAME_MAX + 1] = "";
	int r;

	if (head[0] && mq_name_parse(head, &n) == 0) {
		strlcpy(id, n.id, sizeof(id));
		most = q->cfg.max_deliveries > 0 ? q->cfg.max_deliveries : 32;
		for (d = 0; d <= most; d++) {
			n.deliveries = d;
			if (mq_name_format(found, len, &n) == 0 &&
			    faccessat(q->dfd[MQ_NEW], found, F_OK,
			    AT_SYMLINK_NOFOLLOW) == 0)
				return 1;
		}
		if ((r = seek(g, MQ_CUR, id, found, len)) != 0)
			return r;
	}
	/* Gone, or .head is not to be trusted: any message of the group. */
	if ((r = seek(g, MQ_CUR, "", found, len)) != 0 ||
	    (r = seek(g, MQ_NEW, "", found, len)) != 0)
		return r;
	return seek(g, MQ_CUR, "", found, len);
}

/* Do two names (either maybe "") carry one id? */
static int
same_id(const char *a, const char *b)
{
	struct mq_name n;

	return a[0] && b[0] && mq_name_parse(a, &n) == 0 && is_id(b, n.id);
}

/*
 * The locked group has a head named (head, "" if unreadable): finish its
 * move into new/ cut short; alive, or another message of the group in
 * new/ or cur/ (adopted as head); gone: the group moves on.  1 repaired,
 * 0 nothing to do, -1 error.
 */
static int
reap_held(struct mq_group *g, struct mq_reaper *r, const char *head,
    const char *why)
{
	char at[MQ_NAME_MAX + 1];
	int m;

	if (head[0] && faccessat(g->gfd, head, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		r->act(r, "advance", MQ_GROUPS, g->key, MQ_NEW, head,
		    "its move into new/ was cut short");
		return r->dryrun ? 1 : finish(g, head);
	}
	if ((m = present(g, head, at, sizeof(at))) < 0)
		return -1;
	if (m == 1) {
		if (same_id(at, head))
			return 0;
		r->act(r, "adopt", MQ_GROUPS, g->key, MQ_GROUPS, NULL,
		    "another message of it is in new/ or cur/");
		return r->dryrun || write_head(g, at, g->q->cfg.sync) == 0 ?
		    1 : -1;
	}
	if ((m = oldest(g, at, sizeof(at))) < 0)
		return -1;
	r->act(r, "advance", MQ_GROUPS, g->key, MQ_NEW, m ? at : NULL, why);
	return r->dryrun || advance(g) >= 0 ? 1 : -1;
}

/* Idle and empty: removed, as a stale key is.  0, or -1. */
static int
reap_idle(struct mq_group *g, int sfd, struct mq_reaper *r, long long now)
{
	struct stat st;

	/*
	 * Not one in use lately: it would only be made again, and another
	 * client of a network file system may still have its name cached.
	 */
	if (fstat(g->gfd, &st) < 0)
		return -1;
	if (mq_mtime_ms(&st) + GROUP_IDLE_MS > now)
		return 0;
	r->act(r, "remove", MQ_GROUPS, g->key, MQ_GROUPS, NULL, "idle");
	if (r->dryrun)
		return 0;
	/* A put waiting for our lock finds it gone and makes it again. */
	if (unlinkat(g->gfd, HEAD, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return -1;
	if (unlinkat(g->gfd, LOCK, 0) < 0)
		return -1;
	if (unlinkat(sfd, g->key, AT_REMOVEDIR) < 0 && errno != ENOTEMPTY &&
	    errno != EEXIST)
		return -1;
	return 0;
}

/* What mqreap finds of one group, locked; dry run: reports only. */
static void
reap_locked(struct mq_group *g, int sfd, struct mq_reaper *r, long long now)
{
	char head[MQ_NAME_MAX + 1], at[MQ_NAME_MAX + 1];
	int m;

	if ((m = read_head(g, head, sizeof(head))) == 1)
		m = reap_held(g, r, head, "its head is gone");
	else if (m == 0 && (m = oldest(g, at, sizeof(at))) == 1)
		/* Idle, yet messages wait (a maildir writer's): a head. */
		m = reap_held(g, r, "", "idle with messages waiting");
	else if (m == 0)
		m = reap_idle(g, sfd, r, now);
	if (m > 0) {
		r->c.groups++;
		if (!r->dryrun && g->q->cfg.sync && mq_fsync(g->gfd) < 0)
			m = -1;
	}
	if (m < 0) {
		fail(g->q, g->key, NULL);
		r->error(r);
	}
}

/*
 * mqreap's pass over groups/: every group is checked under its lock (one
 * locked by a put or an end at work is passed, for the next pass).
 */
void
mq_group_reap(struct mq_queue *q, struct mq_reaper *r, long long now)
{
	struct mq_group g;
	struct dirent *d;
	DIR *dp;
	int sfd, fd;

	if ((sfd = groups_dir(q, 0, NULL)) < 0) {
		if (errno != ENOENT) {
			fail(q, NULL, NULL);
			r->error(r);
		}
		return;
	}
	if ((fd = dup(sfd)) < 0 || (dp = fdopendir(fd)) == NULL) {
		fail(q, NULL, NULL);
		r->error(r);
		if (fd >= 0)
			close(fd);
		close(sfd);
		return;
	}
	while ((d = readdir(dp)) != NULL) {
		if (!mq_word_valid(d->d_name, MQ_FIELD_MAX))
			continue;
		/* Made (its .lock) if a maildir writer made its directory. */
		if (lock_group(q, d->d_name, 1, 1, &g, 0) < 0) {
			if (errno != ENOENT && errno != EWOULDBLOCK)
				r->error(r);
			continue;
		}
		reap_locked(&g, sfd, r, now);
		unlock(&g);
	}
	closedir(dp);
	close(sfd);
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The safe names in directory fd, sorted: *names (each to free), *n. */
static int
names_in(int fd, char ***names, size_t *n)
{
	struct dirent *d;
	char **v = NULL, **nv;
	size_t cap = 0, k = 0;
	DIR *dp;
	int e;

	*names = NULL;
	*n = 0;
	if ((fd = dup(fd)) < 0 || (dp = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	rewinddir(dp);
	while ((errno = 0, d = readdir(dp)) != NULL) {
		if (!mq_name_safe(d->d_name))
			continue;
		if (k == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL)
				break;
			v = nv;
		}
		if ((v[k] = strdup(d->d_name)) == NULL)
			break;
		k++;
	}
	e = errno;
	closedir(dp);
	if (e != 0) {
		while (k > 0)
			free(v[--k]);
		free(v);
		errno = e;
		return -1;
	}
	qsort(v, k, sizeof(*v), by_name);
	*names = v;
	*n = k;
	return 0;
}

/* How many safe names directory fd holds (none stored, none sorted). */
static int
names_count(int fd, size_t *n)
{
	struct dirent *d;
	DIR *dp;
	int e;

	*n = 0;
	if ((fd = dup(fd)) < 0 || (dp = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	rewinddir(dp);
	while ((errno = 0, d = readdir(dp)) != NULL)
		*n += mq_name_safe(d->d_name);
	e = errno;
	closedir(dp);
	errno = e;
	return e ? -1 : 0;
}

static void
names_free(char **names, size_t n)
{
	while (n > 0)
		free(names[--n]);
	free(names);
}

/* One waiting message of a locked group: purged, or moved into tg. */
static void
admin_one(struct mq_group *g, struct mq_group *tg, struct mq_admin *a,
    const char *name, long long now)
{
	char shown[MQ_NAME_MAX * 2 + 2], to[MQ_NAME_MAX + 1] = "";
	struct mq_queue *q = g->q;
	struct mq_verdict v;
	struct mq_name n, tn;
	struct stat st;
	int r = 0;

	if (fstatat(g->gfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(st.st_mode) || mq_name_parse(name, &n) < 0 ||
	    !(a->states & MQ_STATE_BIT(mq_waiting_state(&st, now))))
		return;
	mq_fate(&q->cfg, &n, tg ? MQ_EV_MOVED : MQ_EV_PURGED, now, &v);
	mq_fate_name(&n, &v, now, &tn);
	if (tg && mq_name_format(to, sizeof(to), &tn) < 0)
		return;
	if (a->dryrun)
		;
	else if (tg)
		r = mq_group_enter(tg, g->gfd, name, to, tg->q->cfg.sync);
	else if ((r = unlinkat(g->gfd, name, 0)) < 0)
		fail(q, g->key, name);
	if (r < 0) {
		if (errno != ENOENT)
			a->error(a, r < 0 && tg ? tg->q : q);
		return;
	}
	g->behind = 1;
	snprintf(shown, sizeof(shown), "%s/%s", g->key, name);
	a->act(a, q, v.verb, MQ_GROUPS, shown, tg ? to : NULL);
	a->n++;
}

/*
 * Lock the group key of q, and for a move the same group of the target
 * queue, in one order (the queues' inodes) so that two moves the other
 * way round never wait for each other.
 */
static int
lock_both(struct mq_queue *q, struct mq_admin *a, const char *key,
    struct mq_group *g, struct mq_group **tg)
{
	struct stat s1, s2;
	int first;

	*tg = NULL;
	if (a->to == NULL || a->dryrun)
		return lock_group(q, key, 0, 0, g, 0);
	if (fstat(q->fd, &s1) < 0 || fstat(a->to->fd, &s2) < 0)
		return -1;
	first = s1.st_ino < s2.st_ino;
	if (first && lock_group(q, key, 0, 0, g, 0) < 0)
		return -1;
	if ((*tg = mq_group_begin(a->to, key, NULL)) == NULL) {
		if (first)
			unlock(g);
		return -1;
	}
	if (!first && lock_group(q, key, 0, 0, g, 0) < 0) {
		mq_group_end(*tg, 0);
		return -1;
	}
	return 0;
}

/*
 * mqpurge's and mqmove's pass over the messages waiting in groups/ (their
 * state is that they would have in new/).  Moved, each joins its group in
 * the target queue as a put does.  A group's head meets its fate in new/
 * or cur/ like any message (mq_settle), and the group moves on.
 */
void
mq_group_admin(struct mq_queue *q, struct mq_admin *a, long long now)
{
	struct mq_group g, *tg;
	char **keys, **names;
	size_t i, j, nk, n;
	int sfd;

	if (a->reason != NULL || (sfd = groups_dir(q, 0, NULL)) < 0)
		return;
	if (names_in(sfd, &keys, &nk) < 0) {
		fail(q, NULL, NULL);
		a->error(a, q);
		nk = 0;
	}
	close(sfd);
	for (i = 0; i < nk; i++) {
		if (!mq_word_valid(keys[i], MQ_FIELD_MAX) ||
		    lock_both(q, a, keys[i], &g, &tg) < 0)
			continue;
		if (names_in(g.gfd, &names, &n) < 0) {
			fail(q, g.key, NULL);
			a->error(a, q);
			n = 0;
		}
		for (j = 0; j < n; j++)
			admin_one(&g, tg, a, names[j], now);
		names_free(names, n);
		if (mq_group_end(tg, a->to ? a->to->cfg.sync : 0) < 0)
			a->error(a, a->to);
		if (g.behind && q->cfg.sync && !a->dryrun &&
		    mq_fsync(g.gfd) < 0) {
			fail(q, g.key, NULL);
			a->error(a, q);
		}
		unlock(&g);
	}
	names_free(keys, nk);
}

/*
 * For mqstat: groups held (a name in .head/) and the messages waiting behind
 * them, counted without a lock (figures, not a snapshot).
 */
int
mq_group_stat(struct mq_queue *q, unsigned long long *held,
    unsigned long long *behind)
{
	char **keys;
	size_t i, nk, n;
	int sfd, gfd, hfd, r = 0;

	*held = *behind = 0;
	if ((sfd = groups_dir(q, 0, NULL)) < 0)
		return errno == ENOENT ? 0 : fail(q, NULL, NULL);
	if (names_in(sfd, &keys, &nk) < 0) {
		close(sfd);
		return fail(q, NULL, NULL);
	}
	for (i = 0; i < nk && r == 0; i++) {
		gfd = openat(sfd, keys[i], O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
		if (gfd < 0)
			continue;
		if ((hfd = openat(gfd, HEAD, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC)) >= 0) {
			if (names_count(hfd, &n) == 0)
				*held += n > 0;
			close(hfd);
		}
		if (names_count(gfd, &n) < 0)
			r = fail(q, keys[i], NULL);
		*behind += n;
		close(gfd);
	}
	names_free(keys, nk);
	close(sfd);
	return r;
}

/* One group's waiting messages, in order, to fn (mq_peek's). */
static int
peek_group(struct mq_queue *q, int sfd, const char *key, long long now,
    int (*fn)(void *, const struct mq_peek *), void *ctx)
{
	char shown[MQ_NAME_MAX * 2 + 2], **names;
	struct mq_peek p;
	struct stat st;
	size_t j, n;
	int gfd, r = 0;

	if ((gfd = openat(sfd, key, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return 0;
	if (names_in(gfd, &names, &n) < 0) {
		close(gfd);
		return fail(q, key, NULL);
	}
	for (j = 0; j < n && r == 0; j++) {
		if (fstatat(gfd, names[j], &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		memset(&p, 0, sizeof(p));
		snprintf(shown, sizeof(shown), "%s/%s", key, names[j]);
		p.dir = MQ_GROUPS;
		p.name = shown;
		if (mq_name_parse(names[j], &p.n) < 0)
			strlcpy(p.n.id, names[j], sizeof(p.n.id));
		p.state = mq_waiting_state(&st, now);
		p.put = mq_name_time(names[j]) * 1000;
		p.at = mq_mtime_ms(&st);
		p.size = st.st_size;
		r = fn(ctx, &p);
	}
	names_free(names, n);
	close(gfd);
	return r;
}

/*
 * For mqstat -l: the messages waiting in groups/, group by group, each in
 * put order, as "KEY/NAME" in MQ_GROUPS with the state they would have in
 * new/.  A non-zero return of fn stops the walk and is returned.
 */
int
mq_group_peek(struct mq_queue *q, long long now,
    int (*fn)(void *, const struct mq_peek *), void *ctx)
{
	char **keys;
	size_t i, nk;
	int sfd, r = 0;

	if ((sfd = groups_dir(q, 0, NULL)) < 0)
		return errno == ENOENT ? 0 : fail(q, NULL, NULL);
	if (names_in(sfd, &keys, &nk) < 0) {
		close(sfd);
		return fail(q, NULL, NULL);
	}
	for (i = 0; i < nk && r == 0; i++)
		if (mq_word_valid(keys[i], MQ_FIELD_MAX))
			r = peek_group(q, sfd, keys[i], now, fn, ctx);
	names_free(keys, nk);
	close(sfd);
	return r;
}
