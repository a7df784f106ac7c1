/*
 * end.c: how a message ended and what its consumer answered, kept for
 * those who wait for it (mqwait, mqput -W; issue 20).
 *
 *	QUEUE/ends/ID		the end record of message ID: its first line
 *				says how it ended ("acknowledged", "dead
 *				REASON", "expired", "purged", "moved"); the
 *				bytes after that line are the result its
 *				consumer attached (mqack -R), if any
 *	QUEUE/ends/wait/ID	a waiter's registration: a FIFO on a local
 *				file system, an empty file on a network one
 *	QUEUE/ends/.NAME	records and results being written
 *
 * When a record is written (the cost rule, mq-spool(5)): only when it can
 * matter, never for a plain acknowledgement nobody waits for, which stays
 * as cheap as before: no system call more, as long as no one ever waited
 * on the queue (ends/wait/ does not exist; a process looks for it once a
 * second, MQ_WAITS_MS: a failed open(2) per end cost 4 us, 40% of an ack).
 * In the first second after the first waiter of a queue made ends/wait/,
 * consumers may not know of it: waiters then look for records every 100 ms
 * rather than count on a wake-up, and mqput -W waits that second before
 * its message becomes visible (wait.c).
 * Where ends/wait/ exists, an end tries to open ends/wait/ID (one that
 * deletes the message, before and after: see below).  A record
 * is written when a result is attached, when the message has a coalescing
 * key (its requesters are many and may come at any time), when a waiter is
 * registered for its id, or when the queue's record_ends is yes.
 *
 * Every end of a message goes through mq_settle (lease.c), which calls
 * mq_end_settled here once the message has left: so no end is missed.  A
 * waiter registers first and then looks for the message; an ender moves
 * the message first and then looks for registrations.  Whatever the
 * interleaving, a waiter that saw its message still there is seen by the
 * ender (the registration was made before the look, the look before the
 * move, the move before the ender's look), and so finds a record.  A
 * waiter that finds its message nowhere and no record waits
 * MQ_RENAME_GRACE_MS (a message may be between two directories) before it
 * says the outcome is unknown.
 *
 * An end that leaves the message nowhere in the queue (acknowledged with
 * keep_done = no, expired, purged) is recorded before it, if a waiter is
 * registered then or the message has a key (mq_end_before): the record
 * synced, the waiters woken, the unlink, and the record taken back if the
 * unlink fails; so an ender killed anywhere leaves the claim or the
 * record, never a waiter with an unknown outcome.  (A waiter that comes
 * between that look and the unlink is served after it, as above; a move
 * to another queue is recorded after it.)  Like a result's, such a record
 * may tell a waiter of an ack an instant before the claim goes, and stands
 * beside the claim if its ender is killed in between: the message is
 * delivered again (at least once) and its next end replaces the record.
 *
 * Push without inotify: the registration is a FIFO that every waiter holds
 * open for reading; the ender opens it for writing (O_NONBLOCK: never
 * blocks) and closes it after writing the record, which wakes every reader
 * at once with POLLHUP.  Any number of waiters, no inotify instance each
 * (fs.inotify.max_user_instances is 128 by default), and no CPU while
 * waiting.  On a network file system a FIFO does not cross hosts: there the
 * waiter looks for the record every poll interval (the queue's poll), as
 * mqwatch does for arrivals.
 *
 * A result is written first and durably (file fsync'ed, renamed into ends/,
 * ends/ fsync'ed), and only then is the claim acknowledged: a crash leaves
 * either no record and the claim, or the record with its result and the
 * claim gone or about to expire (delivered once more, at least once; its
 * next end replaces the record).
 *
 * Durable (RELIABILITY.md: success only once data and name are on disk):
 * a record is synced, before the end it tells of reports success, when it
 * is all that will be known of the end: a result, and the end of a message
 * deleted or moved away.  A record without a result of an end that leaves
 * the message in done/ or dead/ is not synced: that move is synced before
 * the ack reports success, and a waiter that finds no record learns the
 * same end from there (wait.c); such a record is written in place (one
 * file, no rename), and one cut short counts as none.  A plain ack nobody
 * waits for writes nothing and makes no system call more.
 *
 * Records are kept end_retention (1 day by default) after the end, whatever
 * keep_done says; mqreap removes older ones, the leftovers of writers
 * killed, and registrations no waiter has refreshed for as long.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mq-internal.h"

#define ENDS "ends"
#define WAIT "wait"
#define RECHECK_MS 10000	/* a waiter looks for its message this often */

