/*
 * mqget: claim messages.
 *
 *	mqget [-0b] [-n count] [-p pid] [-t timeout] [-w wait] queue
 *
 * Claims the oldest visible messages (up to count, default 1) and prints the
 * path of each claim in cur/: "cat" reads it, "mqack" acknowledges it.  A
 * claim not acknowledged before its timeout comes back.  With -w, waits for
 * a message, woken by dnotify (the watch is opened before the first scan),
 * and by a timer for delayed messages and expiring claims.  With -b, the
 * bodies go to stdout instead and each is acknowledged once written.  A
 * paused queue (QUEUE/paused exists) gives nothing: exit 6, said so; with
 * -w, mqget waits for it to be removed.
 *
 * Paths are printed only after the claims are durable.  A claim whose path
 * could not be printed (a closed stdout) is released, not lost.
 */
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

#define MAXCOUNT 10000

static void __dead2
usage(void)
{
	fprintf(stderr, "usage: mqget [-0b] [-n count] [-p pid] [-t timeout] "
	    "[-w wait] queue\n");
	exit(MQ_EXIT_USAGE);
}

/*
 * Copy a claim's body to stdout, never following or blocking on a plant.
 * Returns 0, or the exit status of the failure: opening the body, the
 * spool's errno decides (a body we may not read stays so: 100); reading
 * it (EIO) or writing stdout is temporary.
 */
