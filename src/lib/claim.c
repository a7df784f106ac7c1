/*
 * claim.c: take the most urgent, oldest visible messages, exclusively.
 *
 * Candidates are the entries of new/ and cur/ that the gate (gate.c) calls
 * due: visible messages, and claims whose deadline passed or whose owner is
 * known dead (expired claims come back without any reaper), taken in
 * claim order: the most urgent level first (mq_scan_cmp), then id order, i.e.
 * arrival order.  A claim is one rename to a fresh name in cur/
 * (the handle: delivery count + 1, a new random token), so that exactly one
 * of any number of concurrent claimers wins, and the old handle stops
 * working.  Right after the rename the claimer sets the deadline (mtime);
 * the gate's settle rule protects the moment in between.
 *
 * Setting an mtime needs the file's owner.  In a queue shared by a group
 * the claimer may not own the message; it then adopts it: copies it to a
 * file of its own in tmp/ and swaps the two atomically (RENAME_EXCHANGE),
 * failing cleanly if the claim was lost in between.
 *
 * The path, top down: mq_claim takes the urgent messages that the hint of
 * urgent.c names, then from the index of new/'s head while it lasts
 * (index.c), else scans (claim_scan) and walks the scan (claim_scanned),
 * all in claim order: the most urgent level first, then the oldest.  A
 * process whose last claim scanned a short new/ without hint or index (a
 * woken mqget -w) scans at once: the scan is the truth and cheap, and a
 * backlog grown meanwhile costs that one scan, which indexes it.  Each
 * candidate is considered once (consider: gate, fate, take).  struct
 * claimer carries the call's whole state through it.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <unistd.h>

#include "mq-internal.h"

/* Names of a stale index tried in a row before a scan is cheaper. */
#define INDEX_USELESS_MAX 256
/* Fresh tokens tried when a claim's name exists (another host's). */
#define TOKEN_TRIES 5
/* After a lost race, jump up to this far ahead (spread the claimers). */
#define JUMP_MAX 8

/* What one claim call works with, from its entry to its last candidate. */
struct claimer {
	struct mq_queue *q;
	size_t max, got;
	long long now, timeout_ms, due;
	pid_t owner;
	struct mq_claim *out;
	struct mq_sweep sweep;	/* what it saw of cur/ (sweep.c) */
	size_t curleft;		/* entries of cur/ not yet looked at */
	struct mq_urgent *u;	/* the hint of urgent names (urgent.c) */
};

/* How a candidate turned out (consider). */
enum outcome {
	TAKEN,		/* claimed: in k->out */
	PASSED,		/* not due yet, or settled otherwise (expired...) */
	LOST,		/* another claimer took it first */
	GONE,		/* not there any more: taken or ended meanwhile */
	ODD,		/* no message to claim (FIFO, link, name, clock) */
	FAILED,		/* an error that ends the claim */
};

static int claim_urgent(struct claimer *, struct mq_urgent *);
static int claim_indexed(struct claimer *, struct mq_index *);
static int claim_scan(struct claimer *, int ixstate, struct mq_index *);
static int claim_scanned(struct claimer *, struct mq_scan *,
    unsigned char *tried, size_t *sorted, size_t mine);
static enum outcome consider(struct claimer *, enum mq_dir, const char *,
    long long *due);
static int take(struct claimer *, enum mq_dir, const char *,
    const struct mq_name *, struct mq_claim *);

int
mq_claim(struct mq_queue *q, size_t max, long long timeout_ms, pid_t owner,
    struct mq_claim *out, size_t *nout, long long *next_ms)
{
	struct claimer k = { .q = q, .max = max, .timeout_ms = timeout_ms,
		.owner = owner, .out = out, .now = mq_now_ms() };
	struct mq_index ix = { .fd = -1 };
	struct mq_urgent u;
	int rc = 0, ixstate = -1;

