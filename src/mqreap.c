/*
 * mqreap: the janitor of queues.
 *
 *	mqreap [-fnsvw] queue ...
 *	mqreap -k [-nsv] queue | deadletter ...
 *
 * One pass over each queue (the library's mq_reap, reap.c): expired claims
 * back to new/ or to dead/, messages past their TTL expired, done/ past its
 * retention purged, tmp/ leftovers of 36 hours removed.  With -f it keeps
 * running (reap-follow.c); with -k it sends dead letters back instead
 * (reap-kick.c); each pass is reap-pass.c's.  Queues come as operands or,
 * with none, one per line on standard input.
 *
 * The work on a queue is done under flock(2) on QUEUE/.reap.lock, so two
 * reapers never race each other (producers and consumers need no lock: each
 * move is one no-replace rename, and a lost race is harmless).  A second
 * reaper skips a locked queue, or with -w waits for it.  The dry run (-n)
 * takes no lock: creating the lock file would be a change.
 */
#include <err.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reap.h"

static int kflag;
static struct reap *rs;
static size_t nq;

static void __dead2
usage(void)
{
	fprintf(stderr, "usage: mqreap [-fnsvw] queue ...\n"
	    "       mqreap -k [-nsv] queue | deadletter ...\n");
	exit(MQ_EXIT_USAGE);
}

static void
onsig(int sig)
{
	if (sig == SIGHUP)
		gothup = 1;
	else
		gotstop = 1;
}

/* Open one queue; without -f, reap it and close it again at once. */
static void
queue(const char *arg)
{
	struct reap *rp;
	char *path;

	if (gotstop)
		return;
	if ((rs = reallocarray(rs, nq + 1, sizeof(*rs))) == NULL ||
	    (path = strdup(arg)) == NULL)
		err(MQ_EXIT_TEMP, NULL);
	rp = &rs[nq];
	reap_init(rp);
	if (mq_open(&rp->q, mq_tool_path(path), 0, 0) < 0) {
		mq_tool_tally(mq_tool_open_error(&rp->q, path));
		mq_close(&rp->q);
		free(path);
		return;
	}
	free(path);
	rp->q.skipped = mq_tool_skipped;
	if (fflag) {
		nq++;
		return;
	}
	/* One queue open at a time: spools may hold hundreds. */
	reap(rp);
	if (mq_tool_flush() < 0)
		mq_tool_tally(MQ_EXIT_TEMP);
	mq_close(&rp->q);
	if (rp->lockfd >= 0)
		close(rp->lockfd);
}

int
main(int argc, char *argv[])
{
	int ch;

	while ((ch = getopt(argc, argv, "fknsvw")) != -1) {
		switch (ch) {
		case 'f':
			fflag = 1;
			break;
		case 'k':
			kflag = 1;
			break;
		case 'n':
			nflag = 1;
			break;
		case 's':
			sflag = 1;
			break;
		case 'v':
			vflag = 1;
			break;
		case 'w':
			wflag = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (kflag && (fflag || wflag))
		usage();
	if (fflag && nflag)
		errx(MQ_EXIT_USAGE, "-f and -n exclude each other");
	if (argc == 0 && isatty(STDIN_FILENO))
		usage();

	mq_tool_init();
	mq_tool_signals(onsig);

	mq_tool_operands(argc, argv, kflag ? kick : queue, "queue");
	if (fflag && nq > 0)
		follow(rs, nq);
	free(rs);
	return mq_tool_exit();
}
