/*
 * claim.c: take the oldest visible messages, exclusively.
 *
 * Candidates are the files of new/ whose mtime has come (visible) and the
 * files of cur/ whose deadline has passed or whose owner is known dead
 * (expired claims come back without any reaper), taken in id order, i.e.
 * arrival order.  A claim is one rename to a fresh name in cur/ (the handle:
 * delivery count + 1, a new random token), so that exactly one of any
 * number of concurrent claimers wins, and the old handle stops working.
 *
 * Right after the rename the file still has its old mtime, which in cur/
 * would read as "expired"; the claimer then sets the deadline.  A rename
 * sets the ctime, so cur/ entries are only taken back once their ctime is
 * MQ_SETTLE_MS old: the moment between rename and deadline is protected.
 *
 * Setting an mtime needs the file's owner.  In a queue shared by a group
 * the claimer may not own the message; it then adopts it: copies it to a
 * file of its own in tmp/ and swaps the two atomically (RENAME_EXCHANGE),
 * failing cleanly if the claim was lost in between.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <unistd.h>

#include "mq-internal.h"

/*
 * The pid of a claim's owner if the claim was made on this host, else 0: a
 * pid means something only on the host that wrote it.
 */
pid_t
mq_owner_pid(const char *owner)
{
	const char *tag = mq_host_tag(), *dash;
	const char *e;
	long long pid;

	if (!owner[0] || (dash = strchr(owner, '-')) == NULL)
		return 0;
	if ((size_t)(dash - owner) != strlen(tag) ||
	    strncmp(owner, tag, (size_t)(dash - owner)) != 0)
		return 0; /* another host's claim: its deadline decides */
	pid = strtonum(dash + 1, 1, 1 << 30, &e);
	if (e)
		return 0;
	return (pid_t)pid;
}

/* Is the owner of a claim a process of this host that is gone? */
int
mq_owner_dead(const char *owner)
{
	pid_t pid = mq_owner_pid(owner);

	return pid > 0 && kill(pid, 0) < 0 && errno == ESRCH;
}

/*
 * Has the claim st/n in cur/ expired: its deadline passed, its owner known
 * dead, or its owner's host silent (host.c: as if its deadline were when
 * the host fell silent), and in the first two cases its rename
 * MQ_SETTLE_MS old (see above)?  Returns MQ_EXPIRED_* (0: not expired); the times of the first
 * and the last were read against our clock, which the caller checks
 * (mq_clock_ok).  If not, *due is lowered to when it will have, as far as
 * times tell (an owner's death cannot be timed).
 */
int
mq_claim_expired(struct mq_queue *q, const struct stat *st,
    const struct mq_name *n, long long now, long long *due)
{
	long long mt, ct, at, silent;
	int why = MQ_EXPIRED_DEADLINE;

	mt = mq_mtime_ms(st);
	ct = mq_ctime_ms(st) + MQ_SETTLE_MS;
	silent = mq_host_silent_at(q, n->owner, now);
	if (silent > 0 && silent < mt) {
		mt = silent;
		why = MQ_EXPIRED_HOST;
	}
	if (mt > now && mq_owner_dead(n->owner))
		why = MQ_EXPIRED_OWNER;
	/*
	 * A silent host's claim needs no settle: it was renamed while its
	 * host lived, which kept its heartbeat within a third of
	 * host_timeout (3 s at least), so at least 2 s before now.  And where
	 * the ctime is no rename's time (CephFS raises it to the deadline:
	 * mq(7)), a settle would keep it to its deadline.
	 */
	if (why == MQ_EXPIRED_HOST)
		at = mt;
	else if (mt <= now || why == MQ_EXPIRED_OWNER)
		at = ct;
	else
		at = mt > ct ? mt : ct;
	if (at <= now)
		return why;
	if (due)
		mq_soonest(due, at);
	return 0;
}

/*
 * A message with a second hard link (planted, or left by a foreign tool)
 * can never be claimed: any move of it could be a no-op.  Once its ctime
 * (a link(2) sets it) is MQ_SETTLE_MS old, so that a maildir writer's
 * link into new/ before its unlink from tmp/ is not mistaken for one, it
 * goes to the dead letters ("links") where ls shows it; a person removes
 * the other link and kicks it back.  Until then, and if that fails, it is
 * reported and skipped.
 */
