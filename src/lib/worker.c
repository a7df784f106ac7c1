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
 *
 * At the end of a walk, the arrivals that inotify named since (hints) are
 * claimed by name, without a rescan: a push then costs what a plain
 * inotify consumer's does (bench: mqwatch's push p50 was 1.43x the C
 * consumer's, two directory scans per message).  Too many hints, lost
 * events, an old scan or a due time passed: a rescan, as before.
 */
#include <stdlib.h>
#include <string.h>

#include "mq-internal.h"

#define WALK_MS 1000

/*
 * Where inotify is blind (a network file system), the walk is rescanned at
 * every poll (MQ_POLL_MS) to see other hosts' puts, and each look at cur/
 * cost a directory read and a stat per claim held, through the network,
 * ten times a second for nothing: claims fall due at times the last look
 * learnt (curdue).  So while polling, cur/ is looked at once a WALK_MS, or
 * when a claim there falls due; a claim that arrived since (another
 * host's) cannot be due before its settle (claim.c), nor is seen later
 * than the .cur note lets a claimer see it (sweep.c).
 */
static int
rescan(struct mq_queue *q, struct mq_walk *w)
{
	long long now = mq_now_ms();
	int cur = w->watched || now - w->cur_ms >= WALK_MS ||
	    now < w->cur_ms || (w->curdue && now >= w->curdue);

	mq_scan_free(&w->s);
	w->pos = 0;
	w->due = 0;
	w->stale = 0;
	w->nhint = 0;		/* the scan sees them all */
	w->hintover = 0;
	w->scanned_ms = now;
	if (mq_scan(q, MQ_NEW, &w->s) < 0 ||
	    (cur && mq_scan(q, MQ_CUR, &w->s) < 0)) {
		mq_scan_free(&w->s);
		return -1;
	}
	if (cur) {
		w->cur_ms = now;
		w->curdue = 0;
	}
	mq_scan_sort(&w->s);
	return 0;
}

/*
 * A walk's hints are full: an arrival more urgent than the
 * least urgent hint takes its place, and that one is left to the rescan.
 */
static void
walk_hint_full(struct mq_walk *w, const char *name)
{
	size_t i, worst = 0;

	w->hintover = 1;
	for (i = 1; i < w->nhint; i++)
		if (mq_level_namecmp(w->hint[i], w->hint[worst]) > 0)
			worst = i;
	if (w->nhint > 0 && mq_level_namecmp(name, w->hint[worst]) < 0)
		memcpy(w->hint[worst], name, strlen(name) + 1);
}

/*
 * The walk's arrivals (inotify's names) of a level more urgent than level,
 * the walk's next entry's, are claimed first, the most urgent first: 1 if
 * one was tried (the caller looks again), 0 if none is that urgent, -1 on
 * an error.
 */
static int
walk_urgent(struct mq_queue *q, struct mq_walk *w, int level,
    size_t max, long long timeout_ms, pid_t owner, struct mq_claim *out,
    size_t *nout)
{
	size_t i, best = 0;
	int r;

	for (i = 1; i < w->nhint; i++)
		if (mq_level_namecmp(w->hint[i], w->hint[best]) < 0)
			best = i;
	if (w->nhint == 0 || mq_level_of(w->hint[best]) >= level)
		return 0;
	r = mq_claim_entry(q, MQ_NEW, w->hint[best], timeout_ms, owner,
	    &out[*nout], &w->due);
	/* Tried: the rescan or the end of the walk sees it if it waits. */
	memmove(w->hint[best], w->hint[best + 1],
	    (w->nhint - best - 1) * sizeof(w->hint[0]));
	w->nhint--;
	if (r > 0)
		(*nout)++;
	(void)max;
	return r < 0 ? -1 : 1;
}

/*
 * Claim up to max messages.  When fewer are claimed, *next_ms is when
 * something not yet claimable may become so (0: nothing known).
 */
void
mq_walk_hint(struct mq_walk *w, const char *name)
{
	if (name[0] == '.' || strlen(name) >= sizeof(w->hint[0]))
		w->hintover = 1;
	else if (w->nhint >= MQ_WALK_HINTS)
		walk_hint_full(w, name);	/* keep the most urgent */
	else
		memcpy(w->hint[w->nhint++], name, strlen(name) + 1);
}

static int
hintcmp(const void *a, const void *b)
{
	return mq_level_namecmp(a, b);
}

/*
 * Claim the named arrivals, in id order (perhaps none): 1 if that stands
 * for a rescan, as it does at the end of a recent scan when inotify names
 * every arrival (w->watched).
 */
static int
claim_hints(struct mq_queue *q, struct mq_walk *w, size_t max,
    long long timeout_ms, pid_t owner, struct mq_claim *out, size_t *nout)
{
	long long now = mq_now_ms();
	size_t i;
	int r;

	if (!w->watched || w->stale || w->hintover || w->pos < w->s.n ||
	    now - w->scanned_ms >= WALK_MS || (w->due && now >= w->due) ||
	    (w->curdue && now >= w->curdue))
		return 0;
	if (w->nhint == 0)
		return 1;
	qsort(w->hint, w->nhint, sizeof(w->hint[0]), hintcmp);
	for (i = 0; i < w->nhint && *nout < max; i++) {
		r = mq_claim_entry(q, MQ_NEW, w->hint[i], timeout_ms, owner,
		    &out[*nout], &w->due);
		if (r < 0)
			return *nout ? 1 : -1;
		if (r > 0)
			(*nout)++;
	}
	if (i < w->nhint) {
		/* Claimed all it asked: keep the rest for the next call. */
		memmove(w->hint, w->hint[i], (w->nhint - i) * sizeof(w->hint[0]));
		w->nhint -= i;
	} else
		w->nhint = 0;
	return 1;
}

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
	/*
	 * Paused?  A stat of the pause file before every claim was 1.8 of
	 * mqwatch's 9.6 system calls per pushed message; where inotify
	 * watches the queue directory, the file's coming and going are
	 * events (watch.c), so the answer holds until one of them.
	 */
	if (!w->watched || !w->pauseknown) {
		if ((r = mq_paused(q)) < 0)
			return -1;
		w->paused = r;
		w->pauseknown = w->watched;
	}
	if (w->paused)
		return 0;	/* paused: nothing, wait for inotify */
	if ((r = claim_hints(q, w, max, timeout_ms, owner, out, nout)) != 0) {
		*next_ms = w->due;
		mq_soonest(next_ms, w->curdue);
		return r < 0 ? -1 : 0;
	}
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
		/* Arrivals more urgent than the walk's next: first. */
		if (w->nhint > 0 && (r = walk_urgent(q, w,
		    w->s.e[w->pos].level, max, timeout_ms, owner, out,
		    nout)) != 0) {
			if (r < 0)
				return *nout ? 0 : -1;
			continue;
		}
		i = w->pos++;
		r = mq_claim_entry(q, w->s.e[i].dir, mq_scan_name(&w->s, i),
		    timeout_ms, owner, &out[*nout], w->s.e[i].dir == MQ_CUR ?
		    &w->curdue : &w->due);
		if (r < 0)
			return *nout ? 0 : -1;
		if (r > 0)
			(*nout)++;
	}
	*next_ms = w->due;
	mq_soonest(next_ms, w->curdue);
	return mq_claim_skipped(q, *nout);
}

void
mq_walk_free(struct mq_walk *w)
{
	mq_scan_free(&w->s);
	memset(w, 0, sizeof(*w));
}
