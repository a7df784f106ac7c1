/*
 * worker.c: what a long-running consumer needs beyond mq_claim: a walk
 * along one scan of the queue.
 *
 * mq_claim reads and sorts all of new/ for every call; a worker taking one
 * message at a time from a backlog of 100k would spend its life scanning.
 * A walk keeps the sorted scan and claims from where it stopped, so a
 * backlog costs one scan per WALK_MS, not one per message.  The directory
 * stays the truth: every entry is checked (fstatat) before its rename, an
 * entry taken by another claimer is simply passed, and a walk that reaches
 * its end scans again before saying "nothing more".  So when a call claims
 * fewer than asked, a whole fresh scan was walked: *next_ms is then exact,
 * and anything newer raised an inotify event after the caller's watch was
 * in place.  Messages that became visible behind the walk's position
 * (released, expired claims) wait at most WALK_MS.
 */
#include <string.h>

#include "mq-internal.h"

#define WALK_MS 1000

static int
rescan(struct mq_queue *q, struct mq_walk *w)
{
	mq_scan_free(&w->s);
	w->pos = 0;
	w->due = 0;
	w->stale = 0;
	w->scanned_ms = mq_now_ms();
	if (mq_scan(q, MQ_NEW, &w->s) < 0 || mq_scan(q, MQ_CUR, &w->s) < 0) {
		mq_scan_free(&w->s);
		return -1;
	}
	mq_scan_sort(&w->s);
	return 0;
}

/*
 * Claim up to max messages.  When fewer are claimed, *next_ms is when
 * something not yet claimable may become so (0: nothing known).
 */
int
mq_walk_claim(struct mq_queue *q, struct mq_walk *w, size_t max,
    long long timeout_ms, pid_t owner, struct mq_claim *out, size_t *nout,
    long long *next_ms)
{
	int fresh = 0, r;
	size_t i;

	*nout = 0;
	*next_ms = 0;
	q->skiperr = 0;
	if ((r = mq_paused(q)) != 0)
		return r < 0 ? -1 : 0;	/* paused: nothing, wait for inotify */
	if (w->stale || w->pos >= w->s.n ||
	    mq_now_ms() - w->scanned_ms >= WALK_MS) {
		if (rescan(q, w) < 0)
			return -1;
		fresh = 1;
	}
	while (*nout < max) {
		if (w->pos >= w->s.n) {
			if (fresh)
				break;
			if (rescan(q, w) < 0)
				return *nout ? 0 : -1;
			fresh = 1;
			continue;
		}
		i = w->pos++;
		r = mq_claim_entry(q, w->s.e[i].dir, mq_scan_name(&w->s, i),
		    timeout_ms, owner, &out[*nout], &w->due);
		if (r < 0)
			return *nout ? 0 : -1;
		if (r > 0)
			(*nout)++;
	}
	*next_ms = w->due;
	return mq_claim_skipped(q, *nout);
}

void
mq_walk_free(struct mq_walk *w)
{
	mq_scan_free(&w->s);
	memset(w, 0, sizeof(*w));
}
