/*
 * reap.c: one housekeeping pass over a queue (mqreap's work).
 *
 * Claims in cur/ that expired (deadline passed, or owner known dead on this
 * host) meet their fate (fate.c): back to new/ with their delivery count,
 * to dead/ once deliveries are used up, expired past their TTL.  Messages
 * in new/ past their TTL expire; the TTL is in the name, so a million
 * waiting messages cost no stat at all.  done/ loses what is older than the
 * retention, counted from the acknowledgement (the ctime the rename into
 * done/ set: the mtime there is the claim's old deadline); tmp/ loses files
 * untouched (mtime) for 36 hours, never sooner.  keys/ loses the stale
 * keys (key.c): those whose message is gone, and leftovers of puts killed
 * while making one.  groups/ is repaired (group.c): a group whose head is
 * gone moves on, an idle one with messages waiting gets its head.
 *
 * Nothing here prints: every action goes to r->act, every failed entry to
 * r->error (errno and q->errobj say what), and a pass goes on after both.
 * A lost race (the message moved on under us) is no failure.  In a dry run
 * (r->dryrun) the same verdicts and names are reported and nothing moves.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "mq-internal.h"

#define LOCKFILE ".reap.lock"

static void
failed(struct mq_queue *q, struct mq_reaper *r, enum mq_dir dir,
    const char *name)
{
	int e = errno;

	if (e == ENOENT || e == ESTALE)
		return;
	if (name)
		snprintf(q->errobj, sizeof(q->errobj), "%s/%s",
		    mq_dirnames[dir], name);
	errno = e;
	r->error(r);
}

/* Carry out (or, dry run, report) one verdict; count it. */
static void
judge(struct mq_queue *q, struct mq_reaper *r, enum mq_dir dir,
    const char *name, const struct mq_name *n, const struct mq_verdict *v,
    const char *why)
{
	char to[MQ_NAME_MAX + 1];
	struct mq_name tn;

	if (r->dryrun) {
		mq_fate_name(n, v, mq_now_ms(), &tn);
		if (mq_name_format(to, sizeof(to), &tn) < 0)
			strlcpy(to, n->id, sizeof(to));
	} else if (mq_settle(q, dir, name, v, to, sizeof(to)) < 0) {
		failed(q, r, dir, NULL);
		return;
	}
	r->act(r, v->verb, dir, name, mq_fate_dir(v),
	    v->fate == MQ_FATE_DELETE ? NULL : to, why ? why : v->why);
	if (v->reset)
		r->c.kicked++;
	else if (v->fate == MQ_FATE_RETURN)
		r->c.back++;
	else if (v->fate == MQ_FATE_BURY && strcmp(v->reason, "expired") != 0)
		r->c.dead++;
	else
		r->c.expired++;
}

/*
 * An entry that can be reaped: a regular file of one link whose name is
 * ours.  Anything else is reported as skipped and left alone.
 */
static int
entry(struct mq_queue *q, struct mq_reaper *r, enum mq_dir dir,
    const char *name, struct stat *st)
{
	if (fstatat(q->dfd[dir], name, st, AT_SYMLINK_NOFOLLOW) < 0) {
		failed(q, r, dir, name);
		return 0;
	}
	if (!S_ISREG(st->st_mode)) {
		if (q->skipped)
			q->skipped(q, dir, name, "not a regular file");
		return 0;
	}
	return 1;
}

/* A claim of cur/: the gate says whether it is due (expired). */
static void
reap_cur(struct mq_queue *q, struct mq_reaper *r, const char *name,
    long long now)
{
	struct mq_verdict v;
	struct mq_look l;
	pid_t pid;

	/* A dry run writes nothing, not even the clock's probe. */
	switch (mq_gate(q, MQ_CUR, name, now, r->dryrun ? 0 : MQ_GATE_CLOCK,
	    &l)) {
	case MQ_LOOK_GONE:
	case MQ_LOOK_DISTRUSTED:
		return;
	case MQ_LOOK_FAILED:
		r->error(r);
		return;
	case MQ_LOOK_ODD:
		mq_odd(q, MQ_CUR, name, &l, now, !r->dryrun);
		return;
	case MQ_LOOK_WAITING:
		mq_soonest(&r->due, l.at);
		if (r->owner && (pid = mq_owner_pid(l.n.owner)) > 0)
			r->owner(r, pid);
		return;
	case MQ_LOOK_DUE:
		break;
	}
	mq_fate(&q->cfg, &l.n, MQ_EV_EXPIRED, now, &v);
	judge(q, r, MQ_CUR, name, &l.n, &v, v.fate != MQ_FATE_RETURN ? NULL :
	    l.why);
}

