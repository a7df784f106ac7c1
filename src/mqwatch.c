/*
 * mqwatch: run a command for each message as it arrives.
 *
 *	mqwatch [-0P] [-i idle] [-j jobs] [-k grace] [-n count] [-o log]
 *	    [-r rate] [-t timeout] queue [-- command [arg ...]]
 *
 * One single-threaded event loop: poll(2) on a signalfd (SIGCHLD, SIGTERM,
 * SIGINT), the queue's inotify descriptor and, without a command, stdout.
 * Timers, not polling, for everything that has a time: the heartbeats that
 * keep running claims alive (every third of the timeout), the moment a
 * delayed message or an expired claim becomes claimable, the stop grace,
 * the idle limit.
 *
 * A message is claimed only when a handler slot is free, so claims never
 * wait in mqwatch.  The claims carry mqwatch's pid as their owner, and the
 * handlers get SIGKILL when mqwatch dies (the parent-death signal): a dead
 * mqwatch's claims can be taken back at once without the message being
 * handled twice at the same time.
 *
 * A rate (-r) is one limit for the whole pool (rate.c): a claim needs a
 * start allowed, and while none is the loop neither claims nor listens
 * for arrivals; the time of the next is one more deadline.  It is counted
 * once the claim is made, so the claims' own times (their deadlines less
 * the timeout) keep the limit.
 *
 * Without a command, claim paths go to stdout, one at a time: the next
 * message is claimed only once the reader has taken the previous line out
 * of the pipe (FIONREAD says it is empty), and the line waiting in the pipe
 * is kept alive by heartbeats until then.  So at most one claim waits for
 * the reader, and its timeout runs from about when the reader takes it.
 */
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

#define MAXJOBS 1024
#define TAKEN_MIN_US 100	/* pipe checks back off from this ... */
#define TAKEN_MAX_US 100000	/* ... to this */
#define EXIT_PERMFAIL 100	/* a handler's "never retry" */

struct job {
	pid_t pid;		/* 0: a free slot */
	struct mq_claim c;
	long long beat;		/* next heartbeat, us */
	int killed;		/* by us, at the end of the stop grace */
	int lost;		/* the claim moved on under us */
	int ep;			/* exec's outcome, until known; else -1 */
	int execerr;		/* the errno of a failed exec, else 0 */
	char result[PATH_MAX];	/* MQ_RESULT: where it may leave a result */
};

/* All of mqwatch's state: the options, then what the loop keeps. */
struct watch {
	struct mq_queue q;
	char **cmd;		/* NULL: paths to stdout */
	size_t njobs;
	long long timeout, grace, idle, count;
	struct mq_rate rate;	/* -r; n 0: no limit */
	int logfd, eol, polling;
	const char *logpath;

	struct mq_walk walk;
	struct mq_watch *w;
	struct mq_fault fault;	/* the file system failing for a while */
	int sfd;		/* signalfd */
	struct job *jobs;
	struct pollfd *pfd;	/* the loop's 3 + one per exec pending */
	size_t running;
	long long handed;	/* claims handed to handlers or the reader */
	long long idle_since;	/* us */
	long long due;		/* ms: something not yet claimable will be */
	int more;		/* the last claim got all it asked: go on */
	int arrived;		/* woken by inotify: check the pipe now */
	int ratewait;		/* the rate holds claims back: deaf to arrivals */
	int stopping, stoprc;
	long long stop_at;	/* us: kill what still runs; 0: done */

	/* Without a command: the claim whose line may still sit in the pipe. */
	struct job pend;
	int outpipe;
	long long check_at, check_us;
};

static void __dead2
usage(void)
{
	fprintf(stderr, "usage: mqwatch [-0P] [-i idle] [-j jobs] [-k grace] "
	    "[-n count] [-o log] [-r rate] [-t timeout] queue "
	    "[-- command [arg ...]]\n");
	exit(MQ_EXIT_USAGE);
}

