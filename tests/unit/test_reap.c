/*
 * test_reap.c: the expiry rule of claims (the gate's, mq_gate_claim) and
 * the owner tags it reads (mq_owner_pid), on made-up stat results: no
 * spool needed.
 * Prints one line per failure and a final "N passed, N failed".
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <stdio.h>
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

/* 1 if the claim st/n is due at now; else 0, *due lowered to when. */
static int
expired(const struct stat *st, const struct mq_name *n, long long now,
    long long *due)
{
	struct mq_look l;

	memset(&l, 0, sizeof(l));
	l.n = *n;
	if (mq_gate_claim(NULL, st, &l, now) == MQ_LOOK_DUE)
		return 1;
	if (due)
		mq_soonest(due, l.at);
	return 0;
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

	return check_done("test_reap");
}
