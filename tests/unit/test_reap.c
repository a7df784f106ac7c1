/*
 * test_reap.c: the expiry rule of claims (the gate's, mq_gate_claim) and
 * the owner tags it reads (mq_owner_pid), on made-up stat results: no
 * spool needed, but a directory for the heartbeats of hosts (host.c).
 * Prints one line per failure and a final "N passed, N failed".
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mq-internal.h"
#include "check.h"

static struct stat
times(long long mtime_ms, long long ctime_ms)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	st.st_mtim.tv_sec = mtime_ms / 1000;
	st.st_mtim.tv_nsec = (mtime_ms % 1000) * 1000000;
	st.st_ctim.tv_sec = ctime_ms / 1000;
	st.st_ctim.tv_nsec = (ctime_ms % 1000) * 1000000;
	return st;
}

static struct mq_name
owned(pid_t pid, const char *tag)
{
	struct mq_name n;

	memset(&n, 0, sizeof(n));
	if (pid > 0)
		snprintf(n.owner, sizeof(n.owner), "%s-%ld", tag, (long)pid);
	return n;
}

/*
 * 1 if the claim st/n of queue q (NULL: hosts not asked) is due at now,
 * 2 if so because its host fell silent; else 0, *due lowered to when.
 */
static int
expired_q(struct mq_queue *q, const struct stat *st, const struct mq_name *n,
    long long now, long long *due)
{
	struct mq_look l;

	memset(&l, 0, sizeof(l));
	l.n = *n;
	if (mq_gate_claim(q, st, &l, now) == MQ_LOOK_DUE)
		return l.host_silent ? 2 : 1;
	if (due)
		mq_soonest(due, l.at);
	return 0;
}

static int
expired(const struct stat *st, const struct mq_name *n, long long now,
    long long *due)
{
	return expired_q(NULL, st, n, now, due);
}

/* TAG in the directory dfd, its mtime ms: a heartbeat (host.c). */
static void
beat(int dfd, const char *tag, long long ms)
{
	struct timespec ts[2];
	int fd;

	if ((fd = openat(dfd, tag, O_WRONLY | O_CREAT, 0600)) >= 0)
		close(fd);
	ts[0].tv_sec = ts[1].tv_sec = ms / 1000;
	ts[0].tv_nsec = ts[1].tv_nsec = ms % 1000 * 1000000;
	utimensat(dfd, tag, ts, 0);
}

/*
 * A claim of a host whose heartbeat in hosts/ is older than host_timeout
 * is due as at its silence, with no settle; readings are kept a second.
 */
static void
silent(long long now)
{
	const char *other = "0123456789ab";
	char dir[] = "/tmp/test_reap.XXXXXX";
	struct mq_queue q;
	struct mq_name n;
	struct stat st;
	long long due, t;
	int dfd;

	memset(&q, 0, sizeof(q));
	mq_config_defaults(&q.cfg);
	t = q.cfg.host_timeout_ms = 5000;
	if (mkdtemp(dir) == NULL || (q.fd = open(dir, O_RDONLY)) < 0 ||
	    mkdirat(q.fd, "hosts", 0700) < 0 ||
	    (dfd = openat(q.fd, "hosts", O_RDONLY)) < 0) {
		CHECK(!"a directory for hosts/");
		return;
	}
	n = owned(77, other);
	st = times(now + 3600000, now - 10);
	/* No heartbeat: the deadline decides. */
	due = 0;
	CHECK(expired_q(&q, &st, &n, now, &due) == 0);
	CHECK(due == now + 3600000);
	mq_host_forget(&q);
	/* Alive: due when it falls silent. */
	beat(dfd, other, now - 1000);
	due = 0;
	CHECK(expired_q(&q, &st, &n, now, &due) == 0);
	CHECK(due == now - 1000 + t);
	/* Silent: due, though its rename is 10 ms old. */
	mq_host_forget(&q);
	beat(dfd, other, now - t - 1);
	CHECK(expired_q(&q, &st, &n, now, &due) == 2);
	/* A reading made once it was silent holds a second, then no more. */
	beat(dfd, other, now - 1);
	CHECK(expired_q(&q, &st, &n, now + 999, &due) == 2);
	CHECK(expired_q(&q, &st, &n, now + 1000, &due) == 0);
	/* An alive reading older than its fall silent is read again. */
	mq_host_forget(&q);
	beat(dfd, other, now - t + 100);
	CHECK(expired_q(&q, &st, &n, now, &due) == 0);
	beat(dfd, other, now - t - 1);
	CHECK(expired_q(&q, &st, &n, now + 100, &due) == 2);
	/* This host's own claims are never judged by a heartbeat. */
	n = owned(getpid(), mq_host_tag());
	beat(dfd, mq_host_tag(), now - t - 1);
	CHECK(expired_q(&q, &st, &n, now, NULL) == 0);
	unlinkat(dfd, other, 0);
	unlinkat(dfd, mq_host_tag(), 0);
	close(dfd);
	unlinkat(q.fd, "hosts", AT_REMOVEDIR);
	close(q.fd);
	rmdir(dir);
	mq_host_forget(&q);
}

int
main(void)
{
	const long long now = 1800000000000LL, s = MQ_RENAME_GRACE_MS;
	const char *tag = mq_host_tag();
	struct mq_name none = owned(0, tag), n;
	struct stat st;
	long long due;
	pid_t dead;

	/* Deadline passed and the rename settled: expired. */
	st = times(now - 1000, now - s - 1);
	due = 0;
	CHECK(expired(&st, &none, now, &due) == 1);
	CHECK(due == 0);
	/* Deadline passed, rename too recent: due when it settles. */
	st = times(now - 60000, now - 10);
	CHECK(expired(&st, &none, now, &due) == 0);
	CHECK(due == now - 10 + s);
	/* Deadline ahead: due at the deadline; an earlier due stays. */
	st = times(now + 5000, now - 60000);
	due = 0;
	CHECK(expired(&st, &none, now, &due) == 0);
	CHECK(due == now + 5000);
	due = now + 1;
	CHECK(expired(&st, &none, now, &due) == 0);
	CHECK(due == now + 1);
	CHECK(expired(&st, &none, now, NULL) == 0);

	/* A dead owner on this host: expired before its deadline. */
	if ((dead = fork()) == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	n = owned(dead, tag);
	CHECK(mq_owner_pid(n.owner) == dead);
	st = times(now + 3600000, now - s - 1);
	due = 0;
	CHECK(expired(&st, &n, now, &due) == 1);
	/* ... but not within the settle, and due when it settles. */
	st = times(now + 3600000, now - 10);
	CHECK(expired(&st, &n, now, &due) == 0);
	CHECK(due == now - 10 + s);
	/* A live owner: its deadline decides. */
	n = owned(getpid(), tag);
	st = times(now + 3600000, now - s - 1);
	due = 0;
	CHECK(expired(&st, &n, now, &due) == 0);
	CHECK(due == now + 3600000);
	/* Another host's claim: its pid means nothing here. */
	n = owned(dead, "000000000000");
	CHECK(mq_owner_pid(n.owner) == 0);
	CHECK(expired(&st, &n, now, &due) == 0);
	/* Malformed tags are nobody's. */
	CHECK(mq_owner_pid("") == 0);
	CHECK(mq_owner_pid(tag) == 0);
	snprintf(n.owner, sizeof(n.owner), "%s-0", tag);
	CHECK(mq_owner_pid(n.owner) == 0);
	snprintf(n.owner, sizeof(n.owner), "%s-x1", tag);
	CHECK(mq_owner_pid(n.owner) == 0);

	silent(now);
	return check_done("test_reap");
}
