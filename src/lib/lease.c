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

#include "mq.h"

static int
fail(struct mq_queue *q, enum mq_dir dir, const char *name, int err)
{
	snprintf(q->errobj, sizeof(q->errobj), "%s/%s", mq_dirnames[dir],
	    name);
	errno = err;
	return -1;
}

/* Is name a live claim in cur/?  Fills n. */
int
mq_check(struct mq_queue *q, const char *name, struct mq_name *n)
{
	struct stat st;

	if (mq_name_parse(name, n) < 0 || n->token[0] == '\0')
		return fail(q, MQ_CUR, name, EINVAL);
	if (fstatat(q->dfd[MQ_CUR], name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(q, MQ_CUR, name, errno == ENOENT ? ESTALE : errno);
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1)
		return fail(q, MQ_CUR, name, EINVAL);
	if (mq_mtime_ms(&st) <= mq_now_ms())
		return fail(q, MQ_CUR, name, ESTALE);
	return 0;
}

/*
 * Rename from dir/name to todir under n's name; if that name is taken (the
 * same message twice: only after a crash or a foreign writer), keep the
 * token in the name to make it unique.
 */
static int
move(struct mq_queue *q, enum mq_dir dir, const char *name,
    enum mq_dir todir, struct mq_name *n, const char *token)
{
	char to[MQ_NAME_MAX + 1];

	if (mq_name_format(to, sizeof(to), n) < 0)
		return fail(q, todir, name, errno);
	if (mq_rename(q->dfd[dir], name, q->dfd[todir], to) < 0) {
		if (errno != EEXIST || !token[0])
			return fail(q, dir, name,
			    errno == ENOENT && dir == MQ_CUR ? ESTALE : errno);
		strlcpy(n->token, token, sizeof(n->token));
		if (mq_name_format(to, sizeof(to), n) < 0 ||
		    mq_rename(q->dfd[dir], name, q->dfd[todir], to) < 0)
			return fail(q, dir, name,
			    errno == ENOENT && dir == MQ_CUR ? ESTALE : errno);
	}
	q->dirty |= 1u << dir | 1u << todir;
	return 0;
}

int
mq_ack(struct mq_queue *q, const char *name)
{
	struct mq_name n;
	char token[sizeof(n.token)];

	if (mq_check(q, name, &n) < 0)
		return -1;
	if (!q->cfg.keep_done) {
		if (unlinkat(q->dfd[MQ_CUR], name, 0) < 0)
			return fail(q, MQ_CUR, name,
			    errno == ENOENT ? ESTALE : errno);
		q->dirty |= 1u << MQ_CUR;
		return 0;
	}
	strlcpy(token, n.token, sizeof(token));
	n.token[0] = n.owner[0] = '\0';
	return move(q, MQ_CUR, name, MQ_DONE, &n, token);
}

/*
 * Back to new/, visible after delay.  The mtime is set before the rename,
 * because in new/ it means "visible from": set after, a consumer could take
 * a delayed message at once.
 */
static int
release(struct mq_queue *q, const char *name, long long delay_ms, int undo)
{
	struct mq_name n;
	char token[sizeof(n.token)];

	if (mq_check(q, name, &n) < 0)
		return -1;
	if (undo && n.deliveries > 0)
		n.deliveries--;
	if (mq_settime(q->dfd[MQ_CUR], name, mq_now_ms() + delay_ms) < 0)
		return fail(q, MQ_CUR, name, errno == ENOENT ? ESTALE : errno);
	strlcpy(token, n.token, sizeof(token));
	n.token[0] = n.owner[0] = '\0';
	return move(q, MQ_CUR, name, MQ_NEW, &n, token);
}

int
mq_release(struct mq_queue *q, const char *name, long long delay_ms)
{
	return release(q, name, delay_ms, 0);
}

/* A claim that never reached a consumer: back, and not counted. */
int
mq_giveback(struct mq_queue *q, const char *name)
{
	return release(q, name, 0, 1);
}

/* A heartbeat: the claim's deadline becomes now + timeout. */
int
mq_extend(struct mq_queue *q, const char *name, long long timeout_ms)
{
	struct mq_name n;

	if (mq_check(q, name, &n) < 0)
		return -1;
	if (mq_settime(q->dfd[MQ_CUR], name, mq_now_ms() + timeout_ms) < 0)
		return fail(q, MQ_CUR, name, errno == ENOENT ? ESTALE : errno);
	q->dirty |= 1u << MQ_CUR;
	return 0;
}

/* To the dead letters, the reason in the name where ls shows it. */
int
mq_bury(struct mq_queue *q, enum mq_dir dir, const char *name,
    const char *reason)
{
	struct mq_name n;
	char token[sizeof(n.token)];

	if (mq_name_parse(name, &n) < 0)
		return fail(q, dir, name, EINVAL);
	strlcpy(token, n.token[0] ? n.token : "0", sizeof(token));
	n.token[0] = n.owner[0] = '\0';
	mq_sanitize_word(n.reason, sizeof(n.reason), reason);
	return move(q, dir, name, MQ_DEAD, &n, token);
}

/* Past its TTL: deleted, or a dead letter if the queue says so. */
int
mq_expire(struct mq_queue *q, enum mq_dir dir, const char *name,
    const struct mq_name *n)
{
	(void)n;
	if (q->cfg.ttl_dead)
		return mq_bury(q, dir, name, "expired");
	if (unlinkat(q->dfd[dir], name, 0) < 0)
		return fail(q, dir, name, errno);
	q->dirty |= 1u << dir;
	return 0;
}

/*
 * A dead letter back to new/, visible now, with its deliveries reset and a
 * TTL that has passed dropped: kicking it is an operator's decision.
 */
int
mq_kick(struct mq_queue *q, const char *name, char *newname, size_t len)
{
	struct mq_name n;

	if (mq_name_parse(name, &n) < 0)
		return fail(q, MQ_DEAD, name, EINVAL);
	n.deliveries = 0;
	n.reason[0] = n.token[0] = n.owner[0] = '\0';
	if (n.expires > 0 && n.expires * 1000 <= mq_now_ms())
		n.expires = 0;
	/* A dead claim's mtime may be its (future) deadline. */
	if (mq_settime(q->dfd[MQ_DEAD], name, mq_now_ms()) < 0 &&
	    errno != EPERM)
		return fail(q, MQ_DEAD, name, errno);
	if (mq_name_format(newname, len, &n) < 0)
		return fail(q, MQ_DEAD, name, errno);
	return move(q, MQ_DEAD, name, MQ_NEW, &n, "");
}

/*
 * An expired claim (mq_claim_expired) back to new/, its delivery count kept.
 * In new/ the mtime means "visible from": a claim taken back before its
 * deadline, because its owner died, is first given the time it was claimed
 * (its ctime, surely past), so that it is visible at once.  ESTALE if a
 * consumer claimed it again first.
 */
int
mq_unclaim(struct mq_queue *q, const char *name, char *newname, size_t len)
{
	struct mq_name n;
	struct stat st;
	char token[sizeof(n.token)];
	long long ct;

	if (mq_name_parse(name, &n) < 0)
		return fail(q, MQ_CUR, name, EINVAL);
	if (fstatat(q->dfd[MQ_CUR], name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(q, MQ_CUR, name, errno == ENOENT ? ESTALE : errno);
	ct = (long long)st.st_ctim.tv_sec * 1000 + st.st_ctim.tv_nsec / 1000000;
	/* Not ours to touch in a group queue: then visible at its deadline. */
	if (mq_mtime_ms(&st) > mq_now_ms() &&
	    mq_settime(q->dfd[MQ_CUR], name, ct) < 0 && errno != EPERM)
		return fail(q, MQ_CUR, name, errno == ENOENT ? ESTALE : errno);
	strlcpy(token, n.token, sizeof(token));
	n.token[0] = n.owner[0] = '\0';
	if (move(q, MQ_CUR, name, MQ_NEW, &n, token) < 0)
		return -1;
	return mq_name_format(newname, len, &n);
}
