/*
 * reap-follow.c: mqreap -f, the reaper that keeps running.
 *
 * The loop of a daemon (s6-svscan's shape): work out the next deadline,
 * wait for it or for an event, dispatch.  A queue's next pass is when its
 * earliest claim deadline, TTL or retention falls due (mq_reap says), at
 * the latest MAXSLEEP_MS (done/ and tmp/ raise no event); inotify on new/
 * and cur/ brings it forward (an arrival may be due sooner than what we
 * wait for), and a pidfd per owner of a live claim on this host brings it
 * to now when that owner dies.
 */
#include <sys/syscall.h>

#include <err.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reap.h"

#define MAXSLEEP_MS (10 * 60 * 1000)
#define BUSY_MS 1000		/* retry of a queue locked by another */
#define POLL_MIN_MS 1000	/* see pass() */


static void
watch_owner(struct reap *rp, pid_t pid)
{
	struct pollfd pfd;
	int fd;

	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0) {
		if (errno != ESRCH)
			rp->unwatched = 1;
		return;
	}
	/* Readable at once: a zombie, which kill(2) still finds; poll it. */
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 0) != 0) {
		close(fd);
		rp->unwatched = 1;
		return;
	}
	rp->pidfd[rp->npidfd++] = fd;
}

/* The owner of a live claim: watch it, once; many claims share a worker. */
static void
follow_owner(struct mq_reaper *r, pid_t pid)
{
	struct reap *rp = r->ctx;
	size_t i;

	/* Full: a million claims must not each search the list. */
	if (rp->npidfd == MAXPIDFD) {
		rp->unwatched = 1;
		return;
	}
	for (i = 0; i < rp->nseen; i++)
		if (rp->seen[i] == pid)
			return;
	if (rp->nseen < MAXPIDFD * 4)
		rp->seen[rp->nseen++] = pid;
	watch_owner(rp, pid);
}

static void
forget_owners(struct reap *rp)
{
	size_t i;

	for (i = 0; i < rp->npidfd; i++)
		close(rp->pidfd[i]);
	rp->npidfd = rp->nseen = 0;
	rp->unwatched = 0;
}

/*
 * In a fault of the file system (fault.c): does the queue answer again?
 * 1 if so (a queue opened anew gets a new watch), 0 if not yet.
 */
static int
recovered(struct reap *rp, long long now)
{
	switch (mq_fault_retry(&rp->fault, &rp->q, now)) {
	case 0:
		return 0;
	case -1:
		/* Gone for good: said, and looked for again later. */
		mq_tool_tally(mq_tool_error(&rp->q, NULL));
		rp->fault.err = 0;
		return 0;
	}
	mq_tool_fault(&rp->q, &rp->fault);
	if (rp->fault.reopened) {
		mq_watch_close(rp->w);
		if ((rp->w = mq_watch_open(&rp->q, MQ_WATCH_CUR)) == NULL)
			err(MQ_EXIT_TEMP, NULL);
	}
	return 1;
}

/*
 * This host's heartbeat (host.c), when due; one that cannot be written for
 * good is said once and given up.
 */
static void
host_beat(struct reap *rp, long long now)
{
	if (rp->q.host_beat < 0 || rp->q.host_beat > now ||
	    mq_host_beat(&rp->q, now) == 0)
		return;
	if (mq_exitcode(errno) == MQ_EXIT_TEMP) {
		reap_failed(rp);
		return;
	}
	mq_tool_tally(mq_tool_error(&rp->q, "no heartbeat"));
	rp->q.host_beat = -1;
}

/* A pass, and when the next one is. */
static void
pass(struct reap *rp)
{
	long long now = mq_now_ms(), poll;

	if (rp->fault.err && !recovered(rp, now)) {
		rp->next = rp->fault.next;
		return;
	}
	forget_owners(rp);
	reap(rp);
	rp->took = mq_now_ms() - now;
	now = mq_now_ms();
	if (rp->fault.err) {
		rp->next = rp->fault.next;
		return;
	}
	if (rp->locked_out) {
		rp->next = now + BUSY_MS;
		return;
	}
	rp->next = now + MAXSLEEP_MS;
	mq_soonest(&rp->next, rp->r.due);
	/*
	 * Polling: never more than a quarter of the time in passes, nor
	 * more often than POLL_MIN_MS however short the queue's poll (made
	 * for consumers waiting for other hosts' puts; claimers take back
	 * expired claims themselves, a reaper is the backstop).
	 */
	if (rp->unwatched || mq_watch_fd(rp->w) < 0) {
		poll = rp->q.cfg.poll_ms > POLL_MIN_MS ? rp->q.cfg.poll_ms :
		    POLL_MIN_MS;
		mq_soonest(&rp->next, now + (4 * rp->took > poll ?
		    4 * rp->took : poll));
	}
}