	*nout = 0;
	if (next_ms)
		*next_ms = 0;
	q->skiperr = 0;
	/* A paused queue gives nothing: the caller asks mq_paused why. */
	if ((rc = mq_paused(q)) != 0)
		return rc < 0 ? -1 : 0;
	/* Urgent arrivals first: the index holds the other levels. */
	if (q->newshort) {
		memset(&u, 0, sizeof(u));
		u.fd = -1;
	} else
		mq_urgent_open(q, &u);
	k.u = &u;
	rc = claim_urgent(&k, &u);
	if (k.got < max && rc == 0 && !q->newshort)
		ixstate = mq_index_open(q, &ix, k.now);
	/* The hint lacks some urgent names: only a scan finds them. */
	if (ixstate == 1 && u.state == MQ_URGENT_OVER)
		ixstate = 0;
	if (ixstate == 1)
		rc = claim_indexed(&k, &ix);
	if (k.got < max && rc == 0 && ixstate >= 0 &&
	    !mq_index_scan_lock(q, &ix)) {
		/* Another claimer just scanned: take from its index. */
		mq_index_close(&ix);
		if ((ixstate = mq_index_open(q, &ix, k.now)) == 1)
			rc = claim_indexed(&k, &ix);
	}
	if (k.got < max && rc == 0)
		rc = claim_scan(&k, ixstate, &ix);
	mq_index_close(&ix);
	mq_urgent_close(&u);
	*nout = k.got;
	if (next_ms)
		*next_ms = k.due;
	if (rc < 0 && k.got == 0)
		return -1;
	return mq_claim_skipped(q, k.got);
}

/* Nothing claimed, and an entry failed on the way: that failure. */
int
mq_claim_skipped(struct mq_queue *q, size_t got)
{
	if (got > 0 || q->skiperr == 0)
		return 0;
	errno = q->skiperr;
	q->skiperr = 0;
	return -1;
}

/*
 * Try to claim one entry of a scan the caller keeps (a long-running consumer
 * walks one scan of a long backlog instead of rescanning the directory for
 * every message).  Returns 1 with *c filled, 0 if the entry is not for us
 * (gone, lost to another claimer, expired or buried on the way, or not due
 * yet: then *due is lowered to when it may be), -1 on an error.
 */
int
mq_claim_entry(struct mq_queue *q, enum mq_dir dir, const char *name,
    long long timeout_ms, pid_t owner, struct mq_claim *c, long long *due)
{
	struct claimer k = { .q = q, .max = 1, .timeout_ms = timeout_ms,
		.owner = owner, .out = c, .now = mq_now_ms() };

	switch (consider(&k, dir, name, due)) {
	case TAKEN:
		return 1;
	case FAILED:
		return -1;
	default:
		return 0;
	}
}

/*
 * Claim from the hint of urgent arrivals (urgent.c), most urgent and
 * oldest first; those put delayed are passed by without a look till their
 * time, and stay.  The names taken or gone are then dropped from the hint.
 */
static int
claim_urgent(struct claimer *k, struct mq_urgent *u)
{
	size_t i, dead = 0;
	long long d;
	int r = 0;

	if (u->fd < 0 || u->state != MQ_URGENT_OK)
		return 0;
	for (i = 0; i < u->s.n && k->got < k->max; i++) {
		if ((d = mq_urgent_due(u, i)) > k->now) {
			mq_soonest(&k->due, d);
			continue;
		}
		d = 0;
		r = mq_claim_entry(k->q, MQ_NEW, mq_scan_name(&u->s, i),
		    k->timeout_ms, k->owner, &k->out[k->got], &d);
		if (r < 0)
			break;
		if (r > 0)
			k->got++;
		mq_soonest(&k->due, d);
		if (r > 0 || d == 0) {
			u->dead[i] = 1;
			dead++;
		}
	}
	if (dead > 0)
		mq_urgent_spent(u);
	return r < 0 ? -1 : 0;
}

/*
 * Claim from the index (index.c) while it lasts: no scan at all.  Gives up
 * after a run of names that were gone or not yet visible, so that a stale
 * index costs a bounded number of fstatat before the full scan.
 */
static int
claim_indexed(struct claimer *k, struct mq_index *ix)
{
	const char *name;
	size_t useless = 0;

	while (k->got < k->max && useless < INDEX_USELESS_MAX &&
	    (ix->want = k->max - k->got, name = mq_index_next(ix)) != NULL) {
		switch (consider(k, MQ_NEW, name, &k->due)) {
		case TAKEN:
			k->got++;
			break;
		case FAILED:
			return -1;
		default:
			useless++;
		}
	}
	return 0;
}

