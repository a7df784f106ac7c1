/*
 * util.c: time, number parsing, checked I/O, and the errno -> exit status
 * rule shared by every tool.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mq-internal.h"

long long
mq_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long
mq_mtime_ms(const struct stat *st)
{
	return (long long)st->st_mtim.tv_sec * 1000 +
	    st->st_mtim.tv_nsec / 1000000;
}

long long
mq_ctime_ms(const struct stat *st)
{
	return (long long)st->st_ctim.tv_sec * 1000 +
	    st->st_ctim.tv_nsec / 1000000;
}

/*
 * A number with one of the units u[0..nu): "30s", "64k", "60/m".  *n gets
 * the number, *mul its unit's factor, their product checked not to
 * overflow.  Every number the tools read with a unit is read here.
 */
int
mq_parse_unit(const char *s, const struct mq_unit *u, size_t nu,
    long long *n, long long *mul)
{
	char *end;
	size_t i;

	if (*s < '0' || *s > '9')
		goto bad;
	errno = 0;
	*n = strtoll(s, &end, 10);
	if (errno)
		goto bad;
	for (i = 0; i < nu; i++) {
		if (strcmp(end, u[i].name) != 0)
			continue;
		if (*n > LLONG_MAX / u[i].mul)
			goto bad;
		*mul = u[i].mul;
		return 0;
	}
bad:
	errno = EINVAL;
	return -1;
}