/* The descriptors to wait on; owner[k] is the queue of pfd[k]. */
static size_t
gather(struct reap *rs, size_t nq, struct pollfd *pfd, size_t *owner,
    long long *until)
{
	size_t i, j, k = 0;

	*until = 0;
	for (i = 0; i < nq; i++) {
		mq_soonest(until, rs[i].next);
		mq_soonest(until, rs[i].q.host_beat);
		pfd[k].fd = mq_watch_fd(rs[i].w);
		pfd[k].events = POLLIN;
		owner[k++] = i;
		for (j = 0; j < rs[i].npidfd; j++) {
			pfd[k].fd = rs[i].pidfd[j];
			pfd[k].events = POLLIN;
			owner[k++] = i;
		}
	}
	return k;
}

/*
 * An arrival: nothing that just arrived can be due before the settle (a
 * fresh claim is not taken back sooner), so a burst costs one pass, not one
 * each; and a queue whose pass is long (a million entries) is not scanned
 * over and over while busy: mqget takes back expired claims itself, the
 * reaper is only the backstop.
 */
static void
dispatch(struct reap *rp, int fd, long long now)
{
	long long settle = 4 * rp->took > MQ_RENAME_GRACE_MS ? 4 * rp->took :
	    MQ_RENAME_GRACE_MS;

	if (fd == mq_watch_fd(rp->w)) {
		mq_watch_drain(rp->w, NULL);
		mq_soonest(&rp->next, now + settle);
	} else
		rp->next = now; /* an owner died */
}

static void
close_all(struct reap *rs, size_t nq)
{
	size_t i;

	for (i = 0; i < nq; i++) {
		mq_watch_close(rs[i].w);
		forget_owners(&rs[i]);
		mq_host_leave(&rs[i].q);
		if (rs[i].lockfd >= 0)
			close(rs[i].lockfd);
		mq_close(&rs[i].q);
	}
}

void
follow(struct reap *rs, size_t nq)
{
	struct pollfd *pfd;
	size_t i, j, k, *owner;
	long long now, until;
	int r;

	if ((pfd = calloc(nq * (MAXPIDFD + 1), sizeof(*pfd))) == NULL ||
	    (owner = calloc(nq * (MAXPIDFD + 1), sizeof(*owner))) == NULL)
		err(MQ_EXIT_TEMP, NULL);
	for (i = 0; i < nq; i++) {
		rs[i].r.ctx = &rs[i];	/* rs was grown by realloc */
		rs[i].r.owner = follow_owner;
		if ((rs[i].w = mq_watch_open(&rs[i].q, MQ_WATCH_CUR)) == NULL)
			err(MQ_EXIT_TEMP, NULL);
	}
	while (!gotstop) {
		now = mq_now_ms();
		for (i = 0; i < nq; i++) {
			host_beat(&rs[i], now);
			if (gothup || rs[i].next <= now)
				pass(&rs[i]);
		}
		gothup = 0;
		if (mq_tool_flush() < 0)
			exit(MQ_EXIT_TEMP);
		k = gather(rs, nq, pfd, owner, &until);
		now = mq_now_ms();
		r = poll(pfd, k, until <= now ? 0 : until - now > MAXSLEEP_MS ?
		    MAXSLEEP_MS : (int)(until - now));
		if (r < 0 && errno != EINTR)
			err(MQ_EXIT_TEMP, "poll");
		now = mq_now_ms();
		for (j = 0; j < k && r > 0; j++)
			if (pfd[j].revents)
				dispatch(&rs[owner[j]], pfd[j].fd, now);
	}
	close_all(rs, nq);
	free(pfd);
	free(owner);
}