/*
 * Leave the next names of new/, in order, for the next claimers: all from
 * the skip-th entry of s on (new/ or cur/), the first skip being ours to
 * try (all of them, as we take skip messages at most).  Written before
 * our claims, so that claimers waiting for this scan (index.c) go on at
 * once instead of after them; where we lose a race and go further, we
 * race them for names, as scanners do.  The urgent names are left out
 * when the hint holds them (hinted: urgent.c), as claimers take those
 * first.  Returns where the entries left to us end: till the next full
 * scan no one else tries them, so our walk must not jump over them.
 */
static size_t
index_ahead(struct claimer *k, struct mq_scan *s, size_t skip, size_t sorted,
    int hinted)
{
	const char **idx;
	size_t i, n, mine;

	if (sorted > s->n)
		sorted = s->n;
	if ((idx = reallocarray(NULL, MQ_INDEX_MAX, sizeof(*idx))) == NULL)
		return 0;	/* no index: every name is tried again */
	mine = skip < sorted ? skip : sorted;
	for (i = mine, n = 0; i < sorted && n < MQ_INDEX_MAX; i++)
		if (s->e[i].dir == MQ_NEW &&
		    (!hinted || s->e[i].level >= MQ_LEVEL_DEFAULT))
			idx[n++] = mq_scan_name(s, i);
	mq_index_write(k->q, idx, n, k->now);
	free(idx);
	return mine;
}

/*
 * The index is spent, old or absent: scan new/ and cur/ (unless the note
 * of cur/ says nothing there can be due: sweep.c), (a long backlog) index
 * for the next claimers, let them go (closing ix drops its scan lock), and
 * claim; a short backlog drops any index, a scan is cheap.  A claim that
 * looked at every entry of cur/ leaves the note.
 */
static int
claim_scan(struct claimer *k, int ixstate, struct mq_index *ix)
{
	struct mq_scan s;
	unsigned char *tried = NULL;
	size_t nnew, sorted, passed, need = k->max - k->got, mine = 0;
	int rc = -1, sweep, hinted;

	memset(&s, 0, sizeof(s));
	if (mq_scan(k->q, MQ_NEW, &s) < 0)
		goto out;
	nnew = s.n;
	sweep = !mq_sweep_fresh(k->q, k->now, &k->due);
	passed = s.passed;
	if (sweep && mq_scan(k->q, MQ_CUR, &s) < 0)
		goto out;
	k->sweep.at = k->now;
	k->sweep.spoilt = s.passed != passed;
	k->curleft = s.n - nnew;
	sorted = k->max + MQ_INDEX_MAX + INDEX_USELESS_MAX;
	mq_scan_sort_head(&s, sorted);
	if (s.n && (tried = calloc(s.n, 1)) == NULL)
		goto out;
	hinted = mq_urgent_scanned(k->q, k->u, &s, sorted);
	k->q->newshort = nnew < MQ_INDEX_MIN && ixstate < 0 && k->u->fd < 0;
	if (nnew >= MQ_INDEX_MIN + need)
		mine = index_ahead(k, &s, need, sorted, hinted);
	else if (ixstate >= 0)
		mq_index_drop(k->q);
	mq_index_close(ix);
	rc = claim_scanned(k, &s, tried, &sorted, mine);
	if (rc == 0 && sweep && k->curleft == 0) {
		/* Ours, made in this call, are in cur/ too. */
		if (k->got > 0)
			mq_sweep_seen(&k->sweep, k->now + k->timeout_ms,
			    k->out[0].n.owner);
		mq_sweep_write(k->q, &k->sweep);
	}
out:
	free(tried);
	mq_scan_free(&s);
	return rc;
}

/* An entry of cur/ that was not for us, due at due: for the note. */
static void
seen(struct claimer *k, const char *name, long long due, enum outcome o)
{
	struct mq_name n;

	if (o == ODD || o == GONE || mq_name_parse(name, &n) < 0)
		k->sweep.spoilt = 1;
	else
		mq_sweep_seen(&k->sweep, due, n.owner);
}

/*
 * How far a walk that lost entry i may jump: not into a less urgent level
 * (claim order), not over the names before mine (the index left them to
 * us alone), JUMP_MAX at most, within the sorted head.
 */
