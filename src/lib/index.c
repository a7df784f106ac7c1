/*
 * index.c: a hint that spares a claimer the full scan of a long new/.
 *
 * Reading a directory of 100k entries costs ~18 ms, of 1M ~190 ms, before
 * any sort; a one-shot mqget would pay that for every message.  So the
 * claimer that did a full scan of a long backlog leaves the next names of
 * new/ behind, in order, in QUEUE/.index:
 *
 *	mqindex1 CCCCCCCCCCCCC OOOOOOOOOOOO\n	created (ms), cursor (offset)
 *	NAME\n ...				in claim order: by level,
 *						then oldest first (mq_scan_cmp)
 *
 * Later claimers reserve the names they need from the cursor on: under a
 * lock of the index, they read the cursor and move it past their names
 * with a pwrite, then claim those names without the lock.  So concurrent
 * claimers take different names instead of racing for the same ones (they
 * did: each race lost counted as a useless name, and four loops of
 * mqget -n 1000 on one backlog scanned new/ nine times as often as one
 * loop and ran slower together than it alone).  When the index is spent,
 * one claimer scans and the others wait for its index instead of all
 * scanning at once.  Names reserved but not
 * claimed are left to the next full scan.  It is only a hint: new/ stays
 * the truth, the rename that claims is what decides, and nothing breaks if
 * the index is wrong, old, torn, missing or not lockable.  A name already
 * taken fails with ENOENT and costs one fstatat.  A group member who may
 * only read the index reads it from the cursor on without moving it, and
 * races as two scanners do.  Nothing is fsync'ed: a crash loses a hint, not a
 * message.  FIFO order holds because messages that arrive later have later
 * ids than every indexed name; urgent arrivals are named in urgent.c's hint,
 * which claimers read first, and the index leaves out the urgent names
 * that hint holds.  Messages the index does not know (released,
 * kicked, delayed ones, foreign maildir writers' names, expired claims in
 * cur/) are found by the next full scan, which happens when the index runs
 * out, when it is older than MQ_INDEX_MAX_AGE_MS, or after too many names
 * that were gone.  ls new/ and maildir writers see nothing new: the index
 * is a hidden file beside the directories.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mq-internal.h"

#define MAGIC "mqindex1 "
#define HDRLEN 36		/* magic, 13 digits, space, 12 digits, \n */
#define CURSOR_AT 23
#define INDEX ".index"
#define INDEX_NEW ".index.new"
#define RESERVE_WAIT_MS 5000	/* the cursor's lock is held for microseconds */
#define SCAN_WAIT_MS 10000	/* a scan of 1M names takes ~0.4 s */

/* 1 usable, 0 present but not usable (old, spent, garbage), -1 absent. */
int
mq_index_open(struct mq_queue *q, struct mq_index *ix, long long now)
{
	char hdr[HDRLEN + 1];
	struct stat st;
	long long made, cur;
	const char *e;
	int flags = O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;

	memset(ix, 0, sizeof(*ix));
	ix->fd = openat(q->fd, INDEX, O_RDWR | flags);
	if (ix->fd < 0 && errno == EACCES) {
		/* Another member's index in a group queue: read-only. */
		ix->fd = openat(q->fd, INDEX, O_RDONLY | flags);
		ix->rdonly = 1;
	}
	if (ix->fd < 0)
		return errno == ENOENT ? -1 : 0;
	if (fstat(ix->fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    pread(ix->fd, hdr, HDRLEN, 0) != HDRLEN ||
	    memcmp(hdr, MAGIC, sizeof(MAGIC) - 1) != 0 ||
	    hdr[22] != ' ' || hdr[HDRLEN - 1] != '\n')
		goto unusable;
	hdr[22] = hdr[HDRLEN - 1] = '\0';
	made = strtonum(hdr + sizeof(MAGIC) - 1, 0, 9999999999999LL, &e);
	if (e)
		goto unusable;
	cur = strtonum(hdr + CURSOR_AT, HDRLEN, 999999999999LL, &e);
	if (e || cur >= st.st_size || now - made > MQ_INDEX_MAX_AGE_MS ||
	    made > now + 1000)
		goto unusable;
	ix->bufoff = ix->end = cur;
	if (ix->rdonly)
		ix->end = st.st_size;
	return 1;
unusable:
	/* Kept open: its scan lock tells claimers who is scanning. */
	return 0;
}

/*
 * Two locks on the index, OFD byte-range locks so that one open file holds
 * both: byte 0 while a claimer moves the cursor, byte 1 while a claimer
 * scans new/ to write the next index.  Both go with the descriptor, so a
 * claimer that dies holding one holds it no longer.
 */
static int
lock(int fd, short type, off_t byte)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET,
		.l_start = byte, .l_len = 1 };

	return fcntl(fd, F_OFD_SETLK, &fl);
}

