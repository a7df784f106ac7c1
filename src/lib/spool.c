/*
 * spool.c: open (and on request create) a queue directory.
 *
 * Every later operation is relative to the directory descriptors opened
 * here (openat/renameat), so a queue path that is renamed or replaced while
 * a tool runs cannot redirect it.  The queue path itself may be a symlink
 * (an administrator's choice); the subdirectories may not.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mq-internal.h"

/* And, for reports only, keys/ and groups/ (MQ_KEYS, MQ_GROUPS). */
const char *const mq_dirnames[MQ_NDIRS + 3] = { "tmp", "new", "cur", "done",
	"dead", "keys", "groups", "ends" };

static int
fail(struct mq_queue *q, const char *obj)
{
	return mq_obj_error(q, obj, NULL, NULL);
}

/*
 * A queue that failed to open leaves nothing open behind: mqack opens one
 * queue after another for as long as its input lasts.  q->errobj stays.
 */
static int
open_fail(struct mq_queue *q, const char *obj)
{
	int e = errno;

	fail(q, obj);
	mq_close(q);
	errno = e;
	return -1;
}

static int
fail2(struct mq_queue *q, enum mq_dir dir, const char *name)
{
	return mq_obj_error(q, mq_dirnames[dir], name, NULL);
}

/*
 * A queue shared by a group has a group-writable directory (made setgid so
 * that every file gets the queue's group); its messages are readable by the
 * group.  A private queue is the owner's alone.
 */
int
mq_open(struct mq_queue *q, const char *path, int create, int group)
{
	mode_t dmode = group ? 02770 : 0700;
	struct stat st;
	char err[128];
	int i, made = 0;

	memset(q, 0, sizeof(*q));
	q->fd = -1;
	for (i = 0; i < MQ_NDIRS; i++)
		q->dfd[i] = -1;
	if ((q->path = strdup(path)) == NULL)
		return open_fail(q, "");
	if (create) {
		if (mkdir(path, dmode) == 0)
			made = 1;
		else if (errno != EEXIST)
			return open_fail(q, "");
	}
	q->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (q->fd < 0)
		return open_fail(q, "");
	if (made && group && fchmod(q->fd, dmode) < 0)
		return open_fail(q, "");
	if (fstat(q->fd, &st) < 0)
		return open_fail(q, "");
	group = (st.st_mode & S_IWGRP) != 0;
	dmode = group ? 02770 : 0700;
	q->fmode = group ? 0640 : 0600;
	for (i = 0; i < MQ_NDIRS; i++) {
		if (create && mkdirat(q->fd, mq_dirnames[i], dmode) == 0) {
			made = 1;
			if (group && fchmodat(q->fd, mq_dirnames[i], dmode, 0) < 0)
				return open_fail(q, mq_dirnames[i]);
		} else if (create && errno != EEXIST)
			return open_fail(q, mq_dirnames[i]);
		q->dfd[i] = openat(q->fd, mq_dirnames[i],
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (q->dfd[i] < 0)
			return open_fail(q, mq_dirnames[i]);
	}
	if (create && mq_config_write_default(q->fd, q->fmode) < 0)
		return open_fail(q, "config");
	/* A new queue must survive a power cut like the messages in it. */
	if (made && mq_fsync(q->fd) < 0)
		return open_fail(q, "");
	/* A bad line is named by err; a failed read by errno alone. */
	if (mq_config_read(q->fd, &q->cfg, err, sizeof(err)) < 0)
		return open_fail(q, errno == EINVAL ? err : "config");
	return 0;
}

void
mq_close(struct mq_queue *q)
{
	int i;

	/* A caller that never synced still moves its groups on. */
	if (mq_group_pending(q))
		(void)mq_sync(q);
	mq_group_close(q);
	for (i = 0; i < MQ_NDIRS; i++) {
		if (q->scans[i] != NULL)
			closedir(q->scans[i]);
		q->scans[i] = NULL;
		if (q->dfd[i] >= 0)
			close(q->dfd[i]);
		q->dfd[i] = -1;
	}
	if (q->fd >= 0)
		close(q->fd);
	mq_host_forget(q);
	free(q->path);
	q->path = NULL;
	q->fd = -1;
}

/*
 * A directory of the queue made on first use (keys/, ends/, ends/wait/),
 * name in the directory at: opened, or made first if create.  In a group
 * queue it is the group's (setgid, group-writable); its name must survive a
 * power cut like the files it will hold.
 */
int
mq_subdir(struct mq_queue *q, int at, const char *name, int create)
{
	int fd;

	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 || errno != ENOENT || !create)
		return fd;
	if (mkdirat(at, name, q->fmode & 0040 ? 02770 : 0700) < 0 &&
	    errno != EEXIST)
		return -1;
	if (q->fmode & 0040)
		fchmodat(at, name, 02770, 0);
	if (q->cfg.sync && mq_fsync(at) < 0)
		return -1;
	return openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
}

/*
 * A rename is atomic but not durable: the directories it changed are
 * fsync'ed before the tool reports success, once for a whole batch.
 */
int
mq_sync(struct mq_queue *q)
{
	unsigned dirty = q->dirty;
	int i;

	q->dirty = 0;
	for (i = 0; i < MQ_NDIRS && q->cfg.sync; i++)
		if ((dirty & (1u << i)) && mq_fsync(q->dfd[i]) < 0)
			return fail(q, mq_dirnames[i]);
	/* Heads that ended, durably now: their groups move on (group.c). */
	return mq_group_flush(q, q->cfg.sync);
}

/*
 * Split the path of a message ("QUEUE/cur/NAME") into its queue and its
 * name, checking that its directory is the queue's dir (EINVAL if not).
 * The directory part is resolved, so "..", links and relative paths cannot
 * make a file outside a queue's cur/ look like a claim.  The name is not
 * judged here: the caller asks mq_name_safe.
 */
int
mq_split_path(const char *path, enum mq_dir want, char *qpath, size_t qlen,
    char *name, size_t nlen)
{
	char dir[PATH_MAX], real[PATH_MAX], *slash;

	if (strlcpy(dir, path, sizeof(dir)) >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((slash = strrchr(dir, '/')) == NULL || slash[1] == '\0') {
		errno = EINVAL;
		return -1;
	}
	*slash = '\0';
	if (strlcpy(name, slash + 1, nlen) >= nlen) {
		errno = EINVAL;
		return -1;
	}
	if (realpath(dir[0] ? dir : "/", real) == NULL)
		return -1;
	slash = strrchr(real, '/');
	if (slash == NULL || strcmp(slash + 1, mq_dirnames[want]) != 0) {
		errno = EINVAL;
		return -1;
	}
	*slash = '\0';
	if (strlcpy(qpath, real[0] ? real : "/", qlen) >= qlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/*
 * Open a message for reading, never following or blocking on something
 * planted in the spool (a symlink to /etc/shadow, a FIFO): O_NOFOLLOW and
 * O_NONBLOCK, then only a regular file is accepted (EINVAL otherwise) and
 * the descriptor is made blocking again for the reader.
 */
int
mq_open_body(struct mq_queue *q, enum mq_dir dir, const char *name)
{
	struct stat st;
	int fd, e;

	fd = openat(q->dfd[dir], name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd < 0)
		return fail2(q, dir, name);
	if (fstat(fd, &st) < 0 || (!S_ISREG(st.st_mode) && (errno = EINVAL)) ||
	    fcntl(fd, F_SETFL, 0) < 0) {
		/* errno: fstat's, fcntl's, or EINVAL for a plant. */
		e = errno;
		close(fd);
		errno = e;
		return fail2(q, dir, name);
	}
	return fd;
}