static long long
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
stop(struct watch *W, int code)
{
	if (!W->stopping) {
		W->stopping = 1;
		W->stop_at = now_us() + W->grace * 1000;
	}
	W->stoprc = mq_exit_worse(W->stoprc, code);
}

/*
 * An error of the spool: a temporary one is a fault of the file system to
 * ride out (fault.c: said once, no claims until the queue answers again);
 * any other is the end: stop the way SIGTERM does.
 */
static void
claim_error(struct watch *W)
{
	switch (mq_fault_begin(&W->fault, &W->q, errno, mq_now_ms())) {
	case 1:
		mq_tool_fault(&W->q, &W->fault);
		/* FALLTHROUGH */
	case 0:
		return;
	}
	stop(W, mq_tool_error(&W->q, NULL));
}

/* An error of an operation on a claim: ESTALE, the claim moved on. */
static void
spool_error(struct watch *W)
{
	if (errno == ESTALE) {
		mq_tool_error(&W->q, "claim moved on");
		return;
	}
	claim_error(W);
}

/*
 * In a fault, once its time has come: does the queue answer again?  A
 * queue opened anew needs a new watch and a new scan.
 */
static void
recover(struct watch *W)
{
	switch (mq_fault_retry(&W->fault, &W->q, mq_now_ms())) {
	case 0:
		return;
	case -1:
		stop(W, mq_tool_error(&W->q, NULL));
		return;
	}
	mq_tool_fault(&W->q, &W->fault);
	if (!W->fault.reopened)
		return;
	W->walk.stale = 1;
	mq_watch_close(W->w);
	if ((W->w = mq_watch_open(&W->q, W->polling ? MQ_WATCH_POLL : 0)) ==
	    NULL)
		err(MQ_EXIT_TEMP, "inotify");
	W->walk.watched = mq_watch_fd(W->w) >= 0;
}

/*
 * This host's heartbeat (host.c).  One that cannot be written for good
 * (hosts/ not ours to write) is said once and given up: this host's
 * claims then live by their deadlines alone.
 */
static void
host_beat(struct watch *W)
{
	if (mq_host_beat(&W->q, mq_now_ms()) == 0)
		return;
	if (mq_exitcode(errno) == MQ_EXIT_TEMP) {
		claim_error(W);
		return;
	}
	mq_tool_error(&W->q, "no heartbeat");
	W->q.host_beat = -1;
}

/* A handler's environment: where its message is and what it is. */
static int
environment(const struct watch *W, const struct job *j)
{
	const struct mq_claim *c = &j->c;
	char path[PATH_MAX], num[32];

	snprintf(path, sizeof(path), "%s/cur/%s", W->q.path, c->name);
	if (setenv("MQ_PATH", path, 1) < 0 ||
	    setenv("MQ_RESULT", j->result, 1) < 0 ||
	    setenv("MQ_ID", c->n.id, 1) < 0 ||
	    setenv("MQ_QUEUE", W->q.path, 1) < 0)
		return -1;
	snprintf(num, sizeof(num), "%lld", c->n.deliveries);
	if (setenv("MQ_DELIVERIES", num, 1) < 0)
		return -1;
	snprintf(num, sizeof(num), "%lld", mq_name_time(c->n.id));
	return setenv("MQ_ENQUEUED", num, 1);
}

/*
 * Runs in the child, between fork and exec.  A standard descriptor that
 * mqwatch got closed is /dev/null opened for reading (mq_tool_init); a
 * handler gets one it can write to.
 */
