/*
 * admin.c: an operator's purge and move of a queue's messages, by state
 * (mqpurge, mqmove).
 *
 * The caller names the states to act on (mq_states_parse); nothing else is
 * touched, and a claim in flight only if its state is named.  Each message
 * meets its fate through the one table (fate.c: purged, moved): a purge is
 * mq_settle's unlink, a move one no-replace rename into the other queue's
 * new/ under the same id (mq_rename_named), afresh as a kick would send it:
 * no delivery count, no reason, no claim, visible at once.  So each message
 * is purged or moved whole or not at all, and a message that moved on
 * meanwhile (claimed, acknowledged) is left alone, no failure.
 *
 * Why a claim's state is safe to act on: an expired claim cannot be
 * extended (mq_check refuses it) and a claimer takes it by a rename to a
 * fresh name, so the name we judged is still expired or gone; a fresh
 * claim whose deadline is not yet set counts as in flight (stat.c).
 *
 * Both queues' directories are synced at the end of a pass, the target's
 * first.  Nothing here prints: actions go to a->act, failures to a->error.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "mq-internal.h"

/* "dead,done": names of mq_statenames, "waiting" (visible and delayed),
 * "all" (every state but in flight and tmp). */
int
mq_states_parse(const char *list, unsigned *states)
{
	char buf[256], *p, *w;
	int i;

	*states = 0;
	if (strlcpy(buf, list, sizeof(buf)) >= sizeof(buf))
		goto bad;
	for (p = buf; (w = strsep(&p, ",")) != NULL;) {
		if (strcmp(w, "waiting") == 0)
			*states |= MQ_STATE_BIT(MQ_ST_VISIBLE) |
			    MQ_STATE_BIT(MQ_ST_DELAYED);
		else if (strcmp(w, "all") == 0)
			*states |= MQ_STATE_BIT(MQ_ST_VISIBLE) |
			    MQ_STATE_BIT(MQ_ST_DELAYED) |
			    MQ_STATE_BIT(MQ_ST_EXPIRED) |
			    MQ_STATE_BIT(MQ_ST_DONE) | MQ_STATE_BIT(MQ_ST_DEAD);
		else {
			for (i = 0; i < MQ_NSTATES; i++)
				if (strcmp(w, mq_statenames[i]) == 0)
					break;
			if (i == MQ_NSTATES)
				goto bad;
			*states |= MQ_STATE_BIT(i);
		}
	}
	if (*states)
		return 0;
bad:
	errno = EINVAL;
	return -1;
}

/*
 * dir/name of q to a->to's new/ under tn's name (newname gets it).  It is
 * to be visible at once: a future mtime (a delay, a claim's or a dead
 * letter's old deadline) becomes now first; in a group queue the file may
 * not be ours to touch (EPERM): then it is visible at that time.
 */
static int
move(struct mq_queue *q, enum mq_dir dir, const char *name,
    struct mq_name *tn, const struct mq_verdict *v, struct mq_admin *a,
    char *newname, size_t len, long long now)
{
	struct stat st;

	if (fstatat(q->dfd[dir], name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    (mq_mtime_ms(&st) > now && mq_settime(q->dfd[dir], name, now) < 0 &&
	    errno != EPERM))
		return mq_entry_error(q, dir, name, errno);
	if (tn->group[0]) {
		/* Into its group there, as a put; its group here moves on. */
		if (mq_group_rejoin(a->to, q->dfd[dir], name, tn) < 0 ||
		    mq_name_format(newname, len, tn) < 0)
			return mq_entry_error(q, dir, name, errno);
		mq_group_ended(q, tn);
	} else if (mq_rename_named(q->dfd[dir], name, a->to->dfd[MQ_NEW], tn,
	    newname, len) < 0)
		return mq_entry_error(q, dir, name, errno);
	else
		mq_urgent_named(a->to, tn, 0);	/* its level kept (urgent.c) */
	q->dirty |= 1u << dir;
	a->to->dirty |= 1u << MQ_NEW;
	/* Moved away is an end for this queue's waiters (end.c). */
	mq_end_settled(q, dir, tn, v);
	return 0;
}

/*
 * Is dir/name a message in one of a's states?  In new/ and cur/ the gate
 * (gate.c) says, as for claimers; done/, dead/ and tmp/ hold messages by
 * their directory.  Fills n.
 */
static int
chosen(struct mq_queue *q, struct mq_admin *a, enum mq_dir dir,
    const char *name, long long now, struct mq_name *n)
{
	struct mq_look l;
	struct stat st;
	enum mq_look_kind k = MQ_LOOK_DUE;

	if (dir == MQ_NEW || dir == MQ_CUR) {
		if ((k = mq_gate(q, dir, name, now, 0, &l)) == MQ_LOOK_ODD)
			mq_odd(q, dir, name, &l, now, 0);
		if (k == MQ_LOOK_FAILED)
			a->error(a, q);
		if (k < MQ_LOOK_WAITING)
			return 0;
		*n = l.n;
	} else if (fstatat(q->dfd[dir], name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT) {
			mq_entry_error(q, dir, name, errno);
			a->error(a, q);
		}
		return 0;
	} else if (!S_ISREG(st.st_mode))
		return 0;
	else if (mq_named(q, dir, name, n) < 0)
		return 0;
	if (!(a->states & MQ_STATE_BIT(mq_look_state(dir, k))))
		return 0;
	return a->reason == NULL || strcmp(n->reason, a->reason) == 0;
}

static void
one(struct mq_queue *q, struct mq_admin *a, enum mq_dir dir,
    const char *name, long long now)
{
	char to[MQ_NAME_MAX + 1];
	struct mq_verdict v;
	struct mq_name n, tn;
	int r;

	if (!chosen(q, a, dir, name, now, &n))
		return;
	mq_fate(&q->cfg, &n, a->to ? MQ_EV_MOVED : MQ_EV_PURGED, now, &v);
	mq_fate_name(&n, &v, now, &tn);
	if (mq_name_format(to, sizeof(to), &tn) < 0)
		strlcpy(to, n.id, sizeof(to));
	if (a->dryrun)
		r = 0;
	else if (a->to)
		r = move(q, dir, name, &tn, &v, a, to, sizeof(to), now);
	else
		r = mq_settle(q, dir, name, &v, NULL, 0);
	if (r < 0) {
		if (errno != ENOENT && errno != ESTALE)
			a->error(a, q);
		return;
	}
	a->act(a, q, v.verb, dir, name, a->to ? to : NULL);
	a->n++;
}

/* One pass over q: every message in a named state purged or moved. */
void
mq_admin(struct mq_queue *q, struct mq_admin *a, long long now)
{
	static const enum mq_dir order[] = { MQ_NEW, MQ_CUR, MQ_DEAD, MQ_DONE,
		MQ_TMP };
	struct mq_scan sc;
	size_t d, i;

	for (d = 0; d < sizeof(order) / sizeof(order[0]); d++) {
		memset(&sc, 0, sizeof(sc));
		if (mq_scan(q, order[d], &sc) < 0)
			a->error(a, q);
		else
			mq_scan_sort(&sc);
		for (i = 0; i < sc.n; i++)
			one(q, a, order[d], mq_scan_name(&sc, i), now);
		mq_scan_free(&sc);
	}
	/* After the heads, so that a moved group keeps its order. */
	mq_group_admin(q, a, now);
	if (a->dryrun)
		return;
	if (a->to && mq_sync(a->to) < 0)
		a->error(a, a->to);
	if (mq_sync(q) < 0)
		a->error(a, q);
}