const char *const mq_endnames[MQ_NENDS] = {
	[MQ_END_ACKED] = "acknowledged", [MQ_END_DEAD] = "dead",
	[MQ_END_EXPIRED] = "expired", [MQ_END_PURGED] = "purged",
	[MQ_END_MOVED] = "moved",
};

static int
fail(struct mq_queue *q, const char *id)
{
	return mq_obj_error(q, ENDS, id, NULL);
}

/* An id as mqput prints it: a safe name that is nothing but an id. */
int
mq_id_valid(const char *id)
{
	struct mq_name n;

	return mq_name_safe(id) && mq_name_parse(id, &n) == 0 &&
	    strcmp(n.id, id) == 0;
}

/*
 * What end a verdict is, if it is one: acknowledged, buried (TTL's
 * "expired" dead letter is expired), deleted (purged or expired), moved to
 * another queue.  A return to new/ or a claim is no end.
 */
static int
end_of(const struct mq_verdict *v, enum mq_outcome *e)
{
	switch (v->fate) {
	case MQ_FATE_DONE:
		*e = MQ_END_ACKED;
		return 1;
	case MQ_FATE_BURY:
		*e = v->reason && strcmp(v->reason, "expired") == 0 ?
		    MQ_END_EXPIRED : MQ_END_DEAD;
		return 1;
	case MQ_FATE_DELETE:
		*e = v->verb && strcmp(v->verb, "purge") == 0 ?
		    MQ_END_PURGED : MQ_END_EXPIRED;
		return 1;
	case MQ_FATE_RETURN:
		/* Every verdict is a row of fate.c's table: a move says "move". */
		*e = MQ_END_MOVED;
		return v->verb && strcmp(v->verb, "move") == 0;
	case MQ_FATE_CLAIM:
		break;
	}
	return 0;
}

/* fsync ends/ of the queue dfd. */
static int
sync_ends(struct mq_queue *q, int dfd, const char *id)
{
	int efd, r;

	if ((efd = mq_subdir(q, dfd, ENDS, 0)) < 0)
		return fail(q, id);
	r = mq_fsync(efd);
	close(efd);
	return r < 0 ? fail(q, id) : 0;
}

/*
 * Write a record that is not synced straight under its name, if no older
 * one is there (EEXIST: 0, the caller renames one over it): one write(2)
 * of its line, which a reader sees whole or not at all (the size grows
 * after the bytes are in); a record with no line yet is no record
 * (mq_end_read).  Saves the rename of the hidden name: 9 us of 25 on tmpfs.
 */
static int
in_place(struct mq_queue *q, int dfd, const char *to, const char *line,
    size_t n)
{
	int fd, r = 0, err;

	fd = openat(dfd, to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, q->fmode);
	if (fd < 0)
		return errno == EEXIST ? 0 : -1;
	if (mq_write_all(fd, line, n) < 0)
		r = -1;
	err = errno;
	if (close(fd) < 0 && r == 0) {
		r = -1;
		err = errno;
	}
	if (r < 0) {
		unlinkat(dfd, to, 0);
		errno = err;
		return -1;
	}
	return 1;
}

/*
 * Write ends/ID whole: under a hidden name, then renamed over any older
 * record (the latest end is the truth), or in place (above) when it is
 * neither synced nor has a result nor is there yet.  dfd is ends/, or the
 * queue with pre "ends/" (no directory to open on the way to a wake-up;
 * ends/ made if it is missing).  Synced when sync.  st gets the record's
 * identity, so that a failed end removes its own only.
 */
