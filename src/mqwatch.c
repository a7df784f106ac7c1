/*
 * mqwatch: run a command for each message as it arrives.
 *
 *	mqwatch [-0P] [-i idle] [-j jobs] [-k grace] [-n count] [-o log]
 *	    [-t timeout] queue [-- command [arg ...]]
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

#include "mq.h"

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
};

static struct mq_queue q;
static struct mq_walk walk;
static struct job *jobs;
static size_t njobs = 1, running;
static char **cmd;
static long long timeout = -1, grace = 10000, idle, count;
static long long handed;	/* claims handed to handlers or the reader */
static int more;		/* the last claim got all it asked: go on */
static int arrived;		/* woken by inotify: check the pipe now */
static int logfd = -1, eol = '\n';

static int stopping, stoprc;
static long long stop_at;	/* us: kill what still runs */

/* Without a command: the claim whose line may still sit in the pipe. */
static struct job pend;
static int outpipe;
static long long check_at, check_us;

static void __dead2
usage(void)
{
	fprintf(stderr, "usage: mqwatch [-0P] [-i idle] [-j jobs] [-k grace] "
	    "[-n count] [-o log] [-t timeout] queue [-- command [arg ...]]\n");
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
soonest(long long *at, long long t)
{
	if (t > 0 && (*at == 0 || t < *at))
		*at = t;
}

static void
stop(int code)
{
	if (!stopping) {
		stopping = 1;
		stop_at = now_us() + grace * 1000;
	}
	if (code > stoprc)
		stoprc = code;
}

/* An error of the spool is the end: stop the way SIGTERM does. */
static void
spool_error(void)
{
	if (errno == ESTALE) {
		mq_tool_error(&q, "claim moved on");
		return;
	}
	stop(mq_tool_error(&q, NULL));
}

/* Runs in the child, between fork and exec. */
static void __dead2
child(int body, int errfd, pid_t parent, const struct mq_claim *c)
{
	char path[PATH_MAX], num[32];
	sigset_t none;
	int e;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* An ignored signal stays ignored across exec. */
	signal(SIGPIPE, SIG_DFL);
	/* Its own process group: ^C at a terminal is mqwatch's to handle. */
	setpgid(0, 0);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(MQ_EXIT_TEMP);
	if (dup2(body, STDIN_FILENO) < 0 ||
	    (logfd >= 0 && (dup2(logfd, STDOUT_FILENO) < 0 ||
	    dup2(logfd, STDERR_FILENO) < 0)))
		goto fail;
	snprintf(path, sizeof(path), "%s/cur/%s", q.path, c->name);
	if (setenv("MQ_PATH", path, 1) < 0 ||
	    setenv("MQ_ID", c->n.id, 1) < 0 ||
	    setenv("MQ_QUEUE", q.path, 1) < 0)
		goto fail;
	snprintf(num, sizeof(num), "%lld", c->n.deliveries);
	if (setenv("MQ_DELIVERIES", num, 1) < 0)
		goto fail;
	snprintf(num, sizeof(num), "%lld", mq_name_time(c->n.id));
	if (setenv("MQ_ENQUEUED", num, 1) < 0)
		goto fail;
	execvp(cmd[0], cmd);
fail:
	e = errno;
	write(errfd, &e, sizeof(e));
	_exit(127);
}

/*
 * Start the handler of a claim.  Returns 0; -1 with errno if the message
 * could not be opened; -2 with errno if the command could not be started
 * (the error of exec itself comes back through a close-on-exec pipe).
 */
static int
spawn(struct job *j)
{
	pid_t pid, parent = getpid();
	int body, ep[2], e, st2;
	ssize_t r;

	if ((body = mq_open_body(&q, MQ_CUR, j->c.name)) < 0)
		return -1;
	if (pipe2(ep, O_CLOEXEC) < 0) {
		e = errno;
		close(body);
		errno = e;
		return -2;
	}
	if ((pid = fork()) < 0) {
		e = errno;
		close(body);
		close(ep[0]);
		close(ep[1]);
		errno = e;
		return -2;
	}
	if (pid == 0)
		child(body, ep[1], parent, &j->c);
	close(body);
	close(ep[1]);
	while ((r = read(ep[0], &e, sizeof(e))) < 0 && errno == EINTR)
		;
	close(ep[0]);
	if (r == sizeof(e)) {
		while (waitpid(pid, &st2, 0) < 0 && errno == EINTR)
			;
		errno = e;
		return -2;
	}
	j->pid = pid;
	j->killed = j->lost = 0;
	j->beat = now_us() + timeout * 1000 / 3;
	running++;
	return 0;
}

/* A handler is done: its exit status is the event, fate.c the rule. */
static void
finish(struct job *j, int status)
{
	struct mq_verdict v;
	enum mq_event ev;

	running--;
	j->pid = 0;
	if (j->lost)
		return;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		ev = MQ_EV_DONE;
	else if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_PERMFAIL)
		ev = MQ_EV_REJECTED;
	else if (j->killed)
		ev = MQ_EV_INTERRUPTED; /* by us: not the message's fault */
	else
		ev = MQ_EV_FAILED;
	if (ev == MQ_EV_REJECTED)
		warnx("%s/cur/%s: exit %d: to dead/", q.path, j->c.name,
		    EXIT_PERMFAIL);
	else if (ev == MQ_EV_FAILED && WIFEXITED(status))
		warnx("%s/cur/%s: exit %d", q.path, j->c.name,
		    WEXITSTATUS(status));
	else if (ev == MQ_EV_FAILED)
		warnx("%s/cur/%s: %s", q.path, j->c.name,
		    strsignal(WTERMSIG(status)));
	mq_fate(&q.cfg, &j->c.n, ev, mq_now_ms(), &v);
	if (mq_settle(&q, MQ_CUR, j->c.name, &v, NULL, 0) < 0)
		spool_error();
}

