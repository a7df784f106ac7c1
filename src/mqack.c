/*
 * mqack: finish, give back, extend or fail claims.
 *
 *	mqack [-r | -d delay | -t timeout | -f reason | -R result]
 *	    [-q queue] [claim ...]
 *
 * Claims are the paths mqget printed (QUEUE/cur/NAME), as operands or, with
 * none, one per line on standard input.  The default acknowledges: the
 * message goes to done/ or is deleted, per the queue's keep_done.  -r and -d
 * release it to new/ (after delay), -t extends its deadline, -f sends it to
 * dead/ with the reason in its name.  -R acknowledges with a result (a
 * file, or "-" for standard input): it is kept with the message's end in
 * QUEUE/ends/ID, durably, before the claim moves (end.c), for the
 * requesters waiting for it (mqwait, mqput -W).
 *
 * A claim that has moved on (expired, claimed again, already finished) is
 * stale: reported, exit status 3, nothing changed.  Anything that is not a
 * claim of a queue is refused.  Each queue's directories are synced once,
 * after all its claims, before the exit status says success.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

enum op { ACK, RELEASE, EXTEND, FAIL };

static enum op op = ACK;
static long long arg_ms;
static const char *reason;
static char *result;		/* -R: read once, the same for each claim */
static size_t resultlen;
static int with_result;
static const char *bare_queue;
static struct mq_queue q;
static char qopen[PATH_MAX];

static void __dead2
usage(void)
{
	fprintf(stderr, "usage: mqack [-r | -d delay | -t timeout | -f reason | "
	    "-R result] [-q queue] [claim ...]\n");
	exit(MQ_EXIT_USAGE);
}

/* Sync and close the queue we hold, if any. */
static void
finish_queue(void)
{
	if (qopen[0] == '\0')
		return;
	if (mq_sync(&q) < 0)
		mq_tool_tally(mq_tool_error(&q, NULL));
	mq_close(&q);
	qopen[0] = '\0';
}

/*
 * Claims from mqget come in runs from one queue: the directory part of a
 * path is resolved once per run, not once per line.
 */
static char lastdir[PATH_MAX], lastq[PATH_MAX];

static int
same_dir(const char *arg, char *qpath, size_t qlen, char *name, size_t nlen)
{
	const char *slash = strrchr(arg, '/');

	if (slash == NULL || lastq[0] == '\0' ||
	    (size_t)(slash - arg) != strlen(lastdir) ||
	    strncmp(arg, lastdir, (size_t)(slash - arg)) != 0 ||
	    !mq_name_safe(slash + 1) || strlcpy(name, slash + 1, nlen) >= nlen)
		return 0;
	strlcpy(qpath, lastq, qlen);
	return 1;
}

static void
remember_dir(const char *arg, const char *qpath)
{
	const char *slash = strrchr(arg, '/');

	lastq[0] = '\0';
	if (slash == NULL || (size_t)(slash - arg) >= sizeof(lastdir))
		return;
	memcpy(lastdir, arg, (size_t)(slash - arg));
	lastdir[slash - arg] = '\0';
	strlcpy(lastq, qpath, sizeof(lastq));
}

/* QUEUE/cur/NAME, NAME one of ours: else EINVAL, "not a claim". */
static int
claim_path(const char *arg, char *qpath, size_t qlen, char *name, size_t nlen)
{
	const char *slash = strrchr(arg, '/');

	if (slash == NULL || !mq_name_safe(slash + 1)) {
		errno = EINVAL;
		return -1;
	}
	return mq_split_path(arg, MQ_CUR, qpath, qlen, name, nlen);
}

/* An ack with the result (-R): its record first, then the move (end.c). */
static int
ack_result(const char *name)
{
	return mq_finish_result(&q, name, result, resultlen);
}

/* -R FILE or -R -: the result, read before any claim is touched. */
static void
read_result(const char *path)
{
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO :
	    open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		err(mq_exitcode(errno), "%s", path);
	if (mq_result_read(fd, 0, &result, &resultlen) < 0)
		err(mq_exitcode(errno), "%s", path);
	if (fd != STDIN_FILENO)
		close(fd);
	with_result = 1;
}

