/*
 * urgent.c: the hint of urgent arrivals, QUEUE/.urgent (priorities: the
 * level itself, its field and claim order are naming.c's and scan.c's).
 *
 * An urgent message (level < 5) that arrives after the last full scan is in
 * no index, and a claimer of a long backlog does not scan: so its name is
 * also appended to the hint QUEUE/.urgent, which claimers read before the
 * index (claim.c).  The hint is meant to hold every urgent message of
 * new/; the full scan that writes the index rewrites it with the urgent
 * names it saw (plus those appended since), and the index then holds only
 * the other levels, so "the hint, then the index" is (level, id) order:
 *
 *	NAME[ DUE]\n ...	urgent names, in no order (claimers sort);
 *				DUE: a delayed one's time (ms), before which
 *				claimers pass it by without a stat
 *	.\n			a producer found it full: names are missing,
 *				claimers scan (which rewrites it)
 *	.all\n			(first line) more urgent messages waited
 *				than it holds: the index holds them all,
 *				in order, and claimers ignore the names
 *
 * Producers append under a shared flock, a claimer rewrites (dropping the
 * names it took or found gone, or after a scan) under an exclusive one, so
 * that no name appended meanwhile is lost.  Nothing is fsync'ed: new/ is
 * the truth.  The races, all bounded by the next full scan (at most
 * MQ_INDEX_MAX_AGE_MS with an index, at once without): a crash that loses
 * an append; a lock not had in time (a stopped process holds it); an
 * urgent message that enters new/ by hand (a maildir writer's ",p1").
 * A delayed urgent message stays in the hint until it is due (if its
 * mtime is changed by hand, the hint's time holds till the next full
 * scan).  With no urgent message ever put the file does not exist: a
 * claim pays one failed openat.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mq-internal.h"

#define URGENT ".urgent"
#define URGENT_BYTES 32768	/* then "full": about 300 names */
#define URGENT_NAMES 256	/* a scan that sees more writes ".all" */
#define LOCK_WAIT_MS 200	/* a lock is held for microseconds */

