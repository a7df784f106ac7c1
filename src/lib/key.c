/*
 * key.c: coalescing by key.  A put may carry a key; while a message with
 * that key waits in new/, another put with the key adds nothing and is
 * told the id of the one waiting.
 *
 * QUEUE/keys/KEY is a small file naming where the key's message is:
 * "new/NAME" (waiting), or with coalesce = claimed "cur/NAME" once claimed.
 * The message's own name carries the key (",kKEY"), so that its claimer
 * knows which key to let go.  ls keys/ shows the keys; cat shows where
 * each one's message is.
 *
 * The file is created whole and locked: written under a hidden name,
 * flock'ed, then link(2)ed to KEY, which fails if KEY exists, so that of
 * N concurrent puts exactly one creates it.  Its creator holds the lock
 * until its message is in new/ and durable; the others block on the lock,
 * then read the file.  Every change of a key file (taking over a stale
 * one, letting go of it after a claim, mqreap's repair) is made under the
 * lock after checking that KEY is still that file (a compare-and-delete
 * that no other party can interleave).
 *
 * Key files are never synced: a power cut may lose one (or its text), and
 * then one more message with that key may be put while the first waits,
 * which at-least-once delivery allows; a message is never lost for it.
 *
 * The key file is a hint checked against the truth: a put believes it only
 * if the message it names is still there.  A key whose message is gone
 * (claimed by a consumer killed before it let go, deleted, buried, or
 * never renamed into new/ because its producer died) is stale: the next
 * put with that key takes it over, and mqreap removes it.  So no crash
 * leaves a key that blocks puts: a dead holder's flock is released by the
 * kernel.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mq-internal.h"

#define KEYS "keys"

/* A key: a word (naming.c) of at most MQ_FIELD_MAX. */
int
mq_key_valid(const char *k)
{
	return mq_word_valid(k, MQ_FIELD_MAX);
}

static int
fail(struct mq_queue *q, const char *key)
{
	return mq_obj_error(q, KEYS, key, NULL);
}

/* keys/, made on first use (a queue from before keys has none). */
int
mq_key_dir(struct mq_queue *q, int create)
{
	return mq_subdir(q, q->fd, KEYS, create);
}

/*
 * Open keys/KEY and lock it, making sure it is still the file under that
 * name once locked (else it was replaced or removed while we waited: try
 * again).  Returns the descriptor, or -1 (ENOENT: no such key).
 */