static size_t
jump_room(const struct mq_scan *s, size_t i, size_t sorted, size_t mine)
{
	size_t j;

	if (i + 1 < mine)
		return 0;
	if (sorted > s->n)
		sorted = s->n;
	for (j = i + 1; j < sorted && j - i <= JUMP_MAX &&
	    s->e[j].level == s->e[i].level; j++)
		;
	return j - i - 1;
}

/*
 * Walk a scan in claim order.  Pass 0 goes in order, but after losing a
 * race it jumps a short random distance ahead within the level (see
 * jump_room), so that concurrent claimers spread out instead of all
 * fighting for the head; pass 1 takes what was jumped.  Only the head is
 * sorted (*sorted entries) unless the claim runs past it.
 */
static int
claim_scanned(struct claimer *k, struct mq_scan *s, unsigned char *tried,
    size_t *sorted, size_t mine)
{
	enum outcome o;
	size_t i, pass, room;
	long long due;

	for (pass = 0; pass < 2 && k->got < k->max; pass++) {
		for (i = 0; i < s->n && k->got < k->max; i++) {
			if (i >= *sorted && *sorted < s->n) {
				mq_scan_sort_tail(s, *sorted);
				*sorted = s->n;
			}
			if (tried[i])
				continue;
			tried[i] = 1;
			due = 0;
			o = consider(k, s->e[i].dir, mq_scan_name(s, i), &due);
			if (o == FAILED)
				return -1;
			mq_soonest(&k->due, due);
			if (s->e[i].dir == MQ_CUR) {
				k->curleft--;
				if (o != TAKEN)
					seen(k, mq_scan_name(s, i), due, o);
			}
			if (o == TAKEN)
				k->got++;
			else if ((o == LOST || o == GONE) && pass == 0 &&
			    (room = jump_room(s, i, *sorted, mine)) > 1)
				i += arc4random_uniform((uint32_t)room);
		}
	}
	return 0;
}

/*
 * One candidate: the gate says whether it is due, the fate table (fate.c)
 * whether it is claimed or expired or buried on the way.  Not yet due:
 * *due is lowered to when it may be.
 */
static enum outcome
consider(struct claimer *k, enum mq_dir dir, const char *name,
    long long *due)
{
	struct mq_queue *q = k->q;
	struct mq_claim *out = &k->out[k->got];
	struct mq_verdict v;
	struct mq_look l;
	int r;

	switch (mq_gate(q, dir, name, k->now, MQ_GATE_CLOCK, &l)) {
	case MQ_LOOK_DUE:
		break;
	case MQ_LOOK_WAITING:
		mq_soonest(due, l.at);
		return PASSED;
	case MQ_LOOK_FAILED:
		/*
		 * Not ENOENT (a race lost): the spool's failure (EIO).
		 * Passed, so that one bad entry does not block the others,
		 * but remembered, so that a claim that gets nothing says why
		 * instead of "no message".
		 */
		if (!q->skiperr)
			q->skiperr = errno;
		return ODD;
	case MQ_LOOK_ODD:
		mq_odd(q, dir, name, &l, k->now, 1);
		return ODD;
	case MQ_LOOK_GONE:
		return GONE;
	case MQ_LOOK_DISTRUSTED:
		return ODD;
	}
	mq_fate(&q->cfg, &l.n, MQ_EV_REACHED, k->now, &v);
	if (v.fate != MQ_FATE_CLAIM) {
		if (mq_settle(q, dir, name, &v, NULL, 0) < 0 &&
		    errno != ENOENT && errno != ESTALE)
			return FAILED;
		return PASSED;
	}
	if ((r = take(k, dir, name, &l.n, out)) == 0) {
		/* A waiting message no more: its key lets go (key.c). */
		if (l.n.key[0])
			mq_key_claimed(q, l.n.key, dir, name, out->name);
		return TAKEN;
	}
	if (r == -2)
		return PASSED;
	return errno == ENOENT ? LOST : FAILED;
}