/*
 * Wait for a lock, but not for ever: a claimer stopped (^Z, SIGSTOP) while
 * holding one must not stop every other.  After wait_ms, -1 (ETIMEDOUT):
 * the caller goes on without it, as if the index could not be locked.
 */
static int
wait_lock(int fd, short type, off_t byte, long long wait_ms)
{
	struct timespec pause = { 0, 100000 };
	long long until = mq_now_ms() + wait_ms;

	for (;;) {
		if (lock(fd, type, byte) == 0)
			return 0;
		if (errno != EAGAIN && errno != EACCES)
			return -1;
		if (mq_now_ms() >= until) {
			errno = ETIMEDOUT;
			return -1;
		}
		nanosleep(&pause, NULL);
	}
}

/*
 * The index is spent or old: who scans?  Returns 1 if we should (we hold
 * the scan lock until mq_index_close), 0 if another claimer was scanning
 * and has finished: its index is the one to open now.
 */
int
mq_index_scan_lock(struct mq_queue *q, struct mq_index *ix)
{
	struct stat mine, now;

	if (ix->fd < 0)
		return 1;
	if (lock(ix->fd, F_WRLCK, 1) == 0) {
		/* A scanner that finished just before us left a new index. */
		if (fstat(ix->fd, &mine) == 0 && fstatat(q->fd, INDEX, &now,
		    AT_SYMLINK_NOFOLLOW) == 0 && (mine.st_ino != now.st_ino ||
		    mine.st_dev != now.st_dev))
			return 0;
		return 1;
	}
	if (errno != EAGAIN && errno != EACCES)
		return 1;
	/* Wait for the scanner; it writes the next index or drops it. */
	if (wait_lock(ix->fd, F_RDLCK, 1, SCAN_WAIT_MS) < 0)
		return 1;
	lock(ix->fd, F_UNLCK, 1);
	return 0;
}

/* Read on from the first unread name: 1, or 0 at the end (or a torn line). */
static int
refill(struct mq_index *ix)
{
	ssize_t r;

	ix->bufoff += (off_t)ix->pos;
	ix->pos = ix->len = 0;
	r = pread(ix->fd, ix->buf, sizeof(ix->buf), ix->bufoff);
	if (r <= 0)
		return 0;
	ix->len = (size_t)r;
	return memchr(ix->buf, '\n', ix->len) != NULL;
}

/*
 * Reserve the next ix->want names (at least one; as many as one buffer
 * holds): under the lock, read the cursor, read the names from there, move
 * the cursor past them.  Returns 1, or 0 when the index is spent.
 */
static int
reserve(struct mq_index *ix)
{
	char digits[13];
	const char *e, *p, *nl;
	long long cur;
	size_t n;
	int locked, ok = 0;

	locked = !ix->nolock &&
	    wait_lock(ix->fd, F_WRLCK, 0, RESERVE_WAIT_MS) == 0;
	if (!locked)
		ix->nolock = 1; /* do not wait again in this claim */
	if (pread(ix->fd, digits, 12, CURSOR_AT) != 12)
		goto out;
	digits[12] = '\0';
	cur = strtonum(digits, HDRLEN, 999999999999LL, &e);
	if (e)
		goto out;
	ix->bufoff = cur;
	ix->pos = 0;
	if (!refill(ix))
		goto out;
	for (p = ix->buf, n = 0; n < ix->want || n == 0; n++) {
		if ((nl = memchr(p, '\n', ix->len - (size_t)(p - ix->buf))) ==
		    NULL)
			break;
		p = nl + 1;
	}
	ix->end = ix->bufoff + (off_t)(p - ix->buf);
	snprintf(digits, sizeof(digits), "%012lld", (long long)ix->end);
	/* A failure only means that others retry these names. */
	(void)pwrite(ix->fd, digits, 12, CURSOR_AT);
	ok = 1;
out:
	if (locked)
		lock(ix->fd, F_UNLCK, 0);
	return ok;
}

/* The next name reserved for us, or NULL when the index is spent. */
const char *
mq_index_next(struct mq_index *ix)
{
	char *nl, *name;

	for (;;) {
		if (ix->fd < 0)
			return NULL;
		if (ix->bufoff + (off_t)ix->pos >= ix->end) {
			if (ix->rdonly || !reserve(ix))
				return NULL;
			continue;
		}
		nl = memchr(ix->buf + ix->pos, '\n', ix->len - ix->pos);
		if (nl == NULL) {
			if (!ix->rdonly || !refill(ix))
				return NULL; /* a torn or endless line */
			continue;
		}
		*nl = '\0';
		name = ix->buf + ix->pos;
		ix->pos = (size_t)(nl - ix->buf) + 1;
		/* Written by anyone in the group: trust no name. */
		if (name[0] != '.' && strlen(name) <= MQ_NAME_MAX &&
		    mq_name_safe(name))
			return name;
	}
}