static void
one(const char *arg)
{
	char qpath[PATH_MAX], name[MQ_NAME_MAX + 1];
	int r = -1;

	if (bare_queue && strchr(arg, '/') == NULL) {
		if (!mq_name_safe(arg)) {
			warnx("%s: not a claim", arg);
			mq_tool_tally(MQ_EXIT_PERM);
			return;
		}
		strlcpy(qpath, bare_queue, sizeof(qpath));
		strlcpy(name, arg, sizeof(name));
	} else if (same_dir(arg, qpath, sizeof(qpath), name, sizeof(name))) {
		/* resolved for the previous claim: no realpath per line */
	} else if (claim_path(arg, qpath, sizeof(qpath), name,
	    sizeof(name)) < 0) {
		if (errno == EINVAL)
			warnx("%s: not a claim (QUEUE/cur/NAME)", arg);
		else
			warn("%s", arg);
		mq_tool_tally(errno == EINVAL || errno == ENOENT ? MQ_EXIT_PERM :
		    mq_exitcode(errno));
		return;
	} else
		remember_dir(arg, qpath);
	if (strcmp(qpath, qopen) != 0) {
		finish_queue();
		if (mq_open(&q, qpath, 0, 0) < 0) {
			mq_tool_tally(mq_tool_open_error(&q, qpath));
			return;
		}
		strlcpy(qopen, qpath, sizeof(qopen));
	}
	switch (op) {
	case ACK:
		if (with_result)
			r = ack_result(name);
		else
			r = mq_finish(&q, name, MQ_EV_DONE, NULL, 0);
		break;
	case RELEASE:
		r = mq_finish(&q, name, MQ_EV_RELEASED, NULL, arg_ms);
		break;
	case EXTEND:
		r = mq_extend(&q, name, arg_ms);
		break;
	case FAIL:
		r = mq_finish(&q, name, MQ_EV_REJECTED, reason, 0);
		break;
	}
	if (r == 0)
		return;
	if (errno == EFBIG)
		warnx("%s: result larger than max_size (%lld bytes)", arg,
		    q.cfg.max_size);
	else if (errno == ESTALE)
		warnx("%s: stale claim (expired, or finished or claimed again)",
		    arg);
	else if (errno == EINVAL)
		warnx("%s: not a claim", arg);
	else
		warn("%s", arg);
	mq_tool_tally(mq_exitcode(errno));
}

int
main(int argc, char *argv[])
{
	const char *rpath = NULL;
	int ch, nops = 0;

	while ((ch = getopt(argc, argv, "d:f:q:R:rt:")) != -1) {
		switch (ch) {
		case 'r':
			op = RELEASE;
			nops++;
			break;
		case 'd':
			op = RELEASE;
			nops++;
			if (mq_parse_duration(optarg, &arg_ms) < 0)
				errx(MQ_EXIT_USAGE, "-d %s: bad duration", optarg);
			break;
		case 't':
			op = EXTEND;
			nops++;
			if (mq_parse_duration(optarg, &arg_ms) < 0 || arg_ms == 0)
				errx(MQ_EXIT_USAGE, "-t %s: bad duration", optarg);
			break;
		case 'f':
			op = FAIL;
			nops++;
			reason = optarg;
			break;
		case 'q':
			bare_queue = optarg;
			break;
		case 'R':
			rpath = optarg;
			nops++;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (nops > 1)
		errx(MQ_EXIT_USAGE, "-r, -d, -t, -f and -R exclude each other");
	if (argc == 0 && isatty(STDIN_FILENO))
		usage();
	if (rpath && strcmp(rpath, "-") == 0 && argc == 0)
		errx(MQ_EXIT_USAGE, "-R -: the claims as operands, then");

	mq_tool_init();
	if (rpath)
		read_result(rpath);
	mq_tool_operands(argc, argv, one, "claim");
	finish_queue();
	return mq_tool_exit();
}
