/*
 * enter.c: the one way into new/.
 *
 * Whatever makes a message in new/ (mqput, a keyed put, a publication's
 * copy) stages a whole file in tmp/, makes its data durable, and then hands
 * it here, where the queue's rules apply in one order:
 *
 *	1. its name: a fresh id (unless the caller's: a key or a publication
 *	   names it), the TTL as the t field (the put's, or the queue's
 *	   default ttl)
 *	2. the limits (limit.c): max_length with overflow = refuse, min_free;
 *	   a refused message stays in tmp/ for its caller to remove
 *	3. a rename into new/ that never replaces: where another host made
 *	   the same name, a fresh id is taken (or, for a name the caller
 *	   owns, EEXIST); a message of an ordered group enters its group
 *	   (group.c), as its head into new/ or behind the head
 *	4. new/ fsync'ed once for the batch (unless the queue or the caller
 *	   asked for no syncing), and the group's line: only then are the
 *	   messages reported
 *	5. an urgent message (urgent.c) is named in the hint of urgent
 *	   arrivals, so that claimers of a long backlog see it first
 *	6. overflow = drop-oldest: the least urgent level's oldest waiting
 *	   go to dead/ (fate.c)
 *
 * A consumer never sees a partial file: new/ only ever gets whole files by
 * rename.  The size limit, max_size, is checked while a message is written
 * (mq_fits, config.c), so that an oversize input never fills the disk.
 */
#include <errno.h>
#include <string.h>

#include "mq-internal.h"

/* Tries of a fresh id when a name in new/ exists (another host's). */
#define FRESH_TRIES 9

/*
 * Name a message to be: a fresh id unless n->id is set, and its TTL, ttl_ms
 * (< 0: the queue's default; 0: none), as the t field.
 */
int
mq_enter_name(const struct mq_queue *q, struct mq_name *n, long long ttl_ms)
{
	if (n->id[0] == '\0' && mq_new_id(n->id, sizeof(n->id)) < 0)
		return -1;
	if (ttl_ms < 0)
		ttl_ms = q->cfg.ttl_ms;
	n->expires = ttl_ms > 0 ? (mq_now_ms() + ttl_ms + 999) / 1000 : 0;
	return 0;
}

/*
 * tmp/a->tmp to new/ (or into its group g), under a fresh name if the id
 * is ours to change.
 */
static int
move_in(struct mq_queue *q, struct mq_group *g, struct mq_arrival *a,
    int flags, int *innew)
{
	int tries, r, sync = q->cfg.sync && !(flags & MQ_ENTER_NOSYNC);

	for (tries = 0;; tries++) {
		if (mq_name_format(a->name, sizeof(a->name), &a->n) < 0)
			return mq_entry_error(q, MQ_TMP, a->tmp, errno);
		if (g)
			r = mq_group_enter(g, q->dfd[MQ_TMP], a->tmp,
			    a->name, sync);
		else
			r = mq_rename_fresh(q->dfd[MQ_TMP], a->tmp,
			    q->dfd[MQ_NEW], a->name) == 0 ? 1 : -1;
		if (r >= 0) {
			/* Behind a group's head (0), it is not in new/. */
			*innew |= r;
			a->innew = r;
			return 0;
		}
		if (errno != EEXIST || (flags & MQ_ENTER_KEEPID) ||
		    tries + 1 >= FRESH_TRIES)
			return mq_entry_error(q, MQ_NEW, a->name, errno);
		if (mq_new_id(a->n.id, sizeof(a->n.id)) < 0)
			return mq_entry_error(q, MQ_TMP, a->tmp, errno);
	}
}

/* The urgent ones of the n arrivals a[] that are in new/: to the hint. */
static void
note_urgent(struct mq_queue *q, const struct mq_arrival *a, size_t n)
{
	const char *names[64];
	long long at[64];
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		if (!a[i].innew || a[i].n.level == 0 ||
		    a[i].n.level >= '0' + MQ_LEVEL_DEFAULT)
			continue;
		at[k] = a[i].at;
		names[k++] = a[i].name;
		if (k == sizeof(names) / sizeof(names[0])) {
			mq_urgent_note(q, names, at, k);
			k = 0;
		}
	}
	if (k > 0)
		mq_urgent_note(q, names, at, k);
}

/*
 * Move the n staged messages a[] (their data already durable; all of one
 * group, or none) into new/, in order, by the rules of the header.  A
 * caller that began their group itself (mq_group_begin, to sync what it
 * made with the data) passes it as g; it is ended here in every case.  e->moved says how many made it:
 * their a[i].name and a[i].n.id are to be reported by the caller even when
 * this fails, since they are enqueued; e->unsure that they are visible
 * but new/ could not be made durable (a power cut may lose them).  -1 with
 * errno: ENOSPC if refused by a limit (e->why says which, q->errobj is
 * empty), else the failure of q->errobj.  The rest stay in tmp/.
 */
int
mq_enter(struct mq_queue *q, struct mq_arrival *a, size_t n, int flags,
    struct mq_group *g, struct mq_entered *e)
{
	size_t i, room;
	int rc = 0, innew = 0;
	int sync = q->cfg.sync && !(flags & MQ_ENTER_NOSYNC);

	memset(e, 0, sizeof(*e));
	if (mq_limit_room(q, n, &room, &e->why) < 0) {
		mq_group_end(g, 0);
		return -1;
	}
	if (g == NULL && room > 0 && a[0].n.group[0] &&
	    (g = mq_group_begin(q, a[0].n.group, NULL)) == NULL)
		return -1;
	for (i = 0; i < room; i++) {
		if (move_in(q, g, &a[i], flags, &innew) < 0) {
			rc = -1;
			break;
		}
		e->moved++;
	}
	/* Only behind a group's head: its line is synced by mq_group_end. */
	if (innew && sync && mq_fsync(q->dfd[MQ_NEW]) < 0) {
		strlcpy(q->errobj, "new", sizeof(q->errobj));
		e->unsure = 1;
		rc = -1;
	}
	note_urgent(q, a, e->moved);
	/* The group's line synced (those behind the head), the group free. */
	if (mq_group_end(g, sync) < 0 && rc == 0) {
		e->unsure = e->moved > 0;
		rc = -1;
	}
	if (e->unsure)
		return -1;
	if (rc == 0 && room < n) {
		/* Refused by a limit: no spool object failed. */
		q->errobj[0] = '\0';
		errno = ENOSPC;
		rc = -1;
	}
	if (rc == 0)
		mq_limit_trim(q);
	return rc;
}
