/*
 * mqmove: move a queue's messages to another queue, by state, keeping
 * their ids.
 *
 *	mqmove [-nv] [-r reason] -s state[,state ...] from to
 *
 * Dead letters to a repair queue (-s dead) and back (-s waiting), a
 * backlog to another worker pool, ...: each message is one rename into
 * to/new/ under its id, visible at once and afresh (no delivery count, no
 * reason), the fate "moved" of the one table (fate.c); the work is the
 * library's (admin.c).  As with mqpurge, nothing moves unless its state is
 * named, and claims in flight only if "inflight" is.  Both queues must be
 * on one file system: a rename cannot cross.
 */
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

static int vflag;

static void __dead2
usage(void)
{
	fprintf(stderr, "usage: mqmove [-nv] [-r reason] "
	    "-s state[,state ...] from to\n");
	exit(MQ_EXIT_USAGE);
}

/* VERB PATH -> PATH: one line per message. */
static void
act(struct mq_admin *a, struct mq_queue *q, const char *verb,
    enum mq_dir from, const char *name, const char *newname)
{
	if (vflag || a->dryrun)
		printf("%s %s/%s/%s -> %s/new/%s\n", verb, q->path,
		    mq_dirnames[from], name, a->to->path, newname);
}

static void
error(struct mq_admin *a, struct mq_queue *q)
{
	(void)a;
	mq_tool_tally(mq_tool_error(q, NULL));
}

static void
open_queue(struct mq_queue *q, char *path)
{
	if (mq_open(q, mq_tool_path(path), 0, 0) < 0)
		exit(mq_tool_open_error(q, path));
	q->skipped = mq_tool_skipped;
}

int
main(int argc, char *argv[])
{
	struct mq_queue from, to;
	struct mq_admin a;
	struct stat fs, ts;
	int n;

	memset(&a, 0, sizeof(a));
	n = mq_tool_admin_options(argc, argv, &a, &vflag, "move", usage);
	argc -= n;
	argv += n;
	if (argc != 2)
		usage();
	/* tmp/ holds no messages yet: nothing there to send on. */
	if (a.states & MQ_STATE_BIT(MQ_ST_TMP))
		errx(MQ_EXIT_USAGE, "tmp: not a state of messages");

	mq_tool_init();
	open_queue(&from, argv[0]);
	open_queue(&to, argv[1]);
	if (fstat(from.fd, &fs) < 0 || fstat(to.fd, &ts) < 0)
		err(MQ_EXIT_TEMP, "fstat");
	if (fs.st_dev == ts.st_dev && fs.st_ino == ts.st_ino)
		errx(MQ_EXIT_USAGE, "%s and %s are the same queue", from.path,
		    to.path);
	a.to = &to;
	a.act = act;
	a.error = error;
	mq_admin(&from, &a, mq_now_ms());
	mq_close(&from);
	mq_close(&to);
	return mq_tool_exit();
}