/* A flock, waited for LOCK_WAIT_MS at most (a stopped holder). */
static int
flock_wait(int fd, int op)
{
	struct timespec pause = { 0, 100000 };
	long long until = mq_now_ms() + LOCK_WAIT_MS;

	while (flock(fd, op | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		if (mq_now_ms() >= until)
			return -1;
		nanosleep(&pause, NULL);
	}
	return 0;
}

static int
urgent_create(struct mq_queue *q, int flags)
{
	/* A group queue's hint must take every member's appends. */
	return openat(q->fd, URGENT, flags | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC | O_NONBLOCK, q->fmode & 0070 ? 0660 : 0600);
}

/*
 * Append "NAME[ DUE]\n" to buf (DUE: when a delayed message is due, ms, so
 * that claimers pass it by without a stat until then); 0 if it does not
 * fit in size.
 */
static size_t
line(char *buf, size_t size, const char *name, long long at)
{
	char d[24];
	size_t l = strlen(name), dl = 0, i = sizeof(d);

	if (at > mq_now_ms()) {
		do
			d[--i] = (char)('0' + at % 10);
		while ((at /= 10) > 0);
		d[--i] = ' ';
		dl = sizeof(d) - i;
	}
	if (l + dl + 1 > size)
		return 0;
	memcpy(buf, name, l);
	memcpy(buf + l, d + i, dl);
	buf[l + dl] = '\n';
	return l + dl + 1;
}

/*
 * Names that just entered new/ (visible at at[i], or at once if at is
 * NULL): the urgent ones are appended to the hint, in one write (a put of
 * a batch), or, if it is full, the mark that names are missing.  Failures
 * are ignored: the next full scan finds them.
 */
void
mq_urgent_note(struct mq_queue *q, const char *const *names,
    const long long *at, size_t n)
{
	char buf[4096];
	struct stat st;
	size_t i, len = 0, l;
	int fd;

	for (i = 0; i < n; i++)
		if (mq_level_of(names[i]) < MQ_LEVEL_DEFAULT)
			break;
	if (i == n || (fd = urgent_create(q, O_WRONLY | O_APPEND)) < 0)
		return;
	if (flock_wait(fd, LOCK_SH) < 0 || fstat(fd, &st) < 0 ||
	    !S_ISREG(st.st_mode) || st.st_size >= URGENT_BYTES)
		goto out;
	for (; i < n; i++) {
		if (mq_level_of(names[i]) >= MQ_LEVEL_DEFAULT)
			continue;
		l = line(buf + len, sizeof(buf) - len, names[i],
		    at ? at[i] : 0);
		if (l == 0 || st.st_size + (off_t)(len + l) >= URGENT_BYTES) {
			/* Too many at once, or full: say names are missing. */
			memcpy(buf, ".\n", 2);
			len = 2;
			break;
		}
		len += l;
	}
	(void)mq_write_all(fd, buf, len);
out:
	close(fd);		/* and its lock */
}

/* One message that entered new/ (a release, a kick, a move): as above. */
void
mq_urgent_named(struct mq_queue *q, const struct mq_name *n, long long at)
{
	char name[MQ_NAME_MAX + 1];
	const char *p = name;

	if (mq_level(n) < MQ_LEVEL_DEFAULT &&
	    mq_name_format(name, sizeof(name), n) == 0)
		mq_urgent_note(q, &p, &at, 1);
}

/* The hint as read: names, their due times, its state (h->fd unused). */
static void
hint_free(struct mq_urgent *h)
{
	mq_scan_free(&h->s);
	free(h->due);
	free(h->dead);
	h->due = NULL;
	h->dead = NULL;
	h->ndue = 0;
}

/* A name's line: "NAME" or "NAME DUE"; 0 if it is no name. */
static int
hint_line(struct mq_urgent *h, char *p, size_t off)
{
	struct mq_entry *e;
	struct mq_due *d;
	char *sp = strchr(p, ' ');
	const char *err;
	long long at = 0;
	size_t cap;

	if (sp != NULL) {
		*sp = '\0';
		at = strtonum(sp + 1, 1, 9999999999999LL, &err);
		if (err)
			return 0;
	}
	/* Written by anyone in the group: trust no name. */
	if (!mq_name_safe(p))
		return 0;
	if (h->s.n == h->s.cap) {
		cap = h->s.cap ? h->s.cap * 2 : 32;
		if ((e = reallocarray(h->s.e, cap, sizeof(*e))) == NULL)
			return -1;
		h->s.e = e;
		h->s.cap = cap;
	}
	h->s.e[h->s.n].off = off;
	h->s.e[h->s.n].dir = MQ_NEW;
	h->s.e[h->s.n++].level = (unsigned char)mq_level_of(p);
	if (at > 0) {
		/* Few are delayed: one more each. */
		if ((d = reallocarray(h->due, h->ndue + 1, sizeof(*d))) == NULL)
			return -1;
		h->due = d;
		d[h->ndue].off = off;
		d[h->ndue++].at = at;
	}
	return 0;
}

/* Read the hint of fd into h: its names, their due times, its state. */
static int
urgent_read(int fd, struct mq_urgent *h)
{
	char *buf, *p, *nl;
	ssize_t r;

	memset(&h->s, 0, sizeof(h->s));
	h->due = NULL;
	h->dead = NULL;
	h->ndue = 0;
	h->state = MQ_URGENT_OK;
	if ((buf = malloc(URGENT_BYTES + 4096)) == NULL)
		return -1;
	if ((r = pread(fd, buf, URGENT_BYTES + 4096, 0)) < 0) {
		free(buf);
		return -1;
	}
	if (r >= URGENT_BYTES)
		h->state = MQ_URGENT_OVER;
	h->s.buf = buf;
	h->s.bufcap = URGENT_BYTES + 4096;
	for (p = buf; (nl = memchr(p, '\n', (size_t)(buf + r - p))) != NULL;
	    p = nl + 1) {
		*nl = '\0';
		if (p == buf && strcmp(p, ".all") == 0)
			h->state = MQ_URGENT_ALL;
		else if (strcmp(p, ".") == 0 && h->state == MQ_URGENT_OK)
			h->state = MQ_URGENT_OVER;
		else if (hint_line(h, p, (size_t)(p - buf)) < 0)
			return -1;
	}
	return 0;
}

/* When the name at off of h is due (0: at once, or not known). */
static long long
due_of(const struct mq_urgent *h, size_t off)
{
	size_t lo = 0, hi = h->ndue, mid;

	/* In file order: by offset. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (h->due[mid].off == off)
			return h->due[mid].at;
		if (h->due[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/*
 * Open and read the hint (u->fd -1: there is none).  Errors leave it
 * unused (MQ_URGENT_OVER): the claim then scans, as without a hint.
 */
void
mq_urgent_open(struct mq_queue *q, struct mq_urgent *u)
{
	int flags = O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;

	memset(u, 0, sizeof(*u));
	u->fd = openat(q->fd, URGENT, O_RDWR | flags);
	if (u->fd < 0 && errno == EACCES) {
		/* Another member's, in a group queue: read, never rewrite. */
		u->fd = openat(q->fd, URGENT, O_RDONLY | flags);
		u->rdonly = 1;
	}
	if (u->fd < 0) {
		u->state = errno == ENOENT ? MQ_URGENT_OK : MQ_URGENT_OVER;
		return;
	}
	if (urgent_read(u->fd, u) < 0) {
		u->state = MQ_URGENT_OVER;
		return;
	}
	mq_scan_sort(&u->s);
	if (u->s.n && (u->dead = calloc(u->s.n, 1)) == NULL)
		u->state = MQ_URGENT_OVER;
}

void
mq_urgent_close(struct mq_urgent *u)
{
	if (u->fd >= 0)
		close(u->fd);
	hint_free(u);
	memset(u, 0, sizeof(*u));
	u->fd = -1;
}

/* Where name is in the sorted scan s, or -1. */
static long
find(const struct mq_scan *s, const char *name, int level)
{
	size_t lo = 0, hi = s->n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (s->e[mid].level != level)
			c = level < s->e[mid].level ? -1 : 1;
		else
			c = strcmp(name, s->buf + s->e[mid].off);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

/*
 * Under the exclusive lock, write head, then the lines now in the hint
 * whose names drop() does not drop (those appended since we read it are
 * kept).  Unless it is a scan's (scanned), a hint marked meanwhile (".",
 * ".all") is left as it is.  -1 if the lock was not had, or it would not
 * fit.
 */
static int
urgent_write(struct mq_urgent *u, const char *head, size_t hlen,
    int scanned, int (*drop)(void *, const char *, int), void *ctx)
{
	struct mq_urgent c;
	const char *name;
	char *out = NULL;
	size_t i, len = hlen, l;
	int rc = -1;

	if (u->rdonly || flock_wait(u->fd, LOCK_EX) < 0)
		return -1;
	if (urgent_read(u->fd, &c) < 0 ||
	    (c.state != MQ_URGENT_OK && !scanned) ||
	    (out = malloc(hlen + URGENT_BYTES + 4096)) == NULL)
		goto out;
	memcpy(out, head, hlen);
	for (i = 0; i < c.s.n; i++) {
		name = c.s.buf + c.s.e[i].off;
		if (drop(ctx, name, c.s.e[i].level))
			continue;
		if ((l = line(out + len, URGENT_BYTES - len, name,
		    due_of(&c, c.s.e[i].off))) == 0)
			goto out;
		len += l;
	}
	if (pwrite(u->fd, out, len, 0) == (ssize_t)len &&
	    ftruncate(u->fd, (off_t)len) == 0)
		rc = 0;
out:
	free(out);
	hint_free(&c);
	flock(u->fd, LOCK_UN);
	return rc;
}

/* For compaction: the names we took or found gone. */
static int
drop_dead(void *ctx, const char *name, int level)
{
	struct mq_urgent *u = ctx;
	long i = find(&u->s, name, level);

	return level >= MQ_LEVEL_DEFAULT || (i >= 0 && u->dead[i]);
}

/* When the hint's entry i is due, if it was put delayed (0: at once). */
long long
mq_urgent_due(const struct mq_urgent *u, size_t i)
{
	return u->ndue ? due_of(u, u->s.e[i].off) : 0;
}

/* Drop from the hint the names marked dead (taken or gone). */
void
mq_urgent_spent(struct mq_urgent *u)
{
	(void)urgent_write(u, "", 0, 0, drop_dead, u);
}

/* For a scan's rewrite: the names of the scan, and the other levels. */
struct scanned {
	const struct mq_scan *s;
	size_t head;		/* its sorted entries */
};

static int
drop_scanned(void *ctx, const char *name, int level)
{
	const struct scanned *c = ctx;
	struct mq_scan h = *c->s;

	h.n = c->head;
	return level >= MQ_LEVEL_DEFAULT || find(&h, name, level) >= 0;
}

static int
drop_all(void *ctx, const char *name, int level)
{
	(void)ctx, (void)name, (void)level;
	return 1;
}

/*
 * A full scan s (sorted in its first head entries) is about to be the
 * index: make the hint hold every urgent name it saw in new/ (with the due
 * time the hint knew), and those appended since.  1 if it does (the index
 * may then leave them out), 0 if not: more than URGENT_NAMES wait (the
 * hint says ".all": the index holds them), or the hint could not be
 * written.
 */
int
mq_urgent_scanned(struct mq_queue *q, struct mq_urgent *u,
    const struct mq_scan *s, size_t head)
{
	struct scanned c = { s, head < s->n ? head : s->n };
	const char *name;
	char *buf;
	size_t i, nu = 0, len = 0, same = 0, l;
	long k;
	int r;

	for (i = 0; i < c.head && s->e[i].level < MQ_LEVEL_DEFAULT; i++)
		if (s->e[i].dir == MQ_NEW) {
			nu++;
			same += u->s.n > 0 && find(&u->s, s->buf + s->e[i].off,
			    s->e[i].level) >= 0;
		}
	/* Nothing urgent, or the hint says just what the scan saw. */
	if (u->state == MQ_URGENT_OK && nu == same && u->s.n == nu)
		return 1;
	if (u->fd < 0 && (u->fd = urgent_create(q, O_RDWR)) < 0)
		return 0;
	if (nu > URGENT_NAMES || (i == c.head && c.head < s->n)) {
		(void)urgent_write(u, ".all\n", 5, 1, drop_all, NULL);
		return 0;
	}
	if ((buf = malloc(URGENT_BYTES)) == NULL)
		return 0;
	for (i = 0; i < c.head && s->e[i].level < MQ_LEVEL_DEFAULT; i++) {
		if (s->e[i].dir != MQ_NEW)
			continue;
		name = s->buf + s->e[i].off;
		k = u->s.n > 0 ? find(&u->s, name, s->e[i].level) : -1;
		if ((l = line(buf + len, URGENT_BYTES - len, name, k < 0 ? 0 :
		    due_of(u, u->s.e[k].off))) == 0) {
			free(buf);
			return 0;
		}
		len += l;
	}
	r = urgent_write(u, buf, len, 1, drop_scanned, &c);
	free(buf);
	return r == 0;
}