static void __dead2
child(const struct watch *W, int body, int errfd, pid_t parent,
    const struct job *j)
{
	sigset_t none;
	int e, fd;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* An ignored signal stays ignored across exec. */
	signal(SIGPIPE, SIG_DFL);
	/* Its own process group: ^C at a terminal is mqwatch's to handle. */
	setpgid(0, 0);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(MQ_EXIT_TEMP);
	if (dup2(body, STDIN_FILENO) < 0)
		goto fail;
	for (fd = STDOUT_FILENO; fd <= STDERR_FILENO; fd++)
		if (W->logfd >= 0 ? dup2(W->logfd, fd) < 0 :
		    (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY &&
		    (close(fd), open("/dev/null", O_WRONLY)) != fd)
			goto fail;
	if (environment(W, j) < 0)
		goto fail;
	execvp(W->cmd[0], W->cmd);
fail:
	e = errno;
	write(errfd, &e, sizeof(e));
	_exit(127);
}

/*
 * Start the handler of a claim.  Returns 0; -1 with errno if the message
 * could not be opened; -2 with errno if no process could be made.  The
 * error of exec itself comes back later through a close-on-exec pipe
 * (exec_outcome): waiting for it here held the whole loop for as long as
 * the child took to be scheduled, ~0.9 ms a handler on a busy machine,
 * and a pool of handlers that wait scaled to 5.7x with -j 8.
 */
static int
spawn(struct watch *W, struct job *j)
{
	pid_t pid, parent = getpid();
	int body, ep[2], e;

	if ((body = mq_open_body(&W->q, MQ_CUR, j->c.name)) < 0)
		return -1;
	/* Where its handler may leave a result (end.c): none there yet. */
	if (mq_result_path(&W->q, (unsigned)(j - W->jobs), j->result,
	    sizeof(j->result)) < 0) {
		close(body);
		return -1;
	}
	ep[0] = ep[1] = -1;
	if (pipe2(ep, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		e = errno;
		close(body);
		if (ep[0] >= 0) {
			close(ep[0]);
			close(ep[1]);
		}
		errno = e;
		return -2;
	}
	if (pid == 0)
		child(W, body, ep[1], parent, j);
	close(body);
	close(ep[1]);
	j->ep = ep[0];
	j->execerr = 0;
	j->pid = pid;
	j->killed = j->lost = 0;
	j->beat = now_us() + W->timeout * 1000 / 3;
	W->running++;
	return 0;
}

/*
 * Read what exec said: end of file once it succeeded, the child's errno if
 * it failed.  Called when the pipe is readable, or once the child is gone.
 */
static void
exec_outcome(struct job *j)
{
	ssize_t r;
	int e;

	if (j->ep < 0)
		return;
	while ((r = read(j->ep, &e, sizeof(e))) < 0 && errno == EINTR)
		;
	if (r == sizeof(e))
		j->execerr = e;
	close(j->ep);
	j->ep = -1;
}

static void not_started(struct watch *, struct mq_claim *, int);

/* A handler is done: its exit status is the event, fate.c the rule. */
static void
finish(struct watch *W, struct job *j, int status)
{
	enum mq_event ev;
	char *res;
	size_t len;
	int got, r;

	W->running--;
	j->pid = 0;
	exec_outcome(j);
	if (j->execerr) {
		/* Never started: the message is not counted as handed. */
		W->handed--;
		errno = j->execerr;
		not_started(W, &j->c, -2);
		return;
	}
	/* Taken whatever the handler's fate: never left for the next one. */
	if ((got = mq_result_take(&W->q, (unsigned)(j - W->jobs), &res,
	    &len)) < 0)
		mq_tool_error(&W->q, "result");
	if (j->lost) {
		free(res);
		return;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		ev = MQ_EV_DONE;
	else if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_PERMFAIL)
		ev = MQ_EV_REJECTED;
	else if (j->killed)
		ev = MQ_EV_INTERRUPTED; /* by us: not the message's fault */
	else
		ev = MQ_EV_FAILED;
	/* A result it left but that cannot be kept (EFBIG): not done. */
	if (got < 0 && ev == MQ_EV_DONE)
		ev = MQ_EV_FAILED;
	if (ev == MQ_EV_REJECTED)
		warnx("%s/cur/%s: exit %d: to dead/", W->q.path, j->c.name,
		    EXIT_PERMFAIL);
	else if (ev == MQ_EV_FAILED && WIFEXITED(status))
		warnx("%s/cur/%s: exit %d", W->q.path, j->c.name,
		    WEXITSTATUS(status));
	else if (ev == MQ_EV_FAILED)
		warnx("%s/cur/%s: %s", W->q.path, j->c.name,
		    strsignal(WTERMSIG(status)));
	if (got > 0 && ev == MQ_EV_DONE)
		r = mq_finish_result(&W->q, j->c.name, res, len);
	else
		r = mq_finish(&W->q, j->c.name, ev, NULL, 0);
	free(res);
	if (r < 0)
		spool_error(W);
}

static void
reap_children(struct watch *W)
{
	pid_t pid;
	size_t i;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < W->njobs; i++)
			if (W->jobs[i].pid == pid) {
				finish(W, &W->jobs[i], status);
				break;
			}
	}
}