static int
record(struct mq_queue *q, int dfd, const char *pre, const char *id,
    enum mq_outcome e, const char *reason, const char *res, size_t len,
    int sync, struct stat *st)
{
	char tmp[64], to[MQ_NAME_MAX + 16], line[MQ_FIELD_MAX + 16];
	int fd, n, r = 0, err, again = *pre != '\0';

	if (reason == NULL)
		reason = "unknown";
	n = snprintf(line, sizeof(line), "%s%s%s\n", mq_endnames[e],
	    e == MQ_END_DEAD ? " " : "", e == MQ_END_DEAD ? reason : "");
	if ((size_t)snprintf(to, sizeof(to), "%s%s", pre, id) >= sizeof(to)) {
		errno = ENAMETOOLONG;
		return fail(q, id);
	}
retry:
	fd = -1;
	if (!sync && len == 0 && st == NULL &&
	    (r = in_place(q, dfd, to, line, (size_t)n)) != 0) {
		if (r > 0)
			return 0;
	} else {
		snprintf(tmp, sizeof(tmp), "%s.r%ld.%08x", pre,
		    (long)getpid(), arc4random());
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, q->fmode);
	}
	if (fd < 0 && errno == ENOENT && again &&
	    (fd = mq_subdir(q, dfd, ENDS, 1)) >= 0) {
		close(fd);
		again = 0;
		goto retry;
	}
	if (fd < 0)
		return fail(q, id);
	r = 0;
	if (mq_write_all(fd, line, (size_t)n) < 0 ||
	    (len > 0 && mq_write_all(fd, res, len) < 0) ||
	    (sync && mq_fsync(fd) < 0) || (st && fstat(fd, st) < 0))
		r = -1;
	err = errno;
	if (close(fd) < 0 && r == 0) {
		r = -1;
		err = errno;
	}
	if (r == 0 && renameat(dfd, tmp, dfd, to) < 0) {
		r = -1;
		err = errno;
	}
	if (r < 0) {
		unlinkat(dfd, tmp, 0);
		errno = err;
		return fail(q, id);
	}
	/* The record's name must survive a power cut like its data. */
	if (sync && *pre)
		return sync_ends(q, dfd, id);
	if (sync && mq_fsync(dfd) < 0)
		return fail(q, id);
	return 0;
}

/*
 * Is a waiter registered for id?  1 (*wake: the FIFO's write end, to close
 * once the record is written; -1 if none could be had), 0 if not.  A FIFO
 * nobody holds open yet (ENXIO), not ours to open, or one the file system
 * failed to open (EIO: maybe there) still counts.
 */
static int
registered(struct mq_queue *q, const char *id, int *wake)
{
	char path[MQ_NAME_MAX + 16];

	*wake = -1;
	if ((size_t)snprintf(path, sizeof(path), ENDS "/" WAIT "/%s", id) >=
	    sizeof(path))
		return 0;
	*wake = openat(q->fd, path, O_WRONLY | O_NONBLOCK | O_NOFOLLOW |
	    O_CLOEXEC);
	if (*wake >= 0)
		return 1;
	/* Only "no such registration" says nobody waits: a fault records. */
	return errno != ENOENT;
}

/*
 * Could anyone wait on q: does ends/wait/ exist?  Looked for at most once
 * every MQ_WAITS_MS by a process (see the top: the first waiter waits as
 * long before it looks), so that an end in a queue nobody waits on costs
 * no system call.
 */
static int
anyone_waits(struct mq_queue *q)
{
	long long now = mq_now_ms();
	struct stat st;

	if (q->waits_at == 0 || now - q->waits_at >= MQ_WAITS_MS) {
		/* Not knowing (EIO, ...) is "maybe": looked for per end. */
		q->waits = fstatat(q->fd, ENDS "/" WAIT, &st, 0) == 0 ||
		    errno != ENOENT;
		q->waits_at = now;
	}
	return q->waits;
}

/*
 * The end has its record: drop the waiters' registration, wake them.  A
 * FIFO that had no reader when it was looked at (ENXIO) may have one now
 * that read no record yet: opened again, so that closing it wakes them.
 * The close comes last: a waiter is often woken on the ender's CPU and
 * runs only once the ender stops (a waiter that registers after the
 * unlink makes a FIFO of its own and finds the record).
 */
static void
wake_all(struct mq_queue *q, const char *id, int wake)
{
	char path[MQ_NAME_MAX + 16];

	snprintf(path, sizeof(path), ENDS "/" WAIT "/%s", id);
	if (wake < 0)
		wake = openat(q->fd, path, O_WRONLY | O_NONBLOCK |
		    O_NOFOLLOW | O_CLOEXEC);
	unlinkat(q->fd, path, 0);
	if (wake >= 0)
		close(wake);
}

/*
 * Does the end leave the message where a waiter finds it (done/, dead/)?
 * Then its record can be rebuilt from it (wait.c) and need not be synced;
 * a message deleted, or moved to another queue, leaves nothing else.
 */
static int
leaves_trace(const struct mq_queue *q, const struct mq_verdict *v)
{
	return v->fate == MQ_FATE_BURY ||
	    (v->fate == MQ_FATE_DONE && q->cfg.keep_done);
}

