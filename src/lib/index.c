/*
 * index.c: a hint that spares a claimer the full scan of a long new/.
 *
 * Reading a directory of 100k entries costs ~18 ms, of 1M ~190 ms, before
 * any sort; a one-shot mqget would pay that for every message.  So the
 * claimer that did a full scan of a long backlog leaves the next names of
 * new/ behind, in order, in QUEUE/.index:
 *
 *	mqindex1 CCCCCCCCCCCCC OOOOOOOOOOOO\n	created (ms), cursor (offset)
 *	NAME\n ...				oldest first
 *
 * Later claimers take names from the cursor on and move the cursor with a
 * pwrite.  It is only a hint: new/ stays the truth, the rename that claims
 * is what decides, and nothing breaks if the index is wrong, old, torn or
 * missing.  A name already taken fails with ENOENT and costs one fstatat;
 * two claimers that read the same cursor race for the same name exactly as
 * two scanners do.  Nothing is fsync'ed: a crash loses a hint, not a
 * message.  FIFO order holds because messages that arrive later have later
 * ids than every indexed name.  Messages the index does not know (released,
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
#include <unistd.h>

#include "mq-internal.h"

#define MAGIC "mqindex1 "
#define HDRLEN 36		/* magic, 13 digits, space, 12 digits, \n */
#define CURSOR_AT 23
#define INDEX ".index"
#define INDEX_NEW ".index.new"

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
	ix->cur = ix->saved = cur;
	ix->bufoff = cur;
	return 1;
unusable:
	close(ix->fd);
	ix->fd = -1;
	return 0;
}

/* The next name from the cursor on, or NULL when the index is spent. */
const char *
mq_index_next(struct mq_index *ix)
{
	char *nl, *name;
	ssize_t r;

	for (;;) {
		if (ix->fd < 0)
			return NULL;
		nl = memchr(ix->buf + ix->pos, '\n', ix->len - ix->pos);
		if (nl == NULL) {
			/* Refill from the first unread name. */
			ix->bufoff += (off_t)ix->pos;
			ix->pos = ix->len = 0;
			r = pread(ix->fd, ix->buf, sizeof(ix->buf), ix->bufoff);
			if (r <= 0)
				return NULL;
			ix->len = (size_t)r;
			if (memchr(ix->buf, '\n', ix->len) == NULL)
				return NULL; /* a torn or endless line */
			continue;
		}
		*nl = '\0';
		name = ix->buf + ix->pos;
		ix->pos = (size_t)(nl - ix->buf) + 1;
		ix->cur = ix->bufoff + (off_t)ix->pos;
		/* Written by anyone in the group: trust no name. */
		if (name[0] != '.' && strlen(name) <= MQ_NAME_MAX &&
		    mq_name_safe(name))
			return name;
	}
}

/* Save the cursor for the next claimer and close. */
void
mq_index_close(struct mq_index *ix)
{
	char digits[13];

	if (ix->fd < 0)
		return;
	if (!ix->rdonly && ix->cur != ix->saved) {
		snprintf(digits, sizeof(digits), "%012lld", (long long)ix->cur);
		/* A failure only means that the next claimer retries names. */
		(void)pwrite(ix->fd, digits, 12, CURSOR_AT);
	}
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
 * Write names (in order) as the new index: to a fresh file, then renamed
 * over the old one, so that a reader sees one index or the other, whole.
 * Failures are ignored: without an index, the next claimer scans.
 */
void
mq_index_write(struct mq_queue *q, const char *const *names, size_t n,
    long long now)
{
	char hdr[HDRLEN + 1], *buf;
	size_t len = HDRLEN, i, l, cap = 65536;
	struct stat st;
	mode_t mode;
	int fd, ok;

	/* A group queue's index must take every member's cursor. */
	mode = q->fmode & 0070 ? 0660 : 0600;
	fd = openat(q->fd, INDEX_NEW, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, mode);
	if (fd < 0) {
		/*
		 * Another claimer is writing one, or one died writing: a
		 * leftover older than a few seconds is removed for next time.
		 */
		if (errno == EEXIST && fstatat(q->fd, INDEX_NEW, &st,
		    AT_SYMLINK_NOFOLLOW) == 0 &&
		    mq_mtime_ms(&st) < now - 10 * 1000)
			unlinkat(q->fd, INDEX_NEW, 0);
		return;
	}
	if ((buf = malloc(cap)) == NULL)
		goto fail;
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
	if (close(fd) < 0 || !ok ||
	    renameat(q->fd, INDEX_NEW, q->fd, INDEX) < 0)
		unlinkat(q->fd, INDEX_NEW, 0);
	return;
fail:
	close(fd);
	unlinkat(q->fd, INDEX_NEW, 0);
}

static int
cmp(const void *a, const void *b, void *buf)
{
	const struct mq_entry *x = a, *y = b;

	return strcmp((char *)buf + x->off, (char *)buf + y->off);
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
	const char *pv;

	if (m >= s->n) {
		qsort_r(s->e, s->n, sizeof(*s->e), cmp, s->buf);
		return;
	}
	/* Quickselect with a random pivot: e[0..m) <= e[m..n). */
	hi = s->n;
	while (hi - lo > 1) {
		i = lo + arc4random_uniform((uint32_t)(hi - lo));
		t = e[i], e[i] = e[hi - 1], e[hi - 1] = t;
		pv = s->buf + e[hi - 1].off;
		for (i = j = lo; i < hi - 1; i++)
			if (strcmp(s->buf + e[i].off, pv) < 0) {
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
	qsort_r(s->e, m, sizeof(*s->e), cmp, s->buf);
}

/* The rest of a head-sorted scan, from m on, in order too. */
void
mq_scan_sort_tail(struct mq_scan *s, size_t m)
{
	if (m < s->n)
		qsort_r(s->e + m, s->n - m, sizeof(*s->e), cmp, s->buf);
}
