/*
 * host.c: the hosts that share a spool, and what a silent one leaves.
 *
 * On one host a claim whose owner died comes back at once: the claimer asks
 * the kernel (claim.c, mq_owner_dead).  A pid means nothing on another
 * host, so there a claim used to wait for its deadline, and with the long
 * timeouts of slow work a crashed host's jobs stood still for as long.  So
 * every long-running tool (mqwatch, mqreap -f, mqget -w, waiters) keeps a
 * heartbeat for its host in the spool:
 *
 *	QUEUE/hosts/TAG		TAG = mq_host_tag(), the owner fields' tag
 *
 *	mqhost1
 *	name NAME		the host name, made a safe word
 *	claims cur/ *,oTAG-*	which claims are this host's (a glob,
 *				without the space a comment needs)
 *	every N ms		how often it is refreshed
 *
 * rewritten every MQ_HOST_EVERY(host_timeout) (a third of it): a write, not
 * utimes(2), so that the file server stamps the mtime and a host's own
 * clock never decides how fresh its heartbeat looks.  All tools of a host
 * write the same bytes to the same file; the last one to stop removes it.
 * Any one removing it is harmless: without a heartbeat a host's claims live
 * by their deadlines (a host whose tools are all one-shot has none), and
 * the next refresh of a tool still running writes it back.
 *
 * A claim whose owner's host has a heartbeat older than host_timeout is
 * taken back as if its deadline had passed (mq_host_silent_at: the time
 * works as an earlier deadline, so waiters wake for it and the clock check
 * guards it as it guards deadlines).  Our own host is never judged so: its
 * pids tell.  A claimer must not stat hosts/ for every claim it passes:
 * what it read is kept in the queue for HOST_CACHE_MS, one fstatat per
 * host and second; a heartbeat that reads silent is read again unless the
 * reading was made after the moment it fell silent, so a refresh that came
 * after an old reading is never missed.  Nothing here is synced: a
 * heartbeat is a hint about now, worthless after a crash anyway.
 */
#include <sys/stat.h>
#include <sys/utsname.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mq-internal.h"

#define HOSTS "hosts"
#define MAGIC "mqhost1\n"
#define HOST_CACHE_MS 1000	/* how long a reading of a heartbeat holds */
#define TAGLEN 12		/* mq_host_tag(): 12 hex digits */

struct mq_hosts {
	int fd;			/* hosts/, or -1 */
	long long dir_at;	/* when hosts/ was last looked for */
	size_t n, cap;
	struct seen {
		char tag[TAGLEN + 1];
		long long beat;		/* its mtime, ms; 0: no heartbeat */
		long long read_at;	/* when we read it */
	} *h;
};

/* How often a host's heartbeat is refreshed, for a host_timeout. */
long long
mq_host_every(long long timeout_ms)
{
	if (timeout_ms <= 0)
		return MQ_HOST_TIMEOUT_MS / 3;
	return timeout_ms / 3 > 1000 ? timeout_ms / 3 : 1000;
}

/* Is s (len bytes) a host tag, as mq_host_tag() makes them? */
static int
is_tag(const char *s, size_t len)
{
	size_t i;

	if (len != TAGLEN)
		return 0;
	for (i = 0; i < TAGLEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'f')))
			return 0;
	return 1;
}

/* The tag of owner "TAG-PID" into tag, if it is one; else -1. */
static int
owner_tag(const char *owner, char *tag)
{
	const char *dash = strchr(owner, '-');

	if (dash == NULL || !is_tag(owner, (size_t)(dash - owner)))
		return -1;
	memcpy(tag, owner, TAGLEN);
	tag[TAGLEN] = '\0';
	return 0;
}