/* "30s", "5m", "2h", "7d", "1w", "250ms"; a bare number is seconds. */
int
mq_parse_duration(const char *s, long long *ms)
{
	static const struct mq_unit units[] = { { "", 1000 }, { "ms", 1 },
		{ "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
		{ "d", 86400000 }, { "w", 604800000 } };
	long long n, mul;

	if (mq_parse_unit(s, units, sizeof(units) / sizeof(units[0]), &n,
	    &mul) < 0)
		return -1;
	/* Room to add times to it: a deadline is now + a duration. */
	if (n > LLONG_MAX / mul / 4) {
		errno = EINVAL;
		return -1;
	}
	*ms = n * mul;
	return 0;
}

/* "512", "64k", "1M", "2G" (powers of 1024). */
int
mq_parse_size(const char *s, long long *bytes)
{
	static const struct mq_unit units[] = { { "", 1 },
		{ "k", 1LL << 10 }, { "K", 1LL << 10 }, { "m", 1LL << 20 },
		{ "M", 1LL << 20 }, { "g", 1LL << 30 }, { "G", 1LL << 30 } };
	long long n, mul;

	if (mq_parse_unit(s, units, sizeof(units) / sizeof(units[0]), &n,
	    &mul) < 0)
		return -1;
	*bytes = n * mul;
	return 0;
}

/*
 * A failure of q's object DIR[/A[/B]] (A, B NULL or "": not named), as
 * the tools name it: in q->errobj, errno kept.  Returns -1.
 */
int
mq_obj_error(struct mq_queue *q, const char *dir, const char *a,
    const char *b)
{
	int e = errno;

	a = a ? a : "";
	b = b ? b : "";
	snprintf(q->errobj, sizeof(q->errobj), "%s%s%s%s%s", dir,
	    *a ? "/" : "", a, *b ? "/" : "", b);
	errno = e;
	return -1;
}

/* An error on dir/name of q: the object named for the tool, errno err. */
int
mq_entry_error(struct mq_queue *q, enum mq_dir dir, const char *name, int err)
{
	errno = err;
	return mq_obj_error(q, mq_dirnames[dir], name, NULL);
}

/*
 * Failures that may go away by themselves: a full disk, an I/O error, a
 * lack of memory or descriptors, a lock held by another process, a network
 * file system's server or handle away for a while.  The tools exit 111 for
 * them, and the daemons ride them out (fault.c).
 */
int
mq_transient(int err)
{
	switch (err) {
	case ENOSPC: case EDQUOT: case EIO: case EAGAIN: case ENOMEM:
	case EMFILE: case ENFILE: case EINTR: case ETIMEDOUT: case EBUSY:
	case ENOLCK: case ESTALE:
	/* A network file system's server away for a while (GlusterFS). */
	case ENOTCONN: case ECONNABORTED: case ECONNRESET: case ECONNREFUSED:
	case EHOSTDOWN: case EHOSTUNREACH: case ENETDOWN: case ENETUNREACH:
	case ENOLINK: case EREMOTEIO:
		return 1;
	}
	return 0;
}

int
mq_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t w;

	while (len > 0) {
		w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Copy in to out until the end of in; short writes and EINTR handled. */
int
mq_copy(int in, int out)
{
	char buf[65536];
	ssize_t r;

	while ((r = read(in, buf, sizeof(buf))) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (mq_write_all(out, buf, (size_t)r) < 0)
			return -1;
	}
	return 0;
}

/*
 * fsync is retried on EINTR only.  Any other error is final: after a failed
 * fsync the kernel may have dropped the dirty pages, so a second fsync that
 * succeeds proves nothing (PostgreSQL's "fsyncgate").
 */
int
mq_fsync(int fd)
{
	while (fsync(fd) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

/*
 * Moves (mq-spool(5), Moves).  Each move is exclusive in one of two ways:
 *
 * - Its target name is fresh (a new id, a claim's new token): nothing can
 *   stand there, and if its source is shared (a claim), the first rename
 *   takes the source away and every other fails with ENOENT.  Plain
 *   rename(2) is exclusive, so where RENAME_NOREPLACE is missing (FUSE,
 *   GlusterFS: EINVAL) mq_rename_fresh simply renames.
 *
 * - Its target name may exist (an id going back to new/, to done/ or
 *   dead/): it must never replace.  Where RENAME_NOREPLACE is missing,
 *   mq_rename_named gives the target a fresh token instead.  link(2) and
 *   unlink(2) would not do: for a moment the file has two names, and on a
 *   shared source two movers can each link it (one message, two claims).
 */
/* 0 moved, -1 failed (errno), 1 the file system cannot refuse to replace. */
static int
noreplace(int fromfd, const char *from, int tofd, const char *to)
{
	if (renameat2(fromfd, from, tofd, to, RENAME_NOREPLACE) == 0)
		return 0;
	return errno == EINVAL || errno == ENOSYS ? 1 : -1;
}

int
mq_rename_fresh(int fromfd, const char *from, int tofd, const char *to)
{
	int r;

	if ((r = noreplace(fromfd, from, tofd, to)) <= 0)
		return r;
	return renameat(fromfd, from, tofd, to);
}

/*
 * Move from to n's name in tofd, never replacing; to (len bytes) gets the
 * name used.  Where the file system cannot refuse to replace, n gets a
 * fresh token and so a name nobody else has.
 */
int
mq_rename_named(int fromfd, const char *from, int tofd, struct mq_name *n,
    char *to, size_t len)
{
	int r;

	if (mq_name_format(to, len, n) < 0)
		return -1;
	if ((r = noreplace(fromfd, from, tofd, to)) <= 0)
		return r;
	mq_token(n->token, sizeof(n->token));
	if (mq_name_format(to, len, n) < 0)
		return -1;
	return renameat(fromfd, from, tofd, to);
}

/*
 * A private file (nobody else knows its name) to a fixed name that may
 * exist, never replacing.  Without RENAME_NOREPLACE, link(2) refuses an
 * existing name; the second link lasts until the unlink, but it is of a
 * file only we know.
 */
int
mq_rename_private(int fromfd, const char *from, int tofd, const char *to)
{
	int r;

	if ((r = noreplace(fromfd, from, tofd, to)) <= 0)
		return r;
	if (linkat(fromfd, from, tofd, to, 0) < 0)
		return -1;
	return unlinkat(fromfd, from, 0);
}

/* Set a spool file's mtime, never following a link. */
int
mq_settime(int dirfd, const char *name, long long ms)
{
	struct timespec ts[2];

	ts[0].tv_sec = 0;
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_sec = ms / 1000;
	ts[1].tv_nsec = (ms % 1000) * 1000000;
	if (ms < 0) {
		ts[1].tv_sec = 0;
		ts[1].tv_nsec = 0;
	}
	return utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW);
}
