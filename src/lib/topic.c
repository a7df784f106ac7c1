/*
 * topic.c: publish-subscribe.  A topic is a directory:
 *
 *	TOPIC/subscribers/NAME	a symbolic link to a subscribed queue (its
 *				absolute path); its mtime is when it
 *				subscribed
 *	TOPIC/tmp/		publications being written
 *	TOPIC/pub/ID/body	a publication's body, stored once
 *	TOPIC/pub/ID/NAME	subscriber NAME's copy is whole in its tmp/
 *
 * Each subscriber is an ordinary queue; its copy of publication ID is the
 * message ID.NAME, written to its tmp/ (a reflink of the body where the
 * file system can, else a copy: never a hard link, which would share one
 * mtime among queues that each use it for their own times) and renamed
 * into its new/.  So a subscriber is an mq queue like any other, and the
 * existing tools serve it unchanged.
 *
 * At most once per subscriber, and a retry completes the fan-out: a copy
 * is written whole and synced, then its record pub/ID/NAME is made and
 * synced, then the copy is renamed.  A retry of ID (the same id, under the
 * publication's lock) reads each subscriber's state from that order: no
 * record, the rename has not happened (write the copy again); a record and
 * the copy still in tmp/, rename it; a record and no copy, delivered.
 * A retry delivers to the subscribers of the first attempt's moment only:
 * those whose link is not newer than the body.
 *
 * Group commit: every copy is fsync'ed, then the records' directory once,
 * then after the renames each queue's new/ once.  A subscriber that fails
 * (removed, unwritable, full) is reported in its struct mq_sub and the
 * others go on.
 */
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/fs.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mq-internal.h"

static const char *const tdirs[] = { "subscribers", "pub", "tmp" };

static int
tfail(struct mq_topic *t, const char *obj, const char *name)
{
	int e = errno;

	snprintf(t->errobj, sizeof(t->errobj), "%s%s%s", obj,
	    name && *name ? "/" : "", name ? name : "");
	errno = e;
	return -1;
}

int
mq_topic_open(struct mq_topic *t, const char *path, int create)
{
	int i, made = 0, *fds[] = { &t->subfd, &t->pubfd, &t->tmpfd };

	memset(t, 0, sizeof(*t));
	t->fd = t->subfd = t->pubfd = t->tmpfd = -1;
	if ((t->path = strdup(path)) == NULL)
		return tfail(t, "", NULL);
	if (create && mkdir(path, 0700) == 0)
		made = 1;
	else if (create && errno != EEXIST)
		return tfail(t, "", NULL);
	if ((t->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return tfail(t, "", NULL);
	for (i = 0; i < 3; i++) {
		if (create && mkdirat(t->fd, tdirs[i], 0700) == 0)
			made = 1;
		else if (create && errno != EEXIST)
			return tfail(t, tdirs[i], NULL);
		*fds[i] = openat(t->fd, tdirs[i], O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
		if (*fds[i] < 0)
			return tfail(t, tdirs[i], NULL);
	}
	if (made && mq_fsync(t->fd) < 0)
		return tfail(t, "", NULL);
	return 0;
}

void
mq_topic_close(struct mq_topic *t)
{
	if (t->subfd >= 0)
		close(t->subfd);
	if (t->pubfd >= 0)
		close(t->pubfd);
	if (t->tmpfd >= 0)
		close(t->tmpfd);
	if (t->fd >= 0)
		close(t->fd);
	free(t->path);
	t->path = NULL;
}

/* A queue's subscriber name: the last part of its real path. */
static int
sub_name(const char *real, char *name, size_t len)
{
	const char *b = strrchr(real, '/');

	b = b ? b + 1 : real;
	if (!mq_key_valid(b) || strlcpy(name, b, len) >= len) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/*
 * Subscribe a queue: subscribers/NAME -> its absolute path.  Subscribing
 * again is no change; a name taken by another queue is EEXIST.
 */
int
mq_topic_subscribe(struct mq_topic *t, const char *queue, char *name,
    size_t len)
{
	char real[PATH_MAX], had[PATH_MAX];
	struct mq_queue q;
	ssize_t n;

	if (mq_open(&q, queue, 0, 0) < 0) {
		mq_close(&q);
		return tfail(t, "", NULL);
	}
	mq_close(&q);
	if (realpath(queue, real) == NULL || sub_name(real, name, len) < 0)
		return tfail(t, "", NULL);
	if (symlinkat(real, t->subfd, name) < 0) {
		if (errno != EEXIST)
			return tfail(t, "subscribers", name);
		n = readlinkat(t->subfd, name, had, sizeof(had) - 1);
		if (n < 0)
			return tfail(t, "subscribers", name);
		had[n] = '\0';
		if (strcmp(had, real) != 0) {
			errno = EEXIST;
			return tfail(t, "subscribers", name);
		}
		return 0;
	}
	if (mq_fsync(t->subfd) < 0)
		return tfail(t, "subscribers", NULL);
	return 0;
}

/*
 * Unsubscribe a queue, given by its path or its subscriber name; the queue
 * and what it holds are left alone.  ENOENT: it was not subscribed.
 */
int
mq_topic_unsubscribe(struct mq_topic *t, const char *queue, char *name,
    size_t len)
{
	char real[PATH_MAX], had[PATH_MAX];
	ssize_t n;

	if (realpath(queue, real) != NULL) {
		if (sub_name(real, name, len) < 0)
			return tfail(t, "", NULL);
	} else if (strlcpy(name, queue, len) >= len || !mq_key_valid(name)) {
		errno = ENOENT;
		return tfail(t, "subscribers", NULL);
	} else
		real[0] = '\0';
	n = readlinkat(t->subfd, name, had, sizeof(had) - 1);
	if (n < 0)
		return tfail(t, "subscribers", name);
	had[n] = '\0';
	if (real[0] && strcmp(had, real) != 0) {
		errno = ENOENT;
		return tfail(t, "subscribers", name);
	}
	if (unlinkat(t->subfd, name, 0) < 0 || mq_fsync(t->subfd) < 0)
		return tfail(t, "subscribers", name);
	return 0;
}