int
mq_key_lock(int kfd, const char *key, int nonblock)
{
	struct stat a, b;
	int fd, e, r;

	for (;;) {
		fd = openat(kfd, key, O_RDWR | O_NOFOLLOW | O_NONBLOCK |
		    O_CLOEXEC);
		if (fd < 0)
			return -1;
		if (fstat(fd, &a) < 0 || !S_ISREG(a.st_mode) ||
		    flock(fd, LOCK_EX | (nonblock ? LOCK_NB : 0)) < 0) {
			e = S_ISREG(a.st_mode) ? errno : EINVAL;
			close(fd);
			errno = e;
			return -1;
		}
		if ((r = fstatat(kfd, key, &b, AT_SYMLINK_NOFOLLOW)) == 0 &&
		    a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			return fd;
		e = r < 0 ? errno : 0;
		close(fd);
		if (e != 0) {
			errno = e; /* ENOENT: removed while we waited */
			return -1;
		}
	}
}

/* What a locked key file says: "new/NAME" or "cur/NAME" in where. */
int
mq_key_read(int fd, char *where, size_t len)
{
	ssize_t n;

	n = pread(fd, where, len - 1, 0);
	if (n < 0)
		return -1;
	where[n] = '\0';
	where[strcspn(where, "\n")] = '\0';
	return 0;
}

/* Make a locked key file say where (a stale one taken over, a claim). */
static int
rewrite(int fd, const char *where)
{
	char line[MQ_NAME_MAX + 8];
	int n;

	n = snprintf(line, sizeof(line), "%s\n", where);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (pwrite(fd, line, (size_t)n, 0) != n || ftruncate(fd, n) < 0)
		return -1;
	return 0;
}

/*
 * Is the message a key file names still there: waiting in new/, or (with
 * coalesce = claimed) a claim not yet expired?  Then its name is the key's
 * holder; anything else makes the key stale.
 */
int
mq_key_live(struct mq_queue *q, const char *where, long long now)
{
	struct stat st;
	enum mq_dir dir;

	if (strncmp(where, "new/", 4) == 0)
		dir = MQ_NEW;
	else if (strncmp(where, "cur/", 4) == 0 && q->cfg.coalesce_claimed)
		dir = MQ_CUR;
	else
		return 0;
	if (!mq_name_safe(where + 4))
		return 0;
	if (fstatat(q->dfd[dir], where + 4, &st, AT_SYMLINK_NOFOLLOW) < 0)
		/* Waiting behind its group's head is waiting (group.c). */
		return dir == MQ_NEW && mq_group_waits(q, where + 4);
	if (!S_ISREG(st.st_mode))
		return 0;
	return dir == MQ_NEW || mq_mtime_ms(&st) > now;
}

/*
 * Create keys/KEY saying where, whole and already locked: written under a
 * hidden name of its own, locked, linked to KEY (fails with EEXIST if the
 * key exists), the hidden name removed.  Returns the locked descriptor.
 */
static int
create(struct mq_queue *q, int kfd, const char *key, const char *where)
{
	char tmp[MQ_FIELD_MAX + 32];
	int fd, e, r;

	snprintf(tmp, sizeof(tmp), ".%s.%ld.%08x", key, (long)getpid(),
	    arc4random());
	/* In a group queue any member may take over or let go of a key. */
	fd = openat(kfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, q->fmode & 0040 ? 0660 : q->fmode);
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX) < 0 || rewrite(fd, where) < 0)
		r = -1;
	else
		r = linkat(kfd, tmp, kfd, key, 0);
	e = errno;
	unlinkat(kfd, tmp, 0);
	if (r < 0) {
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/*
 * A put of the message that will be new/NAME takes key: 1 when the key is
 * ours (*lockfd holds it locked: keep it until the message is in new/ and
 * durable, then mq_key_release), 0 when another message holds it (holder
 * gets "new/NAME" or "cur/NAME"), -1 on an error.
 */
int
mq_key_take(struct mq_queue *q, const char *key, const char *name,
    int *lockfd, char *holder, size_t len)
{
	char where[MQ_NAME_MAX + 8];
	int kfd, fd, tries;

	*lockfd = -1;
	snprintf(where, sizeof(where), "new/%s", name);
	if ((kfd = mq_key_dir(q, 1)) < 0)
		return fail(q, NULL);
	for (tries = 0; tries < 64; tries++) {
		if ((fd = create(q, kfd, key, where)) >= 0)
			break;
		if (errno != EEXIST)
			goto fail;
		if ((fd = mq_key_lock(kfd, key, 0)) < 0) {
			if (errno == ENOENT)
				continue; /* let go meanwhile: create it */
			goto fail;
		}
		if (mq_key_read(fd, holder, len) < 0)
			goto fail;
		if (mq_key_live(q, holder, mq_now_ms())) {
			close(fd);
			close(kfd);
			return 0;
		}
		/* Stale: its message is gone.  Ours now. */
		if (rewrite(fd, where) < 0)
			goto fail;
		break;
	}
	if (fd < 0) {
		errno = EAGAIN;
		goto fail;
	}
	close(kfd);
	*lockfd = fd;
	return 1;
fail:
	fail(q, key);
	if (fd >= 0)
		close(fd);
	close(kfd);
	return -1;
}

/* The put is done (its message durable in new/): let others read the key. */
void
mq_key_release(int lockfd)
{
	if (lockfd >= 0)
		close(lockfd);
}

/*
 * The put failed or was refused after taking the key: remove it (we hold
 * its lock, so it is still ours), or it would name a message never put.
 */
void
mq_key_drop(struct mq_queue *q, const char *key, int lockfd)
{
	int kfd, e = errno;

	if ((kfd = mq_key_dir(q, 0)) >= 0) {
		unlinkat(kfd, key, 0);
		close(kfd);
	}
	close(lockfd);
	errno = e;
}

/*
 * A claim took the message that was dir/from (now cur/to): the key lets go
 * of it (removed), or with coalesce = claimed follows it into cur/.  Only
 * if the key still names that message; a failure here costs nothing but a
 * stale key, which the next put or mqreap repairs.
 */
void
mq_key_claimed(struct mq_queue *q, const char *key, enum mq_dir dir,
    const char *from, const char *to)
{
	char where[MQ_NAME_MAX + 8], was[MQ_NAME_MAX + 8];
	int kfd, fd;

	if ((kfd = mq_key_dir(q, 0)) < 0)
		return;
	if ((fd = mq_key_lock(kfd, key, 0)) >= 0) {
		snprintf(was, sizeof(was), "%s/%s", mq_dirnames[dir], from);
		if (mq_key_read(fd, where, sizeof(where)) == 0 &&
		    strcmp(where, was) == 0) {
			snprintf(where, sizeof(where), "cur/%s", to);
			if (!q->cfg.coalesce_claimed || rewrite(fd, where) < 0)
				unlinkat(kfd, key, 0);
		}
		close(fd);
	}
	close(kfd);
}
