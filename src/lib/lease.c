/*
 * lease.c: what a consumer does with its claim, and the moves that take a
 * message out of circulation.
 *
 * A handle is the claim's name in cur/.  It works only while that name
 * exists and its deadline (mtime) has not passed: a claim that expired,
 * was claimed again, released or acknowledged is stale (ESTALE), and
 * nothing is changed.  The check and the move cannot be one syscall, but
 * the move is a rename or unlink of the handle's own name, which fails if
 * another claimer renamed it in between: two parties never both succeed.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "mq-internal.h"

/*
 * A failed move or change of dir/name: in cur/, a name that is gone
 * (ENOENT) is a claim that moved on under us (ESTALE).
 */
static int
lost(struct mq_queue *q, enum mq_dir dir, const char *name)
{
	return mq_entry_error(q, dir, name, errno == ENOENT &&
	    dir == MQ_CUR ? ESTALE : errno);
}

/* Is name a live claim in cur/?  Fills n. */
int
mq_check(struct mq_queue *q, const char *name, struct mq_name *n)
{
	struct stat st;

	if (mq_name_parse(name, n) < 0 || n->token[0] == '\0')
		return mq_entry_error(q, MQ_CUR, name, EINVAL);
	if (fstatat(q->dfd[MQ_CUR], name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return lost(q, MQ_CUR, name);
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1)
		return mq_entry_error(q, MQ_CUR, name, EINVAL);
	if (mq_mtime_ms(&st) <= mq_now_ms())
		return mq_entry_error(q, MQ_CUR, name, ESTALE);
	return 0;
}

/*
 * Rename from dir/name to todir under n's name, never replacing (n may get
 * a fresh token where the file system cannot refuse: mq_rename_named); if
 * that name is taken (the same message twice: only after a crash or a
 * foreign writer), keep the token in the name to make it unique.
 */
static int
move(struct mq_queue *q, enum mq_dir dir, const char *name,
    enum mq_dir todir, struct mq_name *n, const char *token)
{
	char to[MQ_NAME_MAX + 1];

	if (mq_rename_named(q->dfd[dir], name, q->dfd[todir], n, to,
	    sizeof(to)) < 0) {
		if (errno != EEXIST || !token[0])
			return lost(q, dir, name);
		strlcpy(n->token, token, sizeof(n->token));
		if (mq_rename_named(q->dfd[dir], name, q->dfd[todir], n, to,
		    sizeof(to)) < 0)
			return lost(q, dir, name);
	}
	q->dirty |= 1u << dir | 1u << todir;
	return 0;
}

/*
 * Carry out a verdict of mq_fate on dir/name; newname (if not NULL) gets
 * the name in the target directory.  A verdict on a live claim (one its
 * caller holds) first checks that the claim is still live: ESTALE if not.
 *
 * Back to new/: there the mtime means "visible from", so it is set before
 * the rename (set after, a consumer could take a delayed message at once).
 * A message not held (an expired claim, a dead letter) whose mtime is in
 * the future is given its ctime (when it was claimed or buried: surely
 * past, even for a reaper whose clock runs ahead), so that it is visible at
 * once; in a group queue the file may not be ours to touch (EPERM): then it
 * is visible at its old deadline.
 */
int
mq_settle(struct mq_queue *q, enum mq_dir dir, const char *name,
    const struct mq_verdict *v, char *newname, size_t len)
{
	struct mq_name n, to;
	struct mq_prerec pre;
	struct stat st;
	long long now = mq_now_ms();
	enum mq_dir todir = mq_fate_dir(v);
	int r;

	if (v->live ? mq_check(q, name, &n) < 0 : mq_name_parse(name, &n) < 0)
		return v->live ? -1 : mq_entry_error(q, dir, name, EINVAL);
	mq_fate_name(&n, v, now, &to);
	if (newname && mq_name_format(newname, len, &to) < 0)
		return mq_entry_error(q, dir, name, errno);
	switch (v->fate) {
	case MQ_FATE_CLAIM:
		return mq_entry_error(q, dir, name, EINVAL);
	case MQ_FATE_DONE:
		if (q->cfg.keep_done)
			break;
		/* FALLTHROUGH */
	case MQ_FATE_DELETE:
		/* No trace left: a waiter's record first (end.c). */
		if (mq_end_before(q, dir, &n, v, &pre) < 0)
			return -1;
		if (unlinkat(q->dfd[dir], name, 0) < 0) {
			mq_end_unmade(&pre);
			return lost(q, dir, name);
		}
		v = mq_end_made(&pre, v);
		q->dirty |= 1u << dir;
		goto ended;
	case MQ_FATE_BURY:
		break;
	case MQ_FATE_RETURN:
		if (v->live)
			r = mq_settime(q->dfd[dir], name, now + v->delay_ms);
		else if ((r = fstatat(q->dfd[dir], name, &st,
		    AT_SYMLINK_NOFOLLOW)) == 0 && mq_mtime_ms(&st) > now &&
		    (r = mq_settime(q->dfd[dir], name, mq_ctime_ms(&st))) < 0 &&
		    errno == EPERM)
			r = 0;
		if (r < 0)
			return lost(q, dir, name);
		break;
	}
	if (v->reset && to.group[0])
		/* A kicked message rejoins its group, never jumps it. */
		r = mq_group_rejoin(q, q->dfd[dir], name, &to);
	else
		r = move(q, dir, name, todir, &to, n.token[0] ? n.token : "0");
	if (r < 0)
		return r;
	/* Back in new/, an urgent message is named in the hint (urgent.c). */
	if (todir == MQ_NEW)
		mq_urgent_named(q, &to, v->live && v->delay_ms > 0 ?
		    now + v->delay_ms : 0);
	/* The name moved to: as formatted above, but for a fresh token of
	 * the same length (mq_rename_named), so it fits. */
	if (newname)
		(void)mq_name_format(newname, len, &to);
ended:
	/* Its claim ended for good: its group moves on (group.c). */
	if (v->fate != MQ_FATE_RETURN)
		mq_group_ended(q, &n);
	/* Its end, for those who wait for it (end.c). */
	mq_end_settled(q, dir, &n, v);
	return 0;
}

/*
 * A consumer's word on its claim, ev: done (acknowledged), rejected (to the
 * dead letters with the consumer's reason, if not NULL), released (back
 * after delay_ms), failed or interrupted (a handler's end), undelivered or
 * unstarted (nobody got it).  The fate table decides what follows; only a
 * live claim can be finished (ESTALE otherwise).
 */
int
mq_finish(struct mq_queue *q, const char *name, enum mq_event ev,
    const char *reason, long long delay_ms)
{
	struct mq_verdict v;
	struct mq_name n;

	if (mq_name_parse(name, &n) < 0)
		return mq_entry_error(q, MQ_CUR, name, EINVAL);
	mq_fate(&q->cfg, &n, ev, mq_now_ms(), &v);
	if (ev == MQ_EV_REJECTED && reason != NULL)
		v.reason = reason;
	if (ev == MQ_EV_RELEASED)
		v.delay_ms = delay_ms;
	return mq_settle(q, MQ_CUR, name, &v, NULL, 0);
}

/*
 * Acknowledge the live claim name with a result: the record with its
 * result first, durable (end.c), then the claim's move.  If the move fails
 * (the claim went stale meanwhile), the record is taken back.
 */
int
mq_finish_result(struct mq_queue *q, const char *name, const char *res,
    size_t len)
{
	struct mq_verdict v;
	struct mq_name n;
	struct stat mine;
	int efd, r, e;

	mq_fate(&q->cfg, NULL, MQ_EV_DONE, 0, &v);
	if (mq_check(q, name, &n) < 0)
		return -1;
	if (mq_fits(q, (long long)len) < 0)
		return mq_entry_error(q, MQ_CUR, name, EFBIG);
	if ((efd = mq_end_record(q, &n, &v, res, len, &mine)) < 0)
		return -1;
	v.recorded = 1;
	if ((r = mq_settle(q, MQ_CUR, name, &v, NULL, 0)) < 0) {
		e = errno;
		mq_end_unrecord(efd, n.id, &mine);
		errno = e;
	}
	close(efd);
	return r;
}

/* A heartbeat: the claim's deadline becomes now + timeout. */
int
mq_extend(struct mq_queue *q, const char *name, long long timeout_ms)
{
	struct mq_name n;

	if (mq_check(q, name, &n) < 0)
		return -1;
	if (mq_settime(q->dfd[MQ_CUR], name, mq_now_ms() + timeout_ms) < 0)
		return lost(q, MQ_CUR, name);
	q->dirty |= 1u << MQ_CUR;
	return 0;
}

/*
 * A message with a second hard link (planted, or left by a foreign tool)
 * can never be claimed: any move of it could be a no-op.  Once its ctime
 * (a link(2) sets it) is MQ_RENAME_GRACE_MS old, so that a maildir writer's
 * link into new/ before its unlink from tmp/ is not mistaken for one, it
 * goes to the dead letters ("links") where ls shows it; a person removes
 * the other link and kicks it back.  Until then, and if that fails, it is
 * reported and skipped.
 */
static void
linked(struct mq_queue *q, enum mq_dir dir, const char *name,
    const struct mq_look *l, long long now)
{
	struct mq_verdict v;
	struct mq_name n;

	if (mq_ctime_ms(&l->st) + MQ_RENAME_GRACE_MS <= now &&
	    mq_name_parse(name, &n) == 0) {
		mq_fate(&q->cfg, &n, MQ_EV_LINKED, now, &v);
		if (mq_settle(q, dir, name, &v, NULL, 0) == 0) {
			if (q->skipped)
				q->skipped(q, dir, name,
				    "has more than one link: to dead/");
			return;
		}
	}
	if (q->skipped)
		q->skipped(q, dir, name, l->why);
}

/*
 * dir/name's name parsed into n; an unsafe one is reported, skipped (-1).
 * For the readers that need no stat (names alone tell them enough).
 */
int
mq_named(struct mq_queue *q, enum mq_dir dir, const char *name,
    struct mq_name *n)
{
	if (mq_name_parse(name, n) == 0)
		return 0;
	if (q->skipped)
		q->skipped(q, dir, name, "unsafe name");
	return -1;
}

/*
 * An entry the gate (gate.c) found odd: reported; one with a second link
 * buried as above, by a reader that may move messages (move).
 */
void
mq_odd(struct mq_queue *q, enum mq_dir dir, const char *name,
    const struct mq_look *l, long long now, int move)
{
	if (l->linked && move)
		linked(q, dir, name, l, now);
	else if (q->skipped)
		q->skipped(q, dir, name, l->why);
}
