/*
 * mqwait: wait for messages to end, and say how each ended.
 *
 *	mqwait [-qr] [-t timeout] queue [id ...]
 *
 * The ids are those mqput printed, as operands or, with none, one per line
 * on standard input.  For each, in order, one line once it has ended:
 * "ID acknowledged", "ID dead REASON", "ID expired", "ID purged" or
 * "ID moved"; with -r its result instead (what mqack -R attached), with -q
 * nothing.  The exit status says how: 0 acknowledged, 7 dead letter, 8
 * expired, 9 purged or moved away, 1 the timeout ran out first, 100 no such
 * message (never put, or ended with nothing kept), 2 a malformed id.  With
 * several ids the first of these that is not 0 wins, errors (100, 111)
 * first.
 *
 * Every id is registered before the first wait (wait.c), so that no end is
 * missed while an earlier one is waited for.  A message coalesced into
 * another (mqput -K) has that one's id, which mqput printed.  The waiting
 * costs no CPU: a FIFO wakes it (end.c); on a network file system it looks
 * every poll interval.  While it waits it keeps its host's heartbeat
 * (host.c), and a fault of the file system is waited out (fault.c).
 * Killed, it changes nothing.
 */
#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

static void __dead2
usage(void)
{
	fprintf(stderr, "usage: mqwait [-qr] [-t timeout] queue [id ...]\n");
	exit(MQ_EXIT_USAGE);
}

/* The ids, all read before any wait. */
static char **ids;
static size_t nids, capids;

static void
add(const char *id)
{
	char **n;

	if (!mq_id_valid(id))
		errx(MQ_EXIT_USAGE, "%s: not a message id", id);
	if (nids == capids) {
		capids = capids ? capids * 2 : 16;
		if ((n = reallocarray(ids, capids, sizeof(*n))) == NULL)
			err(MQ_EXIT_TEMP, "malloc");
		ids = n;
	}
	if ((ids[nids++] = strdup(id)) == NULL)
		err(MQ_EXIT_TEMP, "malloc");
}

/* Say how it ended: a line, or its result (-r), or nothing (-q). */
static int
report(const char *id, const struct mq_ended *e, int quiet, int results)
{
	if (quiet)
		;
	else if (results) {
		if (e->len > 0 && fwrite(e->result, 1, e->len, stdout) !=
		    e->len)
			return MQ_EXIT_TEMP;
	} else if (printf("%s %s%s%s\n", id, mq_endnames[e->end],
	    e->end == MQ_END_DEAD ? " " : "", e->end == MQ_END_DEAD ?
	    e->reason : "") < 0)
		return MQ_EXIT_TEMP;
	return mq_end_status(e);
}

/*
 * A temporary failure while waiting is a fault of the file system
 * (fault.c): said once, waited out until the queue answers again (1) or
 * until (0).
 */
static int
ride_out(struct mq_queue *q, struct mq_fault *f, long long until)
{
	long long now = mq_now_ms(), at;

	switch (mq_fault_begin(f, q, errno, now)) {
	case -1:
		return 0;
	case 1:
		mq_tool_fault(q, f);
	}
	for (;;) {
		if (until && now >= until)
			break;
		at = until && until < f->next ? until : f->next;
		if (at > now)
			usleep((useconds_t)(at - now) * 1000);
		now = mq_now_ms();
		switch (mq_fault_retry(f, q, now)) {
		case 1:
			mq_tool_fault(q, f);
			return 1;
		case -1:
			return 0;
		}
	}
	errno = f->err;
	strlcpy(q->errobj, f->obj, sizeof(q->errobj));
	return 0;
}

/*
 * Wait for one id until until (0: forever); its exit status.  w: its
 * waiter, already registered, or NULL.  The answer is given before the
 * waiter is closed: nothing stands between a wake-up and the line.
 */
static int
wait_one(struct mq_queue *q, struct mq_waiter *w, const char *id,
    long long until, int quiet, int results)
{
	struct mq_fault f = { .err = 0 };
	struct mq_ended e;
	int r, rc;

	for (;;) {
		/* Begun anew after a fault: the queue may have been reopened. */
		if (w == NULL && (w = mq_wait_begin(q, id, NULL)) == NULL)
			r = -1;
		else
			r = mq_wait_end(w, until, &e);
		if (r >= 0 || errno == ENOENT || errno == EINTR)
			break;
		mq_wait_close(w);
		w = NULL;
		if (!ride_out(q, &f, until))
			break;
	}
	if (r == 0)
		rc = MQ_EXIT_EMPTY;
	else if (r < 0 && errno == ENOENT) {
		warnx("%s: %s: no such message (never put, or ended with no "
		    "record kept)", q->path, id);
		rc = MQ_EXIT_PERM;
	} else if (r < 0)
		rc = mq_tool_error(q, NULL);
	else {
		rc = report(id, &e, quiet, results);
		mq_ended_free(&e);
		/* A pipeline (mqwait | xargs) learns of each end at once. */
		if (mq_tool_answer() < 0)
			rc = MQ_EXIT_TEMP;
	}
	mq_wait_close(w);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct mq_queue q;
	struct mq_waiter *first;
	long long timeout = 0, until = 0;
	int ch, quiet = 0, results = 0, rc;
	size_t i;

	while ((ch = getopt(argc, argv, "qrt:")) != -1) {
		switch (ch) {
		case 'q':
			quiet = 1;
			break;
		case 'r':
			results = 1;
			break;
		case 't':
			if (mq_parse_duration(optarg, &timeout) < 0)
				errx(MQ_EXIT_USAGE, "-t %s: bad duration",
				    optarg);
			until = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || (argc == 1 && isatty(STDIN_FILENO)))
		usage();

	mq_tool_init();
	if (mq_open(&q, mq_tool_path(argv[0]), 0, 0) < 0)
		return mq_tool_open_error(&q, argv[0]);
	mq_tool_operands(argc - 1, argv + 1, add, "message id");
	if (until)
		until = mq_now_ms() + timeout;
	/*
	 * Registered all first: an end while another is waited for counts.
	 * The first keeps its waiter (its FIFO never left without a reader);
	 * the others register afresh when their turn comes.
	 */
	first = nids > 0 ? mq_wait_begin(&q, ids[0], NULL) : NULL;
	for (i = 1; i < nids; i++)
		mq_wait_close(mq_wait_begin(&q, ids[i], NULL));
	for (i = 0; i < nids; i++) {
		rc = wait_one(&q, i == 0 ? first : NULL, ids[i], until ? until :
		    0, quiet, results);
		mq_tool_tally(rc);
		if (rc == MQ_EXIT_TEMP && ferror(stdout))
			break;
	}
	mq_host_leave(&q);
	mq_close(&q);
	return mq_tool_exit();
}