/* Done with the index: what we reserved and did not take is skipped. */
void
mq_index_close(struct mq_index *ix)
{
	if (ix->fd < 0)
		return;
	close(ix->fd);
	ix->fd = -1;
}

/* Remove the index: the backlog is short, a full scan is cheap. */
void
mq_index_drop(struct mq_queue *q)
{
	unlinkat(q->fd, INDEX, 0);
}

/*
 * A hidden hint file (.index, .cur) is written to a fresh file, then
 * renamed over the old one, so that a reader sees one or the other, whole.
 * mq_hint_create opens the fresh file (-1 if another claimer is writing
 * one; a leftover of one that died, older than a few seconds, is removed
 * for next time); mq_hint_commit closes it and renames it over name if ok,
 * else removes it.  Failures are ignored: without the hint, the next
 * claimer scans.
 */
int
mq_hint_create(struct mq_queue *q, const char *tmp, long long now)
{
	struct stat st;
	int fd;

	/* A group queue's hints must take every member's updates. */
	fd = openat(q->fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, q->fmode & 0070 ? 0660 : 0600);
	if (fd < 0 && errno == EEXIST && fstatat(q->fd, tmp, &st,
	    AT_SYMLINK_NOFOLLOW) == 0 && mq_mtime_ms(&st) < now - 10 * 1000)
		unlinkat(q->fd, tmp, 0);
	return fd;
}

void
mq_hint_commit(struct mq_queue *q, int fd, int ok, const char *tmp,
    const char *name)
{
	if (close(fd) < 0 || !ok || renameat(q->fd, tmp, q->fd, name) < 0)
		unlinkat(q->fd, tmp, 0);
}

/* Write names (in order) as the new index. */
void
mq_index_write(struct mq_queue *q, const char *const *names, size_t n,
    long long now)
{
	char hdr[HDRLEN + 1], *buf;
	size_t len = HDRLEN, i, l, cap = 65536;
	int fd, ok;

	if ((fd = mq_hint_create(q, INDEX_NEW, now)) < 0)
		return;
	if ((buf = malloc(cap)) == NULL) {
		mq_hint_commit(q, fd, 0, INDEX_NEW, INDEX);
		return;
	}
	snprintf(hdr, sizeof(hdr), "%s%013lld %012d\n", MAGIC, now, HDRLEN);
	memcpy(buf, hdr, HDRLEN);
	ok = 1;
	for (i = 0; i < n && ok; i++) {
		l = strlen(names[i]);
		if (len + l + 1 > cap) {
			ok = mq_write_all(fd, buf, len) == 0;
			len = 0;
		}
		memcpy(buf + len, names[i], l);
		buf[len + l] = '\n';
		len += l + 1;
	}
	ok = ok && mq_write_all(fd, buf, len) == 0;
	free(buf);
	mq_hint_commit(q, fd, ok, INDEX_NEW, INDEX);
}

/*
 * Put the m smallest entries first, in order; the rest after them in no
 * order.  A claim needs the head of the queue, and a full sort of a million
 * names costs several times the selection.
 */
void
mq_scan_sort_head(struct mq_scan *s, size_t m)
{
	struct mq_entry *e = s->e, t;
	size_t lo = 0, hi, i, j;

	if (m >= s->n) {
		mq_scan_sort(s);
		return;
	}
	/* Quickselect with a random pivot: e[0..m) <= e[m..n). */
	hi = s->n;
	while (hi - lo > 1) {
		i = lo + arc4random_uniform((uint32_t)(hi - lo));
		t = e[i], e[i] = e[hi - 1], e[hi - 1] = t;
		for (i = j = lo; i < hi - 1; i++)
			if (mq_scan_cmp(&e[i], &e[hi - 1], s->buf) < 0) {
				t = e[i], e[i] = e[j], e[j] = t;
				j++;
			}
		t = e[j], e[j] = e[hi - 1], e[hi - 1] = t;
		if (j == m)
			break;
		if (j < m)
			lo = j + 1;
		else
			hi = j;
	}
	qsort_r(s->e, m, sizeof(*s->e), mq_scan_cmp, s->buf);
}

/* The rest of a head-sorted scan, from m on, in order too. */
void
mq_scan_sort_tail(struct mq_scan *s, size_t m)
{
	if (m < s->n)
		qsort_r(s->e + m, s->n - m, sizeof(*s->e), mq_scan_cmp,
		    s->buf);
}