static void
reap(void)
{
	pid_t pid;
	size_t i;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < njobs; i++)
			if (jobs[i].pid == pid) {
				finish(&jobs[i], status);
				break;
			}
	}
}

/* Keep a claim alive while its handler (or the pipe) holds it. */
static void
heartbeat(struct job *j, long long now)
{
	if (j->lost || now < j->beat)
		return;
	j->beat = now + timeout * 1000 / 3;
	if (mq_extend(&q, j->c.name, timeout) < 0) {
		if (errno == ESTALE)
			j->lost = 1;
		spool_error();
	}
}

/* Claim for the free slots and start their handlers. */
static void
claim_jobs(long long *due)
{
	struct mq_claim c[64];
	size_t free = njobs - running, n = 0, i, k = 0;
	int r, e;

	if (free > sizeof(c) / sizeof(c[0]))
		free = sizeof(c) / sizeof(c[0]);
	if (count > 0 && (long long)free > count - handed)
		free = (size_t)(count - handed);
	if (free == 0)
		return;
	if (mq_walk_claim(&q, &walk, free, timeout, getpid(), c, &n,
	    due) < 0) {
		spool_error();
		return;
	}
	more = n == free;
	/* The claims are durable before anything acts on them. */
	if (n > 0 && mq_sync(&q) < 0) {
		stop(mq_tool_error(&q, NULL));
		for (i = 0; i < n; i++)
			mq_release(&q, c[i].name, 0);
		return;
	}
	for (i = 0; i < n; i++) {
		while (jobs[k].pid != 0)
			k++;
		jobs[k].c = c[i];
		r = stopping ? 0 : spawn(&jobs[k]);
		if (r == 0 && !stopping) {
			handed++;
			continue;
		}
		e = errno;
		if (r == -1)
			warn("%s/cur/%s", q.path, c[i].name);
		else if (r == -2) {
			/* A command that cannot start fails every message. */
			warn("%s", cmd[0]);
			stop(mq_exitcode(e));
		}
		if (mq_release(&q, c[i].name, r == -1 ? mq_backoff_ms(
		    c[i].n.deliveries) : 0) < 0)
			spool_error();
	}
}

/* Without a command: print one claim's path once the pipe is empty. */
static void
claim_line(long long *due)
{
	char line[PATH_MAX + 2];
	size_t n;
	int len;

	if (count > 0 && handed >= count)
		return;
	if (mq_walk_claim(&q, &walk, 1, timeout, 0, &pend.c, &n, due) < 0) {
		spool_error();
		return;
	}
	more = n == 1;
	if (n == 0)
		return;
	len = snprintf(line, sizeof(line), "%s/cur/%s%c", q.path,
	    pend.c.name, eol);
	if (mq_sync(&q) < 0 || len >= (int)sizeof(line)) {
		if (len >= (int)sizeof(line))
			errno = ENAMETOOLONG;
		stop(mq_tool_error(&q, NULL));
		mq_release(&q, pend.c.name, 0);
		return;
	}
	if (mq_write_all(STDOUT_FILENO, line, (size_t)len) < 0) {
		warn("stdout");
		stop(MQ_EXIT_TEMP);
		if (mq_release(&q, pend.c.name, 0) < 0)
			spool_error();
		return;
	}
	handed++;
	if (!outpipe)
		return;
	pend.pid = 1;
	pend.lost = 0;
	pend.beat = now_us() + timeout * 1000 / 3;
	check_us = TAKEN_MIN_US;
	check_at = now_us() + check_us;
}