void
mq_linked(struct mq_queue *q, enum mq_dir dir, const char *name,
    const struct stat *st, long long now)
{
	struct mq_verdict v;
	struct mq_name n;

	if (mq_ctime_ms(st) + MQ_SETTLE_MS <= now &&
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
		q->skipped(q, dir, name, "has more than one link");
}

/*
 * Is this entry claimable now?  If not, *due is lowered to when it may be.
 * Returns 1 if claimable, 0 if not (yet), -1 to skip it for good.
 */
static int
claimable(struct mq_queue *q, enum mq_dir dir, const char *name,
    struct stat *st, struct mq_name *n, long long now, long long *due)
{
	long long at;
	int r;

	if (fstatat(q->dfd[dir], name, st, AT_SYMLINK_NOFOLLOW) < 0) {
		/*
		 * Gone (ENOENT) is a race lost to another claimer.  Anything
		 * else (EIO) is the spool's failure: passed, so that one bad
		 * entry does not block the others, but remembered, so that a
		 * claim that gets nothing says why instead of "no message".
		 */
		if (errno != ENOENT && !q->skiperr) {
			q->skiperr = errno;
			snprintf(q->errobj, sizeof(q->errobj), "%s/%s",
			    mq_dirnames[dir], name);
		}
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		if (q->skipped)
			q->skipped(q, dir, name, "not a regular file");
		return -1;
	}
	if (st->st_nlink != 1) {
		/* rename(2) onto another link of the same inode is a no-op. */
		mq_linked(q, dir, name, st, now);
		return -1;
	}
	if (mq_name_parse(name, n) < 0) {
		if (q->skipped)
			q->skipped(q, dir, name, "unsafe name");
		return -1;
	}
	if (dir == MQ_CUR) {
		if ((r = mq_claim_expired(q, st, n, now, due)) == 0)
			return 0;
		/* Its time passed by our clock: is our clock right? */
		if (r != MQ_EXPIRED_OWNER && !mq_clock_ok(q, dir, name))
			return -1;
		return 1;
	}
	at = mq_mtime_ms(st);
	if (at <= now)
		return 1;
	mq_soonest(due, at);
	return 0;
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
	/* tmp/ now holds the producer's file: the copy took its place. */
	unlinkat(q->dfd[MQ_TMP], tmp, 0);
	q->dirty |= 1u << MQ_TMP;
	return 0;
fail:
	e = errno;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	unlinkat(q->dfd[MQ_TMP], tmp, 0);
	errno = e;
	return -1;
}

/*
 * A claim that is ours but has no deadline (mq_settime and adopt failed,
 * errno says why) must not stay to look expired.  A message we may not
 * read (adopt failed with EACCES), in a group queue, would fail every
 * claimer for ever: it goes to the dead letters ("unreadable"), for a
 * person to fix its mode, and the claim goes on (-2).  Anything else:
 * back to new/ as it was, and -1.
 */
static int
untake(struct mq_queue *q, struct mq_claim *c, const struct mq_name *old,
    int adopting)
{
	struct mq_verdict v;
	struct mq_name back = *old;
	char bname[MQ_NAME_MAX + 1];
	int e = errno;

	if (adopting && e == EACCES) {
		mq_fate(&q->cfg, old, MQ_EV_UNREADABLE, mq_now_ms(), &v);
		if (mq_settle(q, MQ_CUR, c->name, &v, NULL, 0) == 0) {
			if (q->skipped)
				q->skipped(q, MQ_CUR, c->name,
				    "cannot be read: to dead/");
			return -2;
		}
	}
	snprintf(q->errobj, sizeof(q->errobj), "cur/%s", c->name);
	back.token[0] = back.owner[0] = '\0';
	mq_rename_named(q->dfd[MQ_CUR], c->name, q->dfd[MQ_NEW], &back, bname,
	    sizeof(bname));
	errno = e;
	return -1;
}

/* Move one entry to cur/ under a fresh handle and set its deadline. */
static int
take(struct mq_queue *q, enum mq_dir dir, const char *name,
    const struct mq_name *old, long long deadline, pid_t owner,
    struct mq_claim *c)
{
	int tries;

	c->n = *old;
	c->n.deliveries++;
	c->n.reason[0] = '\0';
	c->n.owner[0] = '\0';
	if (owner > 0)
		snprintf(c->n.owner, sizeof(c->n.owner), "%s-%ld",
		    mq_host_tag(), (long)owner);
	for (tries = 0;; tries++) {
		mq_token(c->n.token, sizeof(c->n.token));
		if (mq_name_format(c->name, sizeof(c->name), &c->n) < 0)
			return -1;
		/* A fresh name: the first rename of a shared source wins. */
		if (mq_rename_fresh(q->dfd[dir], name, q->dfd[MQ_CUR],
		    c->name) == 0)
			break;
		if (errno != EEXIST || tries > 4) {
			int e = errno;
			snprintf(q->errobj, sizeof(q->errobj), "%s/%s",
			    mq_dirnames[dir], name);
			errno = e;
			return -1;
		}
	}
	q->dirty |= 1u << dir | 1u << MQ_CUR;
	c->deadline_ms = deadline;
	if (mq_settime(q->dfd[MQ_CUR], c->name, deadline) == 0)
		return 0;
	if (errno != EPERM)
		return untake(q, c, old, 0);
	if (adopt(q, c->name, deadline) == 0)
		return 0;
	return untake(q, c, old, 1);
}

/*
 * One candidate: its fate (fate.c) is to be claimed, or expired or buried
 * on the way.  Returns 1 if taken, 0 if not, -1 on an error that ends the
 * claim.  With 0, *lost says why: 1 another claimer took it first, 2 it is
 * no message to claim (a FIFO, a link, an unsafe name, ...), else 0.
 */
static int
consider(struct mq_queue *q, enum mq_dir dir, const char *name,
    long long now, long long timeout_ms, pid_t owner, long long *due,
    struct mq_claim *out, int *lost)
{
	struct mq_verdict v;
	struct mq_name n;
	struct stat st;
	int r;

	*lost = 0;
	if ((r = claimable(q, dir, name, &st, &n, now, due)) <= 0) {
		if (r < 0)
			*lost = 2;
		return 0;
	}
	mq_fate(&q->cfg, &n, MQ_EV_REACHED, now, &v);
	if (v.fate != MQ_FATE_CLAIM) {
		if (mq_settle(q, dir, name, &v, NULL, 0) < 0 &&
		    errno != ENOENT && errno != ESTALE)
			return -1;
		return 0;
	}
	if ((r = take(q, dir, name, &n, now + timeout_ms, owner, out)) == 0) {
		/* A waiting message no more: its key lets go (key.c). */
		if (n.key[0])
			mq_key_claimed(q, n.key, dir, name, out->name);
		return 1;
	}
	if (r == -2)
		return 0;
	if (errno != ENOENT)
		return -1;
	*lost = 1;
	return 0;
}

/*
 * Claim from the index (index.c) while it lasts: no scan at all.  Gives up
 * after a run of names that were gone or not yet visible, so that a stale
 * index costs a bounded number of fstatat before the full scan.
 */
static int
claim_indexed(struct mq_queue *q, struct mq_index *ix, size_t max,
    long long now, long long timeout_ms, pid_t owner, struct mq_claim *out,
    size_t *got, long long *due)
{
	const char *name;
	size_t useless = 0;
	int r, lost;

	while (*got < max && useless < 256 &&
	    (ix->want = max - *got, name = mq_index_next(ix)) != NULL) {
		r = consider(q, MQ_NEW, name, now, timeout_ms, owner, due,
		    &out[*got], &lost);
		if (r < 0)
			return -1;
		if (r == 1)
			(*got)++;
		else
			useless++;
	}
	return 0;
}

/* What one claim call works with. */
struct claimer {
	struct mq_queue *q;
	size_t max, got;
	long long now, timeout_ms, due;
	pid_t owner;
	struct mq_claim *out;
	struct mq_sweep sweep;	/* what it saw of cur/ (sweep.c) */
	size_t curleft;		/* entries of cur/ not yet looked at */
};

/*
 * A claim in cur/ that may be due at due (0: unknown), owned by owner: what
 * the note of cur/ keeps (sweep.c).
 */
static void
seen(struct claimer *k, long long due, const char *owner)
{
	mq_soonest(&k->sweep.next, due);
	mq_sweep_owner(&k->sweep, owner);
}

/* An entry of cur/ that was not for us. */
static void
seen_entry(struct claimer *k, const char *name, long long due, int lost)
{
	struct mq_name n;

	if (lost == 2 || mq_name_parse(name, &n) < 0)
		k->sweep.spoilt = 1;
	else
		seen(k, due, n.owner);
}

/*
 * Walk a scan in id order.  Pass 0 goes in order, but after losing a race
 * it jumps a short random distance ahead, so that concurrent claimers
 * spread out instead of all fighting for the head; pass 1 takes what was
 * jumped.  Only the head is sorted (*sorted entries) unless the claim runs
 * past it.
 */
static int
claim_scanned(struct claimer *k, struct mq_scan *s, unsigned char *tried,
    size_t *sorted)
{
	size_t i, pass;
	long long due;
	int r, lost;

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
			r = consider(k->q, s->e[i].dir, mq_scan_name(s, i), k->now,
			    k->timeout_ms, k->owner, &due, &k->out[k->got],
			    &lost);
			if (r < 0)
				return -1;
			mq_soonest(&k->due, due);
			if (s->e[i].dir == MQ_CUR) {
				k->curleft--;
				if (r == 0)
					seen_entry(k, mq_scan_name(s, i), due,
					    lost);
			}
			if (r == 1)
				k->got++;
			else if (lost && pass == 0 && s->n - i > 2)
				i += arc4random_uniform(s->n - i - 1 < 8 ?
				    (uint32_t)(s->n - i - 1) : 8);
		}
	}
	return 0;
}