static int
hosts_dir(struct mq_queue *q, int create)
{
	int fd, group = (q->fmode & 0040) != 0;

	fd = openat(q->fd, HOSTS, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd >= 0 || errno != ENOENT || !create)
		return fd;
	if (mkdirat(q->fd, HOSTS, group ? 02770 : 0700) < 0 &&
	    errno != EEXIST)
		return -1;
	if (group)
		fchmodat(q->fd, HOSTS, 02770, 0);
	return openat(q->fd, HOSTS, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
}

static int
fail(struct mq_queue *q, const char *what)
{
	return mq_obj_error(q, HOSTS, what, NULL);
}

/*
 * Refresh this host's heartbeat if it is due (q->host_beat); returns 0, or
 * -1 with errno and q->errobj.  The caller wakes at q->host_beat for the
 * next one.
 */
int
mq_host_beat(struct mq_queue *q, long long now)
{
	char buf[512], name[MQ_FIELD_MAX + 1];
	long long every = mq_host_every(q->cfg.host_timeout_ms);
	const char *tag = mq_host_tag();
	struct utsname u;
	int dfd, fd, len, e;

	if (q->host_beat < 0 || q->host_beat > now)
		return 0;
	q->host_beat = now + every;
	if (uname(&u) < 0)
		strlcpy(u.nodename, "unknown", sizeof(u.nodename));
	mq_sanitize_word(name, sizeof(name), u.nodename);
	len = snprintf(buf, sizeof(buf), MAGIC "name %s\nclaims cur/*,o%s-*\n"
	    "every %lld ms\n", name, tag, every);
	if ((dfd = hosts_dir(q, 1)) < 0)
		return fail(q, "");
	fd = openat(dfd, tag, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC, q->fmode | (q->fmode & 0040 ? 0020 : 0));
	e = errno;
	close(dfd);
	errno = e;
	if (fd < 0)
		return fail(q, tag);
	if (pwrite(fd, buf, (size_t)len, 0) != len ||
	    ftruncate(fd, len) < 0) {
		e = errno ? errno : EIO;
		close(fd);
		errno = e;
		return fail(q, tag);
	}
	if (close(fd) < 0)
		return fail(q, tag);
	return 0;
}

/* This host's tools stop: its heartbeat goes (see above: harmless). */
void
mq_host_leave(struct mq_queue *q)
{
	int dfd;

	if (q->host_beat == 0 || (dfd = hosts_dir(q, 0)) < 0)
		return;
	unlinkat(dfd, mq_host_tag(), 0);
	close(dfd);
	q->host_beat = 0;
}

/* The entry of tag in the cache, made if new; NULL if none could be. */
static struct seen *
cached(struct mq_hosts *hs, const char *tag)
{
	struct seen *h;
	size_t i;

	for (i = 0; i < hs->n; i++)
		if (strcmp(hs->h[i].tag, tag) == 0)
			return &hs->h[i];
	if (hs->n == hs->cap) {
		h = reallocarray(hs->h, hs->cap ? hs->cap * 2 : 8, sizeof(*h));
		if (h == NULL)
			return NULL;
		hs->h = h;
		hs->cap = hs->cap ? hs->cap * 2 : 8;
	}
	h = &hs->h[hs->n++];
	memcpy(h->tag, tag, sizeof(h->tag));
	h->read_at = 0;
	return h;
}

/* Read a heartbeat's mtime into h; no hosts/ or no file: no heartbeat. */
static void
reread(struct mq_queue *q, struct mq_hosts *hs, struct seen *h,
    long long now)
{
	struct stat st;

	if (hs->fd < 0 && now - hs->dir_at >= HOST_CACHE_MS) {
		hs->dir_at = now;
		hs->fd = hosts_dir(q, 0);
	}
	h->read_at = now;
	h->beat = 0;
	if (hs->fd >= 0 && fstatat(hs->fd, h->tag, &st,
	    AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
		h->beat = mq_mtime_ms(&st);
}

/*
 * When the host of a claim's owner falls silent, as far as its heartbeat
 * tells: its last refresh plus host_timeout (ms); 0 if the claim is never
 * judged by its host: no owner, this host's own (its pids tell), no
 * heartbeat, host_timeout 0, or no memory to keep the reading.
 */
long long
mq_host_silent_at(struct mq_queue *q, const char *owner, long long now)
{
	struct mq_hosts *hs = q->hosts;
	char tag[TAGLEN + 1];
	struct seen *h;
	long long at;

	if (q->cfg.host_timeout_ms <= 0 || owner_tag(owner, tag) < 0 ||
	    strcmp(tag, mq_host_tag()) == 0)
		return 0;
	if (hs == NULL) {
		if ((hs = calloc(1, sizeof(*hs))) == NULL)
			return 0;
		hs->fd = -1;
		hs->dir_at = now - HOST_CACHE_MS;
		q->hosts = hs;
	}
	if ((h = cached(hs, tag)) == NULL)
		return 0;
	at = h->beat + q->cfg.host_timeout_ms;
	if (h->read_at == 0 || now - h->read_at >= HOST_CACHE_MS ||
	    now < h->read_at || (h->beat > 0 && at <= now && h->read_at < at))
		reread(q, hs, h, now);
	return h->beat > 0 ? h->beat + q->cfg.host_timeout_ms : 0;
}

void
mq_host_forget(struct mq_queue *q)
{
	if (q->hosts == NULL)
		return;
	if (q->hosts->fd >= 0)
		close(q->hosts->fd);
	free(q->hosts->h);
	free(q->hosts);
	q->hosts = NULL;
}

/* The host of tag in the list, added if new; NULL if out of memory. */
static struct mq_host *
listed(struct mq_host **l, size_t *n, const char *tag)
{
	struct mq_host *h;
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp((*l)[i].tag, tag) == 0)
			return &(*l)[i];
	if ((h = reallocarray(*l, *n + 1, sizeof(*h))) == NULL)
		return NULL;
	*l = h;
	h = &h[(*n)++];
	memset(h, 0, sizeof(*h));
	memcpy(h->tag, tag, TAGLEN + 1);
	return h;
}

/* A heartbeat file: its time, and the name it gives. */
static void
read_beat(int dfd, struct mq_host *h)
{
	char buf[512], *p, *nl;
	struct stat st;
	ssize_t r;
	int fd;

	fd = openat(dfd, h->tag, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (r = pread(fd, buf, sizeof(buf) - 1, 0)) < 0) {
		close(fd);
		return;
	}
	close(fd);
	h->beat = mq_mtime_ms(&st);
	buf[r] = '\0';
	if (strncmp(buf, MAGIC, sizeof(MAGIC) - 1) != 0)
		return;
	p = buf + sizeof(MAGIC) - 1;
	if (strncmp(p, "name ", 5) == 0 && (nl = strchr(p, '\n')) != NULL) {
		*nl = '\0';
		/* Made safe by its writer; made safe again for our reader. */
		mq_sanitize_word(h->name, sizeof(h->name), p + 5);
	}
}

/* Every heartbeat in hosts/ (dfd, closed here) into the list. */
static int
beats(struct mq_queue *q, int dfd, struct mq_host **list, size_t *n)
{
	struct mq_host *h;
	struct dirent *d;
	DIR *dp;
	int e;

	if ((dp = fdopendir(dfd)) == NULL) {
		e = errno;
		close(dfd);
		errno = e;
		return fail(q, "");
	}
	for (;;) {
		errno = 0;
		if ((d = readdir(dp)) == NULL)
			break;
		/* Anything else (a host's tool writing .new, a plant): not one. */
		if (is_tag(d->d_name, strlen(d->d_name)) &&
		    (h = listed(list, n, d->d_name)) != NULL)
			read_beat(dirfd(dp), h);
	}
	e = errno;
	closedir(dp);
	errno = e;
	return e ? fail(q, "") : 0;
}

/*
 * The hosts of a queue (mqstat): every heartbeat in hosts/, and every host
 * that holds claims in cur/ without one.  *list is the caller's to free.
 */
int
mq_hosts(struct mq_queue *q, long long now, struct mq_host **list,
    size_t *n)
{
	struct mq_scan s;
	struct mq_name nm;
	struct mq_host *h;
	char tag[TAGLEN + 1];
	size_t i;
	int dfd;

	*list = NULL;
	*n = 0;
	memset(&s, 0, sizeof(s));
	if ((dfd = hosts_dir(q, 0)) < 0 && errno != ENOENT)
		return fail(q, "");
	if (dfd >= 0 && beats(q, dfd, list, n) < 0)
		return -1;
	if (mq_scan(q, MQ_CUR, &s) < 0) {
		mq_scan_free(&s);
		return -1;
	}
	for (i = 0; i < s.n; i++)
		if (mq_name_parse(mq_scan_name(&s, i), &nm) == 0 &&
		    owner_tag(nm.owner, tag) == 0 &&
		    (h = listed(list, n, tag)) != NULL)
			h->claims++;
	mq_scan_free(&s);
	for (i = 0; i < *n; i++)
		(*list)[i].silent = (*list)[i].beat > 0 &&
		    q->cfg.host_timeout_ms > 0 &&
		    (*list)[i].beat + q->cfg.host_timeout_ms <= now;
	return 0;
}