/* Has the reader taken the line?  Then the claim is the reader's. */
static void
check_taken(long long now)
{
	int left;

	/*
	 * A new message is a reason to look at once: a prompt reader has
	 * usually taken the line already, and the back-off timer (plus the
	 * timer slack) would add ~150 us to every push.
	 */
	if (!pend.pid || (now < check_at && !arrived))
		return;
	arrived = 0;
	if (ioctl(STDOUT_FILENO, FIONREAD, &left) < 0 || left == 0) {
		pend.pid = 0;
		more = 1; /* claim the next one now, not after a sleep */
		/* Give the reader a whole timeout if ours is partly gone. */
		long long deadline = pend.beat + timeout * 1000 * 2 / 3;
		if (!pend.lost && deadline - now < timeout * 1000 * 9 / 10 &&
		    mq_extend(&q, pend.c.name, timeout) < 0 && errno != ESTALE)
			spool_error();
		return;
	}
	check_us = check_us * 2 > TAKEN_MAX_US ? TAKEN_MAX_US : check_us * 2;
	check_at = now + check_us;
}

/* A line nobody will read: its claim is still ours to give back. */
static void
release_pending(void)
{
	if (!pend.pid)
		return;
	pend.pid = 0;
	if (!pend.lost && mq_release(&q, pend.c.name, 0) < 0 &&
	    errno != ESTALE)
		spool_error();
}

static void
signals(int sfd, long long now)
{
	struct signalfd_siginfo si;
	size_t i;

	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo != SIGTERM && si.ssi_signo != SIGINT)
			continue;
		if (stopping)
			stop_at = now; /* a second signal: no more grace */
		stop(MQ_EXIT_OK);
	}
	if (!stopping || stop_at == 0 || now < stop_at)
		return;
	for (i = 0; i < njobs; i++)
		if (jobs[i].pid > 0 && !jobs[i].killed) {
			kill(-jobs[i].pid, SIGKILL);
			kill(jobs[i].pid, SIGKILL);
			jobs[i].killed = 1;
			stop(MQ_EXIT_TEMP);
		}
	stop_at = 0; /* done: no more timer */
}

/* Every descriptor a handler gets must be one it expects. */
static void
std_fds(void)
{
	int fd;

	for (fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0 &&
		    open("/dev/null", fd ? O_WRONLY : O_RDONLY) != fd)
			err(MQ_EXIT_TEMP, "/dev/null");
}