/*
 * mq_settle's one call: message n left dir by verdict v.  A record if the
 * rule asks for one (see the top); a failure here costs a waiter only an
 * "outcome unknown", never the end itself, which has happened: not
 * reported.  What leaves done/ or dead/ (retention, a purge, a move of
 * dead letters) ended before: its record stays as it was.  The record is
 * written before the waiters are woken, and the wake-up is the last step
 * before them: nothing more of the ender's stands in their way.
 */
void
mq_end_settled(struct mq_queue *q, enum mq_dir dir, const struct mq_name *n,
    const struct mq_verdict *v)
{
	enum mq_outcome e;
	int wake, known, reg, sync;

	if (dir == MQ_DONE || dir == MQ_DEAD || !end_of(v, &e))
		return;
	if (v->recorded) {	/* written before the end (a result, ...) */
		if (anyone_waits(q) && registered(q, n->id, &wake))
			wake_all(q, n->id, wake);
		return;
	}
	sync = q->cfg.sync && !leaves_trace(q, v);
	/* Known beforehand: written before the registrations are looked at. */
	known = n->key[0] != '\0' || q->cfg.record_ends;
	if (known)
		record(q, q->fd, ENDS "/", n->id, e, v->reason, NULL, 0, sync,
		    NULL);
	reg = anyone_waits(q) && registered(q, n->id, &wake);
	if (reg && !known)
		record(q, q->fd, ENDS "/", n->id, e, v->reason, NULL, 0, sync,
		    NULL);
	if (reg)
		wake_all(q, n->id, wake);
}

/*
 * Before n leaves dir by verdict v, an end that leaves no trace (deleted:
 * acknowledged with keep_done = no, expired, purged): if its end is to be
 * recorded (a key, record_ends, a waiter registered), the record first,
 * synced, and the waiters woken, as for a result; so an ender killed
 * between its unlink and its record cannot leave a waiter with an unknown
 * outcome.  1 with the record made (p->efd is ends/: mq_end_made after
 * the unlink, mq_end_unmade if it failed), 0 if none is due, -1 if it
 * could not be made (the end must not happen: a waiter depends on it).
 * A waiter that registers after this look is served after the unlink
 * (mq_end_settled), unsynced only if it came in between.
 */
int
mq_end_before(struct mq_queue *q, enum mq_dir dir, const struct mq_name *n,
    const struct mq_verdict *v, struct mq_prerec *p)
{
	enum mq_outcome e;
	int wake = -1, r;

	p->efd = -1;
	if (dir == MQ_DONE || dir == MQ_DEAD || v->recorded || !end_of(v, &e) ||
	    leaves_trace(q, v))
		return 0;
	if (n->key[0] == '\0' && !q->cfg.record_ends &&
	    !(anyone_waits(q) && registered(q, n->id, &wake)))
		return 0;
	if ((p->efd = mq_subdir(q, q->fd, ENDS, 1)) < 0)
		r = fail(q, NULL);
	else
		r = record(q, p->efd, "", n->id, e, v->reason, NULL, 0,
		    q->cfg.sync, &p->mine);
	if (wake >= 0)
		close(wake);
	if (r < 0) {
		if (p->efd >= 0)
			close(p->efd);
		p->efd = -1;
		return -1;
	}
	p->id = n->id;
	return 1;
}

/* The end happened: v, recorded (the waiters are woken after it). */
const struct mq_verdict *
mq_end_made(struct mq_prerec *p, const struct mq_verdict *v)
{
	if (p->efd < 0)
		return v;
	close(p->efd);
	p->efd = -1;
	p->v = *v;
	p->v.recorded = 1;
	return &p->v;
}

/* The end did not happen: the record goes, if still ours; errno kept. */
void
mq_end_unmade(struct mq_prerec *p)
{
	int e = errno;

	if (p->efd < 0)
		return;
	mq_end_unrecord(p->efd, p->id, &p->mine);
	close(p->efd);
	p->efd = -1;
	errno = e;
}

/*
 * Read fd to its end, at most max bytes (0: no limit): EFBIG beyond.  *buf
 * is malloc'ed (NULL when empty).  whole: fd is a file that no one writes
 * any more (an end record, renamed into place whole), so a short read is
 * its end (read(2) on a regular file), and the read that returns 0 is not
 * made: one system call less between a waiter's wake-up and its answer.
 */