static int
cat_body(struct mq_queue *q, const char *name)
{
	int fd, e, rc = 0;

	if ((fd = mq_open_body(q, MQ_CUR, name)) < 0)
		return mq_exitcode(errno);
	if (fflush(stdout) == EOF || mq_copy(fd, STDOUT_FILENO) < 0)
		rc = MQ_EXIT_TEMP;
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

/*
 * Put back, uncounted, the claims we could not hand over.  One that cannot
 * be given back (said) comes back at its deadline, counted.
 */
static void
unclaim_from(struct mq_queue *q, struct mq_claim *c, size_t from, size_t n)
{
	for (; from < n; from++)
		if (mq_finish(q, c[from].name, MQ_EV_UNDELIVERED, NULL, 0) < 0)
			mq_tool_error(q, "not given back");
	if (mq_sync(q) < 0)
		mq_tool_error(q, NULL);
}

/*
 * The paths go out in whole lines, as many as fit in PIPE_BUF per write(2)
 * (one system call per path was a third of a batch claim's cost): a write
 * of at most PIPE_BUF to a pipe is atomic, so lines of mqgets sharing a
 * pipe never mix.  No stdio buffer: when stdout fails, the claims of the
 * failed write on are known not to have been handed over.
 */
struct out {
	char buf[PIPE_BUF];
	size_t len;
	size_t first;		/* the claim of buf's first line */
};

static int
flush_out(struct out *o, size_t next)
{
	int r = o->len ? mq_write_all(STDOUT_FILENO, o->buf, o->len) : 0;

	if (r == 0) {
		o->len = 0;
		o->first = next;
	}
	return r;
}

/* Add claim i's path; -1 if a write failed (o->first: the first not given). */
static int
print_claim(struct out *o, struct mq_queue *q, const struct mq_claim *c,
    size_t i, int eol)
{
	char line[PATH_MAX + MQ_NAME_MAX + 8];
	size_t pl = strlen(q->path), nl = strlen(c->name), len;

	/* Not snprintf: 1,000 of a batch claim's 7,500 instructions. */
	len = pl + 5 + nl + 1;
	if (len >= sizeof(line)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(line, q->path, pl);
	memcpy(line + pl, "/cur/", 5);
	memcpy(line + pl + 5, c->name, nl);
	line[len - 1] = (char)eol;
	if (o->len + len > sizeof(o->buf) && flush_out(o, i) < 0)
		return -1;
	if (len > sizeof(o->buf))
		return mq_write_all(STDOUT_FILENO, line, len) < 0 ? -1 :
		    flush_out(o, i + 1);
	memcpy(o->buf + o->len, line, len);
	o->len += len;
	return 0;
}

/*
 * While waiting, this host keeps its heartbeat (host.c); one that cannot
 * be written for good is said once and given up.
 */
static void
host_beat(struct mq_queue *q)
{
	if (mq_host_beat(q, mq_now_ms()) == 0 ||
	    mq_exitcode(errno) == MQ_EXIT_TEMP)
		return; /* a fault: the claim meets it too */
	mq_tool_error(q, "no heartbeat");
	q->host_beat = -1;
}

/*
 * A claim failed while waiting: a temporary failure is a fault of the file
 * system (fault.c), said once and waited out until the wait ends; then, or
 * for any other failure, the exit.  The watch is renewed with the queue.
 */
static void
fault(struct mq_queue *q, struct mq_fault *f, struct mq_watch **w,
    long long until)
{
	switch (mq_fault_begin(f, q, errno, mq_now_ms())) {
	case -1:
		exit(mq_tool_error(q, NULL));
	case 1:
		mq_tool_fault(q, f);
	}
	for (;;) {
		if (mq_now_ms() >= until) {
			errno = f->err;
			strlcpy(q->errobj, f->obj, sizeof(q->errobj));
			exit(mq_tool_error(q, NULL));
		}
		mq_watch_wait(*w, f->next < until ? f->next : until);
		switch (mq_fault_retry(f, q, mq_now_ms())) {
		case -1:
			exit(mq_tool_error(q, NULL));
		case 1:
			mq_tool_fault(q, f);
			if (f->reopened) {
				mq_watch_close(*w);
				if ((*w = mq_watch_open(q, MQ_WATCH_BRIEF)) ==
				    NULL)
					err(MQ_EXIT_TEMP, "watch");
			}
			return;
		}
	}
}

/*
 * Claim up to count; with wait > 0, wait for a message until then, woken
 * by dnotify (the watch is opened before the first scan) and by a timer
 * for delayed messages, expiring claims and this host's heartbeat.
 * Returns how many, or exits; the watch (*wp) is left for the caller to
 * close once the claims are handed over: the consumer waits for no
 * teardown.
 */
static size_t
claim(struct mq_queue *q, struct mq_claim *c, size_t count,
    long long timeout, pid_t owner, long long wait, struct mq_watch **wp)
{
	struct mq_fault f = { .err = 0 };
	struct mq_watch *w = NULL;
	long long until = 0, next;
	size_t n;

	if (wait > 0) {
		until = mq_now_ms() + wait;
		/* Brief: an inotify watch took 8-15 ms to close (watch.c). */
		if ((w = mq_watch_open(q, MQ_WATCH_BRIEF)) == NULL)
			err(MQ_EXIT_TEMP, "watch");
		mq_name_prime();
	}
	for (;;) {
		if (w != NULL)
			host_beat(q);
		if (mq_claim(q, count, timeout, owner, c, &n, &next) < 0) {
			if (w == NULL)
				exit(mq_tool_error(q, NULL));
			fault(q, &f, &w, until);
			continue;
		}
		if (n > 0 || wait == 0 || mq_now_ms() >= until)
			break;
		if (q->host_beat > 0 && (next == 0 || q->host_beat < next))
			next = q->host_beat;
		if (mq_watch_wait(w, next && next < until ? next : until) < 0 &&
		    errno != EINTR)
			err(MQ_EXIT_TEMP, "%s: wait", q->path);
	}
	*wp = w;
	return n;
}

/* Nothing claimed: an empty queue (1), or a paused one (6, said so). */
static int
empty(struct mq_queue *q)
{
	switch (mq_paused(q)) {
	case 0:
		return MQ_EXIT_EMPTY;
	case 1:
		warnx("%s: paused (remove %s/paused to resume)", q->path,
		    q->path);
		return MQ_EXIT_PAUSED;
	}
	return mq_tool_error(q, NULL);
}

/*
 * Hand the claims over: their paths, or (-b) their bodies, each then
 * acknowledged.  What could not be handed over is given back, uncounted.
 */
static int
handout(struct mq_queue *q, struct mq_claim *c, size_t n, int body, int eol)
{
	struct out o = { .len = 0, .first = 0 };
	size_t i;
	int rc = 0, code;

	for (i = 0; i < n; i++) {
		if (body) {
			code = cat_body(q, c[i].name);
			if (code == 0 && eol == '\0' &&
			    mq_write_all(1, "", 1) < 0)
				code = MQ_EXIT_TEMP;
			if (code != 0) {
				warn("%s/cur/%s", q->path, c[i].name);
				unclaim_from(q, c, i, n);
				return code;
			}
			if (mq_finish(q, c[i].name, MQ_EV_DONE, NULL, 0) < 0)
				rc = mq_tool_error(q, NULL);
			continue;
		}
		if (print_claim(&o, q, &c[i], i, eol) < 0)
			break;
	}
	if (!body && (i < n || flush_out(&o, n) < 0)) {
		/* Nobody got these paths: give the claims back. */
		warn("stdout");
		unclaim_from(q, c, o.first, n);
		return MQ_EXIT_TEMP;
	}
	if (body && mq_sync(q) < 0)
		rc = mq_tool_error(q, NULL);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct mq_queue q;
	struct mq_claim *c;
	struct mq_watch *w = NULL;
	long long timeout = -1, wait = 0, count = 1, owner = 0;
	const char *e;
	size_t n;
	int ch, body = 0, eol = '\n', rc;

	while ((ch = getopt(argc, argv, "0bn:p:t:w:")) != -1) {
		switch (ch) {
		case '0':
			eol = '\0';
			break;
		case 'b':
			body = 1;
			break;
		case 'n':
			count = strtonum(optarg, 1, MAXCOUNT, &e);
			if (e)
				errx(MQ_EXIT_USAGE, "-n %s: %s (1 to %d)", optarg,
				    e, MAXCOUNT);
			break;
		case 'p':
			owner = strtonum(optarg, 1, INT_MAX, &e);
			if (e)
				errx(MQ_EXIT_USAGE, "-p %s: bad pid", optarg);
			break;
		case 't':
			if (mq_parse_duration(optarg, &timeout) < 0 ||
			    timeout == 0)
				errx(MQ_EXIT_USAGE, "-t %s: bad duration", optarg);
			break;
		case 'w':
			if (mq_parse_duration(optarg, &wait) < 0)
				errx(MQ_EXIT_USAGE, "-w %s: bad duration", optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		usage();

	mq_tool_init();
	if (mq_open(&q, mq_tool_path(argv[0]), 0, 0) < 0)
		return mq_tool_open_error(&q, argv[0]);
	q.skipped = mq_tool_skipped;
	if (timeout < 0)
		timeout = q.cfg.timeout_ms;
	if ((c = calloc((size_t)count, sizeof(*c))) == NULL)
		err(MQ_EXIT_TEMP, "malloc");
	if ((n = claim(&q, c, (size_t)count, timeout, (pid_t)owner,
	    wait, &w)) == 0)
		rc = empty(&q);
	else if (mq_sync(&q) < 0)
		/* Not durable: hand nothing out; the claims will expire. */
		rc = mq_tool_error(&q, NULL);
	else
		rc = handout(&q, c, n, body, eol);
	if (w != NULL)
		/*
		 * A consumer woken for the line: let its reader have the
		 * CPU before our teardown (watch, heartbeat, exit).
		 */
		(void)mq_tool_answer();
	mq_watch_close(w);
	mq_host_leave(&q);
	free(c);
	mq_close(&q);
	return rc;
}