/* Keep a claim alive while its handler (or the pipe) holds it. */
static void
heartbeat(struct watch *W, struct job *j, long long now)
{
	if (j->lost || now < j->beat)
		return;
	j->beat = now + W->timeout * 1000 / 3;
	if (mq_extend(&W->q, j->c.name, W->timeout) < 0) {
		if (errno == ESTALE)
			j->lost = 1;
		else /* a fault: try again soon, the deadline runs */
			j->beat = now + 1000000;
		spool_error(W);
	}
}

/*
 * A claim that no handler or reader got: back, not counted as a delivery
 * (fate.c: undelivered; unstarted, after a back-off, when a fork failed).
 */
static void
give_back(struct watch *W, const struct mq_claim *c, enum mq_event ev)
{
	if (mq_finish(&W->q, c->name, ev, NULL, 0) < 0 && errno != ESTALE)
		spool_error(W);
}

/* A claim whose handler could not start: r is spawn's -1 or -2. */
static void
not_started(struct watch *W, struct mq_claim *c, int r)
{
	int e = errno;

	if (r == -1)
		warn("%s/cur/%s", W->q.path, c->name);
	else if (r == -2) {
		/* A command that cannot start fails every message: once. */
		if (mq_exit_worse(W->stoprc, mq_exitcode(e)) != W->stoprc)
			warn("%s", W->cmd[0]);
		stop(W, mq_exitcode(e));
	}
	give_back(W, c, r == -1 ? MQ_EV_UNSTARTED : MQ_EV_UNDELIVERED);
}

/*
 * The rate made us wait deaf to arrivals (wait_dispatch): hear them now
 * that it allows a claim, so that one more urgent than the walk's next is
 * claimed first.
 */
static void
heard_late(struct watch *W)
{
	if (!W->ratewait)
		return;
	W->ratewait = 0;
	if (W->walk.pos < W->walk.s.n)
		mq_watch_drain(W->w, &W->walk);
}

/* Claim for the free slots and start their handlers. */
static void
claim_jobs(struct watch *W)
{
	struct mq_claim c[64];
	size_t free = W->njobs - W->running, n = 0, i, k = 0;
	int r;

	if (free > sizeof(c) / sizeof(c[0]))
		free = sizeof(c) / sizeof(c[0]);
	if (W->count > 0 && (long long)free > W->count - W->handed)
		free = (size_t)(W->count - W->handed);
	if (free == 0)
		return;
	/* Not yet: look again at the time the rate allows (next_deadline). */
	if ((free = mq_rate_allow(&W->rate, now_us(), free)) == 0) {
		W->more = 1;
		return;
	}
	heard_late(W);
	if (mq_walk_claim(&W->q, &W->walk, free, W->timeout, getpid(), c, &n,
	    &W->due) < 0) {
		claim_error(W);
		return;
	}
	mq_rate_spend(&W->rate, now_us(), n);
	W->more = n == free;
	/* The claims are durable before anything acts on them. */
	if (n > 0 && mq_sync(&W->q) < 0) {
		stop(W, mq_tool_error(&W->q, NULL));
		for (i = 0; i < n; i++)
			give_back(W, &c[i], MQ_EV_UNDELIVERED);
		return;
	}
	for (i = 0; i < n; i++) {
		while (W->jobs[k].pid != 0)
			k++;
		W->jobs[k].c = c[i];
		r = W->stopping ? 0 : spawn(W, &W->jobs[k]);
		if (r == 0 && !W->stopping)
			W->handed++;
		else
			not_started(W, &c[i], r);
	}
}