int
main(int argc, char *argv[])
{
	struct mq_watch *w;
	struct pollfd pfd[3];
	struct stat st;
	struct timespec ts;
	sigset_t mask;
	const char *e, *logpath = NULL;
	long long now, wake, due = 0, idle_since, done_before, jn = 1;
	int ch, polling = 0, sfd, wfd, r, dopoll;

	while ((ch = getopt(argc, argv, "+0Pi:j:k:n:o:t:")) != -1) {
		switch (ch) {
		case '0':
			eol = '\0';
			break;
		case 'P':
			polling = 1;
			break;
		case 'i':
			if (mq_parse_duration(optarg, &idle) < 0 || idle == 0)
				errx(MQ_EXIT_USAGE, "-i %s: bad duration", optarg);
			break;
		case 'j':
			jn = strtonum(optarg, 1, MAXJOBS, &e);
			if (e)
				errx(MQ_EXIT_USAGE, "-j %s: %s (1 to %d)", optarg,
				    e, MAXJOBS);
			break;
		case 'k':
			if (mq_parse_duration(optarg, &grace) < 0)
				errx(MQ_EXIT_USAGE, "-k %s: bad duration", optarg);
			break;
		case 'n':
			count = strtonum(optarg, 1, LLONG_MAX, &e);
			if (e)
				errx(MQ_EXIT_USAGE, "-n %s: %s", optarg, e);
			break;
		case 'o':
			logpath = optarg;
			break;
		case 't':
			if (mq_parse_duration(optarg, &timeout) < 0 ||
			    timeout < 3)
				errx(MQ_EXIT_USAGE, "-t %s: bad duration", optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || (argc > 1 && (strcmp(argv[1], "--") != 0 || argc < 3)))
		usage();
	if (argc > 1)
		cmd = argv + 2;
	if (cmd == NULL && (jn > 1 || logpath))
		errx(MQ_EXIT_USAGE, "-j and -o need a command");
	if (cmd != NULL && eol == '\0')
		errx(MQ_EXIT_USAGE, "-0 is for the mode without a command");
	njobs = (size_t)jn;

	umask(0);
	std_fds();
	signal(SIGPIPE, SIG_IGN);
	if (logpath && (logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND |
	    O_NOCTTY | O_CLOEXEC, 0600)) < 0)
		err(mq_exitcode(errno), "%s", logpath);
	if (mq_open(&q, mq_tool_path(argv[0]), 0, 0) < 0)
		return mq_tool_open_error(&q, argv[0]);
	q.skipped = mq_tool_skipped;
	if (timeout < 0)
		timeout = q.cfg.timeout_ms;
	if ((jobs = calloc(njobs, sizeof(*jobs))) == NULL)
		err(MQ_EXIT_TEMP, "malloc");
	outpipe = cmd == NULL && fstat(STDOUT_FILENO, &st) == 0 &&
	    S_ISFIFO(st.st_mode);

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
	    (sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		err(MQ_EXIT_TEMP, "signalfd");
	/* Subscribe before the first scan: no arrival falls in between. */
	if ((w = mq_watch_open(&q, polling)) == NULL)
		err(MQ_EXIT_TEMP, "inotify");
	wfd = mq_watch_fd(w);

	idle_since = now_us();
	for (;;) {
		now = now_us();
		reap();
		done_before = handed;
		due = 0;
		more = 0;
		if (!stopping && cmd != NULL)
			claim_jobs(&due);
		else if (!stopping && !pend.pid)
			claim_line(&due);
		now = now_us();
		if (handed != done_before || running > 0 || pend.pid)
			idle_since = now;
		for (size_t i = 0; i < njobs; i++)
			if (jobs[i].pid > 0)
				heartbeat(&jobs[i], now);
		if (pend.pid)
			heartbeat(&pend, now);
		check_taken(now);
		if (stopping)
			release_pending();
		if (mq_sync(&q) < 0)
			stop(mq_tool_error(&q, NULL));

		if (stopping && running == 0)
			break;
		if (count > 0 && handed >= count && running == 0 &&
		    !pend.pid)
			break;
		if (idle > 0 && running == 0 && !pend.pid &&
		    now - idle_since >= idle * 1000) {
			stoprc = handed > 0 ? MQ_EXIT_OK : MQ_EXIT_EMPTY;
			break;
		}

		/* Sleep until the next thing that has a time, or an event. */
		wake = 0;
		dopoll = !stopping && (count == 0 || handed < count) &&
		    (cmd != NULL ? running < njobs : !pend.pid);
		for (size_t i = 0; i < njobs; i++)
			if (jobs[i].pid > 0)
				soonest(&wake, jobs[i].beat);
		if (pend.pid) {
			soonest(&wake, pend.beat);
			soonest(&wake, check_at);
		}
		if (dopoll && more)
			wake = now; /* the walk is not at its end */
		if (dopoll && due > 0)
			soonest(&wake, due * 1000);
		if (dopoll && wfd < 0)
			soonest(&wake, now + MQ_POLL_MS * 1000);
		if (stopping)
			soonest(&wake, stop_at);
		if (idle > 0 && running == 0 && !pend.pid)
			soonest(&wake, idle_since + idle * 1000);
		pfd[0].fd = sfd;
		pfd[0].events = POLLIN;
		pfd[1].fd = dopoll || (pend.pid && !stopping) ? wfd : -1;
		pfd[1].events = POLLIN;
		/* The reader gone (POLLERR) while a line waits in the pipe. */
		pfd[2].fd = pend.pid ? STDOUT_FILENO : -1;
		pfd[2].events = 0;
		if (wake > 0) {
			long long left = wake - now_us();
			if (left < 0)
				left = 0;
			ts.tv_sec = left / 1000000;
			ts.tv_nsec = left % 1000000 * 1000;
		}
		r = ppoll(pfd, 3, wake > 0 ? &ts : NULL, NULL);
		if (r < 0 && errno != EINTR)
			err(MQ_EXIT_TEMP, "poll");
		now = now_us();
		if (r > 0 && (pfd[1].revents & POLLIN)) {
			arrived = 1;
			/*
			 * A hint only: we get here with the walk at its end
			 * (a claim got fewer than asked), so the next claim
			 * rescans; that covers every event, IN_Q_OVERFLOW
			 * (events lost) too.  Resetting a walk on every event
			 * would rescan a long backlog for each message: our
			 * own renames into cur/ raise events.
			 */
			mq_watch_drain(w);
		}
		if (r > 0 && (pfd[2].revents & (POLLERR | POLLHUP))) {
			warnx("stdout: the reader is gone");
			release_pending();
			stop(MQ_EXIT_TEMP);
		}
		signals(sfd, now);
	}
	mq_watch_close(w);
	close(sfd);
	mq_walk_free(&walk);
	free(jobs);
	if (mq_sync(&q) < 0)
		stoprc = mq_tool_error(&q, NULL);
	mq_close(&q);
	return stoprc;
}