static int
slurp(int fd, long long max, int whole, char **buf, size_t *len)
{
	size_t cap = 0;
	char *nb;
	ssize_t r;

	*buf = NULL;
	*len = 0;
	for (;;) {
		if (cap - *len < 65536) {
			cap = cap ? cap * 2 : 65536;
			if ((nb = realloc(*buf, cap)) == NULL)
				goto fail;
			*buf = nb;
		}
		r = read(fd, *buf + *len, cap - *len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		*len += (size_t)r;
		if (max > 0 && (long long)*len > max) {
			errno = EFBIG;
			goto fail;
		}
		if (whole && *len < cap)
			break;
	}
	if (*len == 0) {
		free(*buf);
		*buf = NULL;
	}
	return 0;
fail:
	free(*buf);
	*buf = NULL;
	*len = 0;
	return -1;
}

/* Read a result from fd (a pipe, a file), at most max bytes: see slurp. */
int
mq_result_read(int fd, long long max, char **buf, size_t *len)
{
	return slurp(fd, max, 0, buf, len);
}


/*
 * The end record of the live claim n, about to meet verdict v (an ack),
 * with its result, durable: made before the claim's move (see the top for
 * why this order).  Returns the descriptor of ends/ for mq_end_unrecord,
 * or -1.
 */
int
mq_end_record(struct mq_queue *q, const struct mq_name *n,
    const struct mq_verdict *v, const char *res, size_t len,
    struct stat *mine)
{
	enum mq_outcome e;
	int efd;

	if (!end_of(v, &e) || !v->live) {
		errno = EINVAL;
		return fail(q, n->id);
	}
	if ((efd = mq_subdir(q, q->fd, ENDS, 1)) < 0)
		return fail(q, NULL);
	if (record(q, efd, "", n->id, e, v->reason, res, len, q->cfg.sync,
	    mine) < 0) {
		close(efd);
		return -1;
	}
	return efd;
}

/* The move failed (the claim went stale): its record goes, if still ours. */
void
mq_end_unrecord(int efd, const char *id, const struct stat *mine)
{
	struct stat st;

	if (fstatat(efd, id, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_ino == mine->st_ino && st.st_dev == mine->st_dev)
		(void)unlinkat(efd, id, 0);
}


/*
 * mqwatch's handlers leave a result in ends/.result.PID.SLOT (MQ_RESULT):
 * the path for a handler in slot, any leftover of an earlier one removed.
 */
int
mq_result_path(struct mq_queue *q, unsigned slot, char *path, size_t len)
{
	char name[64];
	int efd;

	if ((efd = mq_subdir(q, q->fd, ENDS, 1)) < 0)
		return fail(q, NULL);
	snprintf(name, sizeof(name), ".result.%ld.%u", (long)getpid(), slot);
	if (unlinkat(efd, name, 0) < 0 && errno != ENOENT) {
		close(efd);
		return fail(q, name);
	}
	close(efd);
	if ((size_t)snprintf(path, len, "%s/" ENDS "/%s", q->path, name) >=
	    len) {
		errno = ENAMETOOLONG;
		return fail(q, name);
	}
	return 0;
}

/*
 * The result the handler in slot left, removed from ends/: 1 with *buf (a
 * result, maybe empty), 0 if it left none, -1 on an error (EFBIG: larger
 * than max_size).
 */
int
mq_result_take(struct mq_queue *q, unsigned slot, char **buf, size_t *len)
{
	char name[64];
	int efd, fd, r;

	*buf = NULL;
	*len = 0;
	if ((efd = mq_subdir(q, q->fd, ENDS, 0)) < 0)
		return errno == ENOENT ? 0 : fail(q, NULL);
	snprintf(name, sizeof(name), ".result.%ld.%u", (long)getpid(), slot);
	fd = openat(efd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		r = errno == ENOENT ? 0 : fail(q, name);
		close(efd);
		return r;
	}
	r = mq_result_read(fd, q->cfg.max_size, buf, len) < 0 ?
	    fail(q, name) : 1;
	close(fd);
	unlinkat(efd, name, 0);
	close(efd);
	return r;
}


void
mq_ended_free(struct mq_ended *e)
{
	free(e->result);
	e->result = NULL;
	e->len = 0;
}

/*
 * Read ends/ID into out: 1 (out->result malloc'ed, or NULL), 0 when there
 * is no record, -1 on an error (EINVAL: not a record).
 */
int
mq_end_read(struct mq_queue *q, int efd, const char *id, struct mq_ended *out)
{
	char *buf, *nl, *sp;
	size_t len, n;
	int fd, i;

	memset(out, 0, sizeof(*out));
	fd = openat(efd, id, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : fail(q, id);
	i = slurp(fd, q->cfg.max_size > 0 ? q->cfg.max_size + MQ_FIELD_MAX +
	    16 : 0, 1, &buf, &len);
	close(fd);
	if (i < 0)
		return fail(q, id);
	/* Empty or without its line yet (written in place): none yet. */
	if (buf == NULL || (nl = memchr(buf, '\n', len)) == NULL) {
		free(buf);
		return 0;
	}
	*nl = '\0';
	if ((sp = strchr(buf, ' ')) != NULL)
		*sp++ = '\0';
	for (i = 0; i < MQ_NENDS; i++)
		if (strcmp(buf, mq_endnames[i]) == 0)
			break;
	if (i == MQ_NENDS || (sp != NULL) != (i == MQ_END_DEAD) ||
	    (sp && strlcpy(out->reason, sp, sizeof(out->reason)) >=
	    sizeof(out->reason)))
		goto bad;
	out->end = (enum mq_outcome)i;
	out->recorded = 1;
	n = len - (size_t)(nl + 1 - buf);
	if (n > 0) {
		memmove(buf, nl + 1, n);
		out->result = buf;
		out->len = n;
	} else
		free(buf);
	return 1;
bad:
	free(buf);
	errno = EINVAL;
	return fail(q, id);
}

/* Registrations a live waiter has not refreshed for this long are stale. */
#define WAIT_MAX_AGE_MS (60LL * RECHECK_MS)

/* ends/wait/: registrations no waiter refreshed. */
static void
reap_waits(struct mq_queue *q, struct mq_reaper *r, int efd, long long now)
{
	char name[MQ_NAME_MAX + 8];
	struct dirent *d;
	struct stat st;
	DIR *dp;
	int wfd;

	if ((wfd = mq_subdir(q, efd, WAIT, 0)) < 0)
		return;
	if ((dp = fdopendir(wfd)) == NULL) {
		close(wfd);
		return;
	}
	while ((d = readdir(dp)) != NULL) {
		if (d->d_name[0] == '.' || fstatat(wfd, d->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) < 0 ||
		    mq_mtime_ms(&st) + WAIT_MAX_AGE_MS > now)
			continue;
		if (!r->dryrun && unlinkat(wfd, d->d_name, 0) < 0)
			continue;
		snprintf(name, sizeof(name), WAIT "/%s", d->d_name);
		r->act(r, "unwait", MQ_ENDS, name, MQ_ENDS, NULL,
		    "no waiter for 10 minutes");
	}
	closedir(dp);
}

/*
 * One entry of ends/: a record older than end_retention (its mtime is its
 * end) is forgotten; a hidden leftover of a writer killed goes after
 * maildir's 36 hours, as tmp/'s do (a handler may still be writing one).
 */
static void
reap_end(struct mq_queue *q, struct mq_reaper *r, int efd, const char *name,
    long long now)
{
	struct stat st;
	long long at;
	int hidden = name[0] == '.';

	if (fstatat(efd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(st.st_mode))
		return;
	if (!hidden && q->cfg.end_retention_ms == 0)
		return;
	at = mq_mtime_ms(&st) + (hidden ? MQ_TMP_MAX_AGE_MS :
	    q->cfg.end_retention_ms);
	if (at > now) {
		mq_soonest(&r->due, at);
		return;
	}
	if (!r->dryrun && unlinkat(efd, name, 0) < 0) {
		if (errno != ENOENT) {
			fail(q, name);
			r->error(r);
		}
		return;
	}
	r->act(r, hidden ? "remove" : "forget", MQ_ENDS, name, MQ_ENDS, NULL,
	    hidden ? "left by a writer killed" : "past end_retention");
	if (!hidden)
		r->c.ends++;
}

/* mqreap's pass over ends/ (made on first use: often there is none). */
void
mq_end_reap(struct mq_queue *q, struct mq_reaper *r, long long now)
{
	struct dirent *d;
	DIR *dp;
	int efd;

	if ((efd = mq_subdir(q, q->fd, ENDS, 0)) < 0) {
		if (errno != ENOENT) {
			fail(q, NULL);
			r->error(r);
		}
		return;
	}
	if ((dp = mq_fd_opendir(efd)) == NULL) {
		fail(q, NULL);
		r->error(r);
		close(efd);
		return;
	}
	while ((d = readdir(dp)) != NULL)
		if (strcmp(d->d_name, WAIT) == 0)
			reap_waits(q, r, efd, now);
		else if (strcmp(d->d_name, ".") != 0 &&
		    strcmp(d->d_name, "..") != 0)
			reap_end(q, r, efd, d->d_name, now);
	closedir(dp);
	close(efd);
}