/* Without a command: print one claim's path once the pipe is empty. */
static void
claim_line(struct watch *W)
{
	char line[PATH_MAX + 2];
	size_t n;
	int len;

	if (W->count > 0 && W->handed >= W->count)
		return;
	if (!mq_rate_allow(&W->rate, now_us(), 1)) {
		W->more = 1;
		return;
	}
	heard_late(W);
	if (mq_walk_claim(&W->q, &W->walk, 1, W->timeout, 0, &W->pend.c, &n,
	    &W->due) < 0) {
		claim_error(W);
		return;
	}
	mq_rate_spend(&W->rate, now_us(), n);
	W->more = n == 1;
	if (n == 0)
		return;
	len = snprintf(line, sizeof(line), "%s/cur/%s%c", W->q.path,
	    W->pend.c.name, W->eol);
	if (mq_sync(&W->q) < 0 || len >= (int)sizeof(line)) {
		if (len >= (int)sizeof(line))
			errno = ENAMETOOLONG;
		stop(W, mq_tool_error(&W->q, NULL));
		give_back(W, &W->pend.c, MQ_EV_UNDELIVERED);
		return;
	}
	if (mq_write_all(STDOUT_FILENO, line, (size_t)len) < 0) {
		warn("stdout");
		stop(W, MQ_EXIT_TEMP);
		give_back(W, &W->pend.c, MQ_EV_UNDELIVERED);
		return;
	}
	W->handed++;
	if (!W->outpipe)
		return;
	W->pend.pid = 1;
	W->pend.lost = 0;
	W->pend.beat = now_us() + W->timeout * 1000 / 3;
	W->check_us = TAKEN_MIN_US;
	W->check_at = now_us() + W->check_us;
	W->arrived = 0; /* served: the next look is the timer's or an arrival's */
}

/* Has the reader taken the line?  Then the claim is the reader's. */
static void
check_taken(struct watch *W, long long now)
{
	long long deadline;
	int left;

	/*
	 * A new message is a reason to look at once: a prompt reader has
	 * usually taken the line already, and the back-off timer (plus the
	 * timer slack) would add ~150 us to every push.
	 */
	if (!W->pend.pid || (now < W->check_at && !W->arrived))
		return;
	W->arrived = 0;
	if (ioctl(STDOUT_FILENO, FIONREAD, &left) < 0 || left == 0) {
		W->pend.pid = 0;
		W->more = 1; /* claim the next one now, not after a sleep */
		/* Give the reader a whole timeout if ours is partly gone. */
		deadline = W->pend.beat + W->timeout * 1000 * 2 / 3;
		if (!W->pend.lost &&
		    deadline - now < W->timeout * 1000 * 9 / 10 &&
		    mq_extend(&W->q, W->pend.c.name, W->timeout) < 0 &&
		    errno != ESTALE)
			spool_error(W);
		return;
	}
	W->check_us = W->check_us * 2 > TAKEN_MAX_US ? TAKEN_MAX_US :
	    W->check_us * 2;
	W->check_at = now + W->check_us;
}

/* A line nobody will read: its claim is still ours to give back. */
static void
release_pending(struct watch *W)
{
	if (!W->pend.pid)
		return;
	W->pend.pid = 0;
	if (!W->pend.lost)
		give_back(W, &W->pend.c, MQ_EV_UNDELIVERED);
}