/* The TTL is in the name: no stat at all for a million waiting messages. */
static void
reap_new(struct mq_queue *q, struct mq_reaper *r, const char *name,
    long long now)
{
	struct mq_verdict v;
	struct mq_name n;

	if (mq_named(q, MQ_NEW, name, &n) < 0)
		return;
	if (n.expires <= 0)
		return;
	if (n.expires > now / 1000) {
		/* A planted t field of 18 digits: never, not an overflow. */
		if (n.expires < LLONG_MAX / 1000)
			mq_soonest(&r->due, n.expires * 1000);
		return;
	}
	mq_fate(&q->cfg, &n, MQ_EV_EXPIRED, now, &v);
	judge(q, r, MQ_NEW, name, &n, &v, NULL);
}

/*
 * done/ by retention from the ctime, tmp/ by 36 hours from the mtime: in
 * both, a regular file whose time plus age has passed is removed.
 */
static void
reap_old(struct mq_queue *q, struct mq_reaper *r, enum mq_dir dir,
    const char *name, long long now)
{
	long long t, age;
	struct stat st;

	if (!entry(q, r, dir, name, &st))
		return;
	age = dir == MQ_DONE ? q->cfg.retention_ms : MQ_TMP_MAX_AGE_MS;
	t = dir == MQ_DONE ? mq_ctime_ms(&st) : mq_mtime_ms(&st);
	if (t + age > now) {
		mq_soonest(&r->due, t + age);
		return;
	}
	if (!r->dryrun && unlinkat(q->dfd[dir], name, 0) < 0) {
		failed(q, r, dir, name);
		return;
	}
	q->dirty |= r->dryrun ? 0 : 1u << dir;
	r->act(r, dir == MQ_DONE ? "purge" : "remove", dir, name, dir, NULL,
	    dir == MQ_DONE ? "retention" : "tmp 36h");
	if (dir == MQ_DONE)
		r->c.purged++;
	else
		r->c.tmp++;
}

static void
pass(struct mq_queue *q, struct mq_reaper *r, enum mq_dir dir,
    long long now)
{
	struct mq_scan s;
	const char *name;
	size_t i;

	memset(&s, 0, sizeof(s));
	if (mq_scan(q, dir, &s) < 0) {
		r->error(r);
		mq_scan_free(&s);
		return;
	}
	for (i = 0; i < s.n; i++) {
		name = mq_scan_name(&s, i);
		if (dir == MQ_CUR)
			reap_cur(q, r, name, now);
		else if (dir == MQ_NEW)
			reap_new(q, r, name, now);
		else
			reap_old(q, r, dir, name, now);
	}
	mq_scan_free(&s);
}

/*
 * One entry of keys/: a key whose message is gone is removed (under its
 * lock, so a put taking it over meanwhile is not undone; a key locked by a
 * put at work is passed); a hidden file nobody holds locked for
 * MQ_RENAME_GRACE_MS is what a put killed before linking its key left.
 */
static void
reap_key(struct mq_queue *q, struct mq_reaper *r, int kfd, const char *name,
    long long now)
{
	char where[MQ_NAME_MAX + 8];
	struct stat st;
	int fd, stale;

	if (name[0] == '.') {
		if (fstatat(kfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode) || mq_ctime_ms(&st) + MQ_RENAME_GRACE_MS > now)
			return;
		if ((fd = openat(kfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
		    O_CLOEXEC)) < 0)
			return;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			if (r->dryrun || unlinkat(kfd, name, 0) == 0)
				r->act(r, "remove", MQ_KEYS, name, MQ_KEYS,
				    NULL, "left by a put killed");
			else if (errno != ENOENT) {
				snprintf(q->errobj, sizeof(q->errobj),
				    "keys/%s", name);
				r->error(r);
			}
		}
		close(fd);
		return;
	}
	if ((fd = mq_key_lock(kfd, name, 1)) < 0) {
		if (errno != ENOENT && errno != EWOULDBLOCK) {
			snprintf(q->errobj, sizeof(q->errobj), "keys/%s", name);
			r->error(r);
		}
		return;
	}
	stale = mq_key_read(fd, where, sizeof(where)) == 0 &&
	    !mq_key_live(q, where, now);
	if (stale && (r->dryrun || unlinkat(kfd, name, 0) == 0)) {
		r->act(r, "unkey", MQ_KEYS, name, MQ_KEYS, NULL,
		    "stale: its message is gone");
		r->c.keys++;
	}
	close(fd);
}

