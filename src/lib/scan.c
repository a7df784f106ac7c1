/*
 * scan.c: list a spool directory.
 *
 * Only what a directory read gives is used here (names and d_type), no
 * stat: a scan of new/ must stay one pass of getdents however long the
 * queue.  Hidden names are ignored; entries that cannot be messages
 * (directories, links, FIFOs, devices) are reported through q->skipped and
 * never opened.  The names live in one growing buffer, not a malloc each.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mq-internal.h"

static const char *
what(unsigned char t)
{
	switch (t) {
	case DT_DIR:
		return "a directory";
	case DT_LNK:
		return "a symbolic link";
	case DT_FIFO:
		return "a FIFO";
	case DT_SOCK:
		return "a socket";
	case DT_CHR: case DT_BLK:
		return "a device";
	}
	return "not a regular file";
}

/*
 * A stream of dir's entries, read from its own descriptor (the queue's
 * stays where it is); NULL with errno and q->errobj on failure.
 */
DIR *
mq_dir_open(struct mq_queue *q, enum mq_dir dir)
{
	DIR *dp;

	if ((dp = mq_fd_opendir(q->dfd[dir])) == NULL)
		mq_obj_error(q, mq_dirnames[dir], NULL, NULL);
	return dp;
}

/* A stream of the directory dfd, which stays open; NULL with errno. */
DIR *
mq_fd_opendir(int dfd)
{
	DIR *dp;
	int fd, e;

	fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (dp = fdopendir(fd)) == NULL) {
		e = errno;
		if (fd >= 0)
			close(fd);
		errno = e;
		return NULL;
	}
	return dp;
}

/*
 * List dir into s.  The stream stays open for the process's next scan (a
 * rewind, where opening one costs four calls more), till mq_close, or
 * till a scan fails.
 */
int
mq_scan(struct mq_queue *q, enum mq_dir dir, struct mq_scan *s)
{
	struct dirent *d;
	size_t len;
	DIR *dp;
	int e;

	if ((dp = q->scans[dir]) != NULL)
		rewinddir(dp);
	else if ((dp = q->scans[dir] = mq_dir_open(q, dir)) == NULL)
		return -1;
	for (;;) {
		errno = 0;
		if ((d = readdir(dp)) == NULL)
			break;
		if (d->d_name[0] == '.')
			continue;
		if (d->d_type != DT_REG && d->d_type != DT_UNKNOWN) {
			if (q->skipped)
				q->skipped(q, dir, d->d_name, what(d->d_type));
			s->passed++;
			continue;
		}
		len = strlen(d->d_name) + 1;
		if (s->n == s->cap) {
			size_t cap = s->cap ? s->cap * 2 : 256;
			struct mq_entry *ne = reallocarray(s->e, cap,
			    sizeof(*ne));
			if (ne == NULL)
				goto fail;
			s->e = ne;
			s->cap = cap;
		}
		if (s->used + len > s->bufcap) {
			size_t cap = s->bufcap ? s->bufcap * 2 : 16384;
			char *nb;
			while (cap < s->used + len)
				cap *= 2;
			if ((nb = realloc(s->buf, cap)) == NULL)
				goto fail;
			s->buf = nb;
			s->bufcap = cap;
		}
		memcpy(s->buf + s->used, d->d_name, len);
		s->e[s->n].off = s->used;
		s->e[s->n].dir = dir;
		/* A comma is rare in new/: most names need no more look. */
		s->e[s->n].level = memchr(d->d_name, ',', len) == NULL ?
		    MQ_LEVEL_DEFAULT : (unsigned char)mq_level_of(d->d_name);
		s->n++;
		s->used += len;
	}
	if (errno != 0)
		goto fail;
	return 0;
fail:
	e = errno;
	closedir(dp);
	q->scans[dir] = NULL;
	strlcpy(q->errobj, mq_dirnames[dir], sizeof(q->errobj));
	errno = e;
	return -1;
}

/*
 * Claim order: the most urgent level first (mq_scan_cmp), then name order,
 * which is id order, and an id starts with its enqueue time.
 */
void
mq_scan_sort(struct mq_scan *s)
{
	/* An empty scan has no array at all: qsort_r(NULL, 0) is undefined. */
	if (s->n > 1)
		qsort_r(s->e, s->n, sizeof(*s->e), mq_scan_cmp, s->buf);
}

void
mq_scan_free(struct mq_scan *s)
{
	free(s->e);
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

/* Claim order: the more urgent first, then by name (id: arrival). */
int
mq_scan_cmp(const void *a, const void *b, void *buf)
{
	const struct mq_entry *x = a, *y = b;

	if (x->level != y->level)
		return x->level < y->level ? -1 : 1;
	return strcmp((char *)buf + x->off, (char *)buf + y->off);
}