static void
signals(struct watch *W, long long now, int pending)
{
	struct signalfd_siginfo si;
	size_t i;

	while (pending && read(W->sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo != SIGTERM && si.ssi_signo != SIGINT)
			continue;
		if (W->stopping)
			W->stop_at = now; /* a second signal: no more grace */
		stop(W, MQ_EXIT_OK);
	}
	if (!W->stopping || W->stop_at == 0 || now < W->stop_at)
		return;
	for (i = 0; i < W->njobs; i++)
		if (W->jobs[i].pid > 0 && !W->jobs[i].killed) {
			kill(-W->jobs[i].pid, SIGKILL);
			kill(W->jobs[i].pid, SIGKILL);
			W->jobs[i].killed = 1;
			stop(W, MQ_EXIT_TEMP);
		}
	W->stop_at = 0; /* done: no more timer */
}

/* The work of one turn: finished handlers, claims, heartbeats, the pipe. */
static void
work(struct watch *W)
{
	long long before = W->handed, now;
	size_t i;

	if (W->running > 0)
		reap_children(W);
	W->due = 0;
	W->more = 0;
	/* The reader took the last line?  Then the next claim goes now. */
	check_taken(W, now_us());
	if (W->fault.err)
		recover(W);
	host_beat(W);
	if (W->stopping || W->fault.err)
		; /* no claims */
	else if (W->cmd != NULL)
		claim_jobs(W);
	else if (!W->pend.pid)
		claim_line(W);
	now = now_us();
	/* A fault is no idleness: nothing could be claimed. */
	if (W->handed != before || W->running > 0 || W->pend.pid ||
	    W->fault.err)
		W->idle_since = now;
	for (i = 0; i < W->njobs; i++)
		if (W->jobs[i].pid > 0)
			heartbeat(W, &W->jobs[i], now);
	if (W->pend.pid)
		heartbeat(W, &W->pend, now);
	if (W->stopping)
		release_pending(W);
	if (!W->fault.err && mq_sync(&W->q) < 0)
		claim_error(W);
}

/* Is the loop over: stopped and drained, -n count reached, idle? */
static int
over(struct watch *W, long long now)
{
	int busy = W->running > 0 || W->pend.pid;

	if (W->stopping && W->running == 0)
		return 1;
	if (W->count > 0 && W->handed >= W->count && !busy)
		return 1;
	if (W->idle > 0 && !busy && now - W->idle_since >= W->idle * 1000) {
		W->stoprc = W->handed > 0 ? MQ_EXIT_OK : MQ_EXIT_EMPTY;
		return 1;
	}
	return 0;
}

/*
 * The next thing that has a time (us, 0: none); *listen says whether an
 * arrival would matter now (a free slot, no line waiting).
 */
static long long
next_deadline(struct watch *W, long long now, int *listen)
{
	long long wake = 0;
	size_t i;

	*listen = !W->stopping && (W->count == 0 || W->handed < W->count) &&
	    (W->cmd != NULL ? W->running < W->njobs : !W->pend.pid);
	/* Rate-limited: nothing to claim before then, whatever arrives. */
	W->ratewait = 0;
	if (*listen && !mq_rate_allow(&W->rate, now, 1)) {
		*listen = 0;
		W->ratewait = 1;
		mq_soonest(&wake, mq_rate_next(&W->rate, now));
	}
	for (i = 0; i < W->njobs; i++)
		if (W->jobs[i].pid > 0)
			mq_soonest(&wake, W->jobs[i].beat);
	if (W->pend.pid) {
		mq_soonest(&wake, W->pend.beat);
		mq_soonest(&wake, W->check_at);
	}
	if (*listen && W->more)
		wake = now; /* the walk is not at its end */
	if (*listen && W->due > 0)
		mq_soonest(&wake, W->due * 1000);
	if (*listen && mq_watch_fd(W->w) < 0)
		mq_soonest(&wake, now + W->q.cfg.poll_ms * 1000);
	mq_soonest(&wake, W->q.host_beat * 1000);
	if (W->fault.err)
		mq_soonest(&wake, W->fault.next * 1000);
	if (W->stopping)
		mq_soonest(&wake, W->stop_at);
	if (W->idle > 0 && W->running == 0 && !W->pend.pid)
		mq_soonest(&wake, W->idle_since + W->idle * 1000);
	return wake;
}