/* Copy src (in cur/) to a file of ours in tmp/; see the comment above. */
static int
adopt(struct mq_queue *q, const char *name, long long deadline)
{
	char tmp[MQ_NAME_MAX + 1];
	int in, out = -1, e;

	if (snprintf(tmp, sizeof(tmp), "%.200s.adopt", name) >=
	    (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((in = mq_open_body(q, MQ_CUR, name)) < 0)
		return -1;
	out = openat(q->dfd[MQ_TMP], tmp, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, q->fmode);
	if (out < 0)
		goto fail;
	if (mq_copy(in, out) < 0)
		goto fail;
	if ((q->cfg.sync && mq_fsync(out) < 0) ||
	    mq_settime(q->dfd[MQ_TMP], tmp, deadline) < 0)
		goto fail;
	if (close(out) < 0) {
		out = -1;
		goto fail;
	}
	out = -1;
	close(in);
	in = -1;
	if (renameat2(q->dfd[MQ_TMP], tmp, q->dfd[MQ_CUR], name,
	    RENAME_EXCHANGE) < 0)
		goto fail;
	/*
	 * tmp/ now holds the producer's file: the copy took its place.  If
	 * it cannot be removed, mqreap's 36-hour rule will.
	 */
	(void)unlinkat(q->dfd[MQ_TMP], tmp, 0);
	q->dirty |= 1u << MQ_TMP;
	return 0;
fail:
	e = errno;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	(void)unlinkat(q->dfd[MQ_TMP], tmp, 0);
	errno = e;
	return -1;
}

/*
 * A claim that is ours but has no deadline (mq_settime and adopt failed,
 * errno says why) must not stay to look expired.  A message we may not
 * read (adopt failed with EACCES), in a group queue, would fail every
 * claimer for ever: it goes to the dead letters ("unreadable"), for a
 * person to fix its mode, and the claim goes on (-2).  Anything else:
 * given back to new/ uncounted (fate: undelivered), and -1.  If even that
 * fails the claim stays, its deadline its old mtime: the first claimer or
 * reaper after the settle time takes it back; errno is the first error.
 */
static int
untake(struct mq_queue *q, struct mq_claim *c, int adopting)
{
	struct mq_verdict v;
	int e = errno;

	if (adopting && e == EACCES) {
		mq_fate(&q->cfg, &c->n, MQ_EV_UNREADABLE, mq_now_ms(), &v);
		if (mq_settle(q, MQ_CUR, c->name, &v, NULL, 0) == 0) {
			if (q->skipped)
				q->skipped(q, MQ_CUR, c->name,
				    "cannot be read: to dead/");
			return -2;
		}
	}
	mq_fate(&q->cfg, &c->n, MQ_EV_UNTAKEN, mq_now_ms(), &v);
	(void)mq_settle(q, MQ_CUR, c->name, &v, NULL, 0);
	mq_entry_error(q, MQ_CUR, c->name, e);
	return -1;
}

/* Move one entry to cur/ under a fresh handle and set its deadline. */
static int
take(struct claimer *k, enum mq_dir dir, const char *name,
    const struct mq_name *old, struct mq_claim *c)
{
	struct mq_queue *q = k->q;
	int tries;

	c->n = *old;
	c->n.deliveries++;
	c->n.reason[0] = '\0';
	c->n.owner[0] = '\0';
	if (k->owner > 0)
		snprintf(c->n.owner, sizeof(c->n.owner), "%s-%ld",
		    mq_host_tag(), (long)k->owner);
	for (tries = 0;; tries++) {
		mq_token(c->n.token, sizeof(c->n.token));
		if (mq_name_format(c->name, sizeof(c->name), &c->n) < 0)
			return -1;
		/* A fresh name: the first rename of a shared source wins. */
		if (mq_rename_fresh(q->dfd[dir], name, q->dfd[MQ_CUR],
		    c->name) == 0)
			break;
		if (errno != EEXIST || tries + 1 >= TOKEN_TRIES)
			return mq_entry_error(q, dir, name, errno);
	}
	q->dirty |= 1u << dir | 1u << MQ_CUR;
	c->deadline_ms = k->now + k->timeout_ms;
	if (mq_settime(q->dfd[MQ_CUR], c->name, c->deadline_ms) == 0)
		return 0;
	if (errno != EPERM)
		return untake(q, c, 0);
	if (adopt(q, c->name, c->deadline_ms) == 0)
		return 0;
	return untake(q, c, 1);
}