static void
pass_keys(struct mq_queue *q, struct mq_reaper *r, long long now)
{
	struct dirent *d;
	DIR *dp;
	int kfd;

	if ((kfd = mq_key_dir(q, 0)) < 0) {
		if (errno != ENOENT) {
			strlcpy(q->errobj, "keys", sizeof(q->errobj));
			r->error(r);
		}
		return;
	}
	if ((dp = mq_fd_opendir(kfd)) == NULL) {
		mq_obj_error(q, "keys", NULL, NULL);
		r->error(r);
		close(kfd);
		return;
	}
	while ((d = readdir(dp)) != NULL)
		if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0)
			reap_key(q, r, kfd, d->d_name, now);
	closedir(dp);
	close(kfd);
}

/* One pass; then r->due is when the next thing falls due (0: nothing). */
void
mq_reap(struct mq_queue *q, struct mq_reaper *r, long long now)
{
	memset(&r->c, 0, sizeof(r->c));
	r->due = 0;
	pass(q, r, MQ_CUR, now);
	pass(q, r, MQ_NEW, now);
	if (q->cfg.retention_ms > 0)
		pass(q, r, MQ_DONE, now);
	pass(q, r, MQ_TMP, now);
	pass_keys(q, r, now);
	mq_end_reap(q, r, now);
	if (!r->dryrun && mq_sync(q) < 0)
		r->error(r);
	/* Synced: the heads this pass ended have moved their groups on. */
	mq_group_reap(q, r, now);
	if (!r->dryrun && mq_sync(q) < 0)
		r->error(r);
}

/* One dead letter back to new/ (mqreap -k), or in a dry run its name. */
void
mq_reap_kick(struct mq_queue *q, struct mq_reaper *r, const char *name)
{
	struct mq_verdict v;
	struct mq_name n;

	if (mq_named(q, MQ_DEAD, name, &n) < 0)
		return;
	mq_fate(&q->cfg, &n, MQ_EV_KICKED, mq_now_ms(), &v);
	if (r->dryrun) {
		judge(q, r, MQ_DEAD, name, &n, &v, NULL);
		return;
	}
	/* A kick names its letter: a missing one is an error, not a race. */
	if (faccessat(q->dfd[MQ_DEAD], name, F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
		snprintf(q->errobj, sizeof(q->errobj), "dead/%s", name);
		r->error(r);
		return;
	}
	judge(q, r, MQ_DEAD, name, &n, &v, NULL);
}

/*
 * Take the queue's reap lock (QUEUE/.reap.lock, flock): 1 held, 0 held by
 * another (skip), -1 error.  *fd is kept open across passes.  With wait,
 * blocks until the lock is free (a signal ends the wait: EINTR).
 */
int
mq_reap_lock(struct mq_queue *q, int *fd, int wait)
{
	struct stat qst, lst;

	if (*fd < 0) {
		*fd = openat(q->fd, LOCKFILE, O_RDONLY | O_CREAT | O_NOFOLLOW |
		    O_NONBLOCK | O_CLOEXEC, q->fmode);
		if (*fd < 0 || fstat(q->fd, &qst) < 0 ||
		    fstat(*fd, &lst) < 0) {
			strlcpy(q->errobj, LOCKFILE, sizeof(q->errobj));
			return -1;
		}
		/*
		 * Made by root (cron) in a user's queue: the user's own
		 * mqreap must still be able to open it.
		 */
		if (lst.st_uid != qst.st_uid && geteuid() == 0)
			(void)fchown(*fd, qst.st_uid, qst.st_gid);
	}
	if (flock(*fd, LOCK_EX | (wait ? 0 : LOCK_NB)) == 0)
		return 1;
	if (errno == EWOULDBLOCK)
		return 0;
	strlcpy(q->errobj, LOCKFILE, sizeof(q->errobj));
	return -1;
}

void
mq_reap_unlock(int fd)
{
	if (fd >= 0)
		flock(fd, LOCK_UN);
}