/* Sleep until wake (us, 0: forever) or an event, and take the events. */
static void
wait_dispatch(struct watch *W, long long wake, int listen)
{
	struct pollfd *pfd = W->pfd;
	struct timespec ts;
	long long left;
	size_t i, n = 3;
	int r;

	pfd[0].fd = W->sfd;
	pfd[0].events = POLLIN;
	/*
	 * Also while busy in the middle of a walk: an urgent arrival is
	 * then known, and claimed before the rest of the walk (worker.c).
	 * Not while the rate holds claims back: a wake-up for each arrival
	 * would buy nothing; claim_jobs hears them when the rate allows.
	 */
	pfd[1].fd = !W->stopping && (listen || W->pend.pid ||
	    (W->walk.pos < W->walk.s.n && !W->ratewait)) ?
	    mq_watch_fd(W->w) : -1;
	pfd[1].events = POLLIN;
	/* The reader gone (POLLERR) while a line waits in the pipe. */
	pfd[2].fd = W->pend.pid ? STDOUT_FILENO : -1;
	pfd[2].events = 0;
	for (i = 0; i < W->njobs && W->cmd != NULL; i++)
		if (W->jobs[i].ep >= 0) {
			pfd[n].fd = W->jobs[i].ep;
			pfd[n++].events = POLLIN;
		}
	left = wake > 0 ? wake - now_us() : 0;
	ts.tv_sec = left > 0 ? left / 1000000 : 0;
	ts.tv_nsec = left > 0 ? left % 1000000 * 1000 : 0;
	r = ppoll(pfd, n, wake > 0 ? &ts : NULL, NULL);
	if (r < 0 && errno != EINTR)
		err(MQ_EXIT_TEMP, "poll");
	/* An exec that succeeded: its pipe is at end of file, closed. */
	for (i = 0, n = 3; i < W->njobs && W->cmd != NULL && r > 0; i++)
		if (W->jobs[i].ep >= 0 && pfd[n++].revents)
			exec_outcome(&W->jobs[i]);
	if (r > 0 && (pfd[1].revents & POLLIN)) {
		W->arrived = 1;
		/*
		 * A hint only: we get here with the walk at its end (a claim
		 * got fewer than asked), so the next claim rescans; that
		 * covers every event, IN_Q_OVERFLOW (events lost) too.
		 * Resetting a walk on every event would rescan a long backlog
		 * for each message: our own renames into cur/ raise events.
		 */
		mq_watch_drain(W->w, &W->walk);
	}
	if (r > 0 && (pfd[2].revents & (POLLERR | POLLHUP))) {
		warnx("stdout: the reader is gone");
		release_pending(W);
		stop(W, MQ_EXIT_TEMP);
	}
	signals(W, now_us(), r > 0 && pfd[0].revents);
}

static void
options(struct watch *W, int argc, char *argv[])
{
	const char *e;
	int ch;

	while ((ch = getopt(argc, argv, "+0Pi:j:k:n:o:r:t:")) != -1) {
		switch (ch) {
		case '0':
			W->eol = '\0';
			break;
		case 'P':
			W->polling = 1;
			break;
		case 'i':
			if (mq_parse_duration(optarg, &W->idle) < 0 ||
			    W->idle == 0)
				errx(MQ_EXIT_USAGE, "-i %s: bad duration", optarg);
			break;
		case 'j':
			W->njobs = (size_t)strtonum(optarg, 1, MAXJOBS, &e);
			if (e)
				errx(MQ_EXIT_USAGE, "-j %s: %s (1 to %d)", optarg,
				    e, MAXJOBS);
			break;
		case 'k':
			if (mq_parse_duration(optarg, &W->grace) < 0)
				errx(MQ_EXIT_USAGE, "-k %s: bad duration", optarg);
			break;
		case 'n':
			W->count = strtonum(optarg, 1, LLONG_MAX, &e);
			if (e)
				errx(MQ_EXIT_USAGE, "-n %s: %s", optarg, e);
			break;
		case 'o':
			W->logpath = optarg;
			break;
		case 'r':
			mq_rate_free(&W->rate);
			if (mq_rate_parse(optarg, &W->rate) < 0 && errno == ENOMEM)
				err(MQ_EXIT_TEMP, "malloc");
			if (W->rate.n == 0)
				errx(MQ_EXIT_USAGE, "-r %s: bad rate (1 to %d "
				    "per s, m or h: 60/s)", optarg, MQ_RATE_MAX);
			break;
		case 't':
			if (mq_parse_duration(optarg, &W->timeout) < 0 ||
			    W->timeout < 3)
				errx(MQ_EXIT_USAGE, "-t %s: bad duration", optarg);
			break;
		default:
			usage();
		}
	}
}