/*
 * Leave the next names of new/, in order, for the next claimers: all from
 * the skip-th on, the first skip being ours to try.  Written before our
 * claims, so that claimers waiting for this scan (index.c) go on at once
 * instead of after them; where we lose a race and go further, we race
 * them for names, as scanners do.
 */
static void
index_ahead(struct claimer *k, struct mq_scan *s, size_t skip, size_t sorted)
{
	const char **idx;
	size_t i, n;

	if ((idx = reallocarray(NULL, MQ_INDEX_MAX, sizeof(*idx))) == NULL)
		return;
	if (sorted > s->n)
		sorted = s->n;
	for (i = n = 0; i < sorted && n < MQ_INDEX_MAX; i++) {
		if (s->e[i].dir != MQ_NEW)
			continue;
		if (skip > 0)
			skip--;
		else
			idx[n++] = mq_scan_name(s, i);
	}
	mq_index_write(k->q, idx, n, k->now);
	free(idx);
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
	size_t nnew, sorted, passed, need = k->max - k->got;
	int rc = -1, sweep;

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
	sorted = k->max + MQ_INDEX_MAX + 256;
	mq_scan_sort_head(&s, sorted);
	if (s.n && (tried = calloc(s.n, 1)) == NULL)
		goto out;
	if (nnew >= MQ_INDEX_MIN + need)
		index_ahead(k, &s, need, sorted);
	else if (ixstate >= 0)
		mq_index_drop(k->q);
	mq_index_close(ix);
	rc = claim_scanned(k, &s, tried, &sorted);
	if (rc == 0 && sweep && k->curleft == 0) {
		/* Ours, made in this call, are in cur/ too. */
		if (k->got > 0)
			seen(k, k->now + k->timeout_ms, k->out[0].n.owner);
		mq_sweep_write(k->q, &k->sweep);
	}
out:
	free(tried);
	mq_scan_free(&s);
	return rc;
}

