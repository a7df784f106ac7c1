/*
 * mqpurge: delete a queue's messages by state, as postsuper -d does.
 *
 *	mqpurge [-nv] [-r reason] -s state[,state ...] queue ...
 *
 * Nothing is deleted unless its state is named (-s dead, -s done, -s
 * waiting, -s all, ...): there is no default, so a slip of the keyboard
 * deletes nothing.  Claims in flight are purged only if "inflight" is
 * named, leftovers in tmp/ only if "tmp" is.  -n shows what would go.  The
 * work is the library's (admin.c); each deletion is the fate "purged" of
 * the one table (fate.c).
 */
#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

static int vflag;
static struct mq_admin a;

static void __dead2
usage(void)
{
	fprintf(stderr, "usage: mqpurge [-nv] [-r reason] "
	    "-s state[,state ...] queue ...\n");
	exit(MQ_EXIT_USAGE);
}

/* VERB PATH: one line per message, for people and logger(1). */
static void
act(struct mq_admin *ap, struct mq_queue *q, const char *verb,
    enum mq_dir from, const char *name, const char *newname)
{
	(void)ap;
	(void)newname;
	if (vflag || a.dryrun)
		printf("%s %s/%s/%s\n", verb, q->path, mq_dirnames[from], name);
}

static void
error(struct mq_admin *ap, struct mq_queue *q)
{
	(void)ap;
	mq_tool_tally(mq_tool_error(q, NULL));
}

static void
queue(const char *arg)
{
	struct mq_queue q;
	char *path;

	if ((path = strdup(arg)) == NULL)
		err(MQ_EXIT_TEMP, NULL);
	if (mq_open(&q, mq_tool_path(path), 0, 0) < 0) {
		mq_tool_tally(mq_tool_open_error(&q, path));
		mq_close(&q);
		free(path);
		return;
	}
	q.skipped = mq_tool_skipped;
	mq_admin(&q, &a, mq_now_ms());
	mq_close(&q);
	free(path);
}

int
main(int argc, char *argv[])
{
	int n;

	n = mq_tool_admin_options(argc, argv, &a, &vflag, "purge", usage);
	argc -= n;
	argv += n;
	if (argc == 0 && isatty(STDIN_FILENO))
		usage();

	mq_tool_init();
	a.act = act;
	a.error = error;
	mq_tool_operands(argc, argv, queue, "queue");
	return mq_tool_exit();
}