/* Open what the loop needs; the watch before the first scan. */
static void
setup(struct watch *W, const char *queue)
{
	struct stat st;
	sigset_t mask;

	if (W->logpath && (W->logfd = open(W->logpath, O_WRONLY | O_CREAT |
	    O_APPEND | O_NOCTTY | O_CLOEXEC, 0600)) < 0)
		err(mq_exitcode(errno), "%s", W->logpath);
	if (mq_open(&W->q, queue, 0, 0) < 0)
		exit(mq_tool_open_error(&W->q, queue));
	W->q.skipped = mq_tool_skipped;
	if (W->timeout < 0)
		W->timeout = W->q.cfg.timeout_ms;
	if ((W->jobs = calloc(W->njobs, sizeof(*W->jobs))) == NULL ||
	    (W->pfd = calloc(3 + W->njobs, sizeof(*W->pfd))) == NULL)
		err(MQ_EXIT_TEMP, "malloc");
	for (size_t i = 0; i < W->njobs; i++)
		W->jobs[i].ep = -1;
	W->outpipe = W->cmd == NULL && fstat(STDOUT_FILENO, &st) == 0 &&
	    S_ISFIFO(st.st_mode);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
	    (W->sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		err(MQ_EXIT_TEMP, "signalfd");
	/* Subscribe before the first scan: no arrival falls in between. */
	if ((W->w = mq_watch_open(&W->q, W->polling ? MQ_WATCH_POLL : 0)) == NULL)
		err(MQ_EXIT_TEMP, "inotify");
	/* Arrivals named by inotify are claimed without a rescan. */
	W->walk.watched = mq_watch_fd(W->w) >= 0;
}

int
main(int argc, char *argv[])
{
	static struct watch W = { .njobs = 1, .timeout = -1, .grace = 10000,
		.logfd = -1, .eol = '\n' };
	long long now, wake;
	int listen;

	options(&W, argc, argv);
	argc -= optind;
	argv += optind;
	if (argc < 1 || (argc > 1 && (strcmp(argv[1], "--") != 0 || argc < 3)))
		usage();
	if (argc > 1)
		W.cmd = argv + 2;
	if (W.cmd == NULL && (W.njobs > 1 || W.logpath))
		errx(MQ_EXIT_USAGE, "-j and -o need a command");
	if (W.cmd != NULL && W.eol == '\0')
		errx(MQ_EXIT_USAGE, "-0 is for the mode without a command");

	mq_tool_init();
	setup(&W, mq_tool_path(argv[0]));
	/* The loop of a daemon: work, next deadline, wait, dispatch. */
	W.idle_since = now_us();
	for (;;) {
		work(&W);
		now = now_us();
		if (over(&W, now))
			break;
		wake = next_deadline(&W, now, &listen);
		wait_dispatch(&W, wake, listen);
	}
	mq_watch_close(W.w);
	close(W.sfd);
	mq_walk_free(&W.walk);
	mq_rate_free(&W.rate);
	free(W.jobs);
	free(W.pfd);
	if (mq_sync(&W.q) < 0)
		W.stoprc = mq_tool_error(&W.q, NULL);
	mq_host_leave(&W.q);
	mq_close(&W.q);
	return W.stoprc;
}