int
mq_claim(struct mq_queue *q, size_t max, long long timeout_ms, pid_t owner,
    struct mq_claim *out, size_t *nout, long long *next_ms)
{
	struct claimer k = { .q = q, .max = max, .timeout_ms = timeout_ms,
		.owner = owner, .out = out, .now = mq_now_ms() };
	struct mq_index ix;
	int rc = 0, ixstate;

	*nout = 0;
	if (next_ms)
		*next_ms = 0;
	q->skiperr = 0;
	/* A paused queue gives nothing: the caller asks mq_paused why. */
	if ((rc = mq_paused(q)) != 0)
		return rc < 0 ? -1 : 0;
	ixstate = mq_index_open(q, &ix, k.now);
	if (ixstate == 1)
		rc = claim_indexed(q, &ix, max, k.now, timeout_ms, owner, out,
		    &k.got, &k.due);
	if (k.got < max && rc == 0 && ixstate >= 0 &&
	    !mq_index_scan_lock(q, &ix)) {
		/* Another claimer just scanned: take from its index. */
		mq_index_close(&ix);
		if ((ixstate = mq_index_open(q, &ix, k.now)) == 1)
			rc = claim_indexed(q, &ix, max, k.now, timeout_ms,
			    owner, out, &k.got, &k.due);
	}
	if (k.got < max && rc == 0)
		rc = claim_scan(&k, ixstate, &ix);
	mq_index_close(&ix);
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
	int lost;

	return consider(q, dir, name, mq_now_ms(), timeout_ms, owner, due, c,
	    &lost);
}
