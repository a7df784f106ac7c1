/*
 * mqput: enqueue messages.
 *
 *	mqput [-0clgqS] [-d delay] [-e ttl] [-G group] [-K key] [-s size]
 *	    [-W wait] queue [file ...]
 *
 * One message from standard input, or one per file; with -l or -0, one per
 * line or NUL-terminated record of the input (or of each file), in one
 * process.  The id of each message is printed once the message is durable:
 * written to tmp/, synced, renamed into new/ without replacing anything,
 * new/ synced.  Many messages share their syncs (group commit): a batch is
 * committed when it reaches BATCH messages or the input would block, so a
 * slow producer (tail -f) sees each message enqueued at once.
 *
 * With -K, one message carries a coalescing key: while a message with that
 * key waits, the put adds nothing and prints the id of the one waiting.
 * With -G, every message joins an ordered group, in order: a group's
 * messages are claimed one at a time, in put order.
 *
 * With -W, one message is put (or coalesced) and mqput waits for its end
 * (wait.c), as a requester waits for its answer: the result its consumer
 * attached (mqack -R) goes to stdout instead of the id, and the exit status
 * says how it ended, as mqwait's does.  Every requester coalesced into one
 * message waits for that one.  The put registers as a waiter before its
 * message becomes visible, so that even the fastest consumer's end is
 * recorded for it.
 *
 * On any failure nothing of the failed message is left in new/ or tmp/;
 * the ids printed are exactly the messages enqueued.
 */
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

#define BATCH 1000

static volatile sig_atomic_t gotsig;
static int waiting;		/* -W: the ids are not printed on success */
static volatile sig_atomic_t infd, nullfd = -1;

/*
 * A flag alone would race: a signal that lands just before a blocking
 * read() is noticed only when input comes, maybe never.  So the handler
 * also puts /dev/null in place of the input (dup2 is async-signal-safe):
 * the next read returns at once.  What it read is never committed.
 */
static void
onsig(int sig)
{
	gotsig = sig;
	if (nullfd >= 0)
		dup2(nullfd, infd);
}

static void __dead2
usage(void)
{
	fprintf(stderr, "usage: mqput [-0clgqS] [-d delay] [-e ttl] [-G group] "
	    "[-K key] [-p level] [-s size] [-W wait] queue [file ...]\n");
	exit(MQ_EXIT_USAGE);
}

/* The records of one input, read in big chunks. */
struct reader {
	int fd, eof;
	char *buf;
	size_t len, off, cap;
};

/*
 * Next record ending in delim (kept in *rec when keep) or at EOF.  Returns
 * 1 with a record, 0 at the end, -1 on error (EFBIG: longer than max).
 */
static int
next_record(struct reader *r, int delim, int keep, long long max,
    const char **rec, size_t *len)
{
	char *p, *nb;
	size_t scan = r->off;
	ssize_t n;

	for (;;) {
		/* Nothing read yet: buf is NULL, not even buf + 0 is valid. */
		p = r->len > scan ? memchr(r->buf + scan, delim,
		    r->len - scan) : NULL;
		if (p != NULL) {
			*rec = r->buf + r->off;
			*len = (size_t)(p - *rec) + (keep ? 1 : 0);
			r->off = (size_t)(p - r->buf) + 1;
			goto check;
		}
		if (r->eof) {
			if (r->off == r->len)
				return 0;
			*rec = r->buf + r->off;
			*len = r->len - r->off;
			r->off = r->len;
			goto check;
		}
		scan = r->len;
		if (max > 0 && (long long)(r->len - r->off) > max) {
			errno = EFBIG;
			return -1;
		}
		/* Move the partial record to the front, then read more. */
		if (r->off > 0) {
			memmove(r->buf, r->buf + r->off, r->len - r->off);
			r->len -= r->off;
			scan -= r->off;
			r->off = 0;
		}
		if (r->cap - r->len < 65536) {
			size_t cap = r->cap ? r->cap * 2 : 262144;
			if ((nb = realloc(r->buf, cap)) == NULL)
				return -1;
			r->buf = nb;
			r->cap = cap;
		}
		n = read(r->fd, r->buf + r->len, r->cap - r->len);
		if (n < 0)
			return -1; /* EINTR too: a signal to act on */
		if (n == 0)
			r->eof = 1;
		r->len += (size_t)n;
	}
check:
	if (max > 0 && (long long)*len > max) {
		errno = EFBIG;
		return -1;
	}
	return 1;
}

/* Would a read block now?  Then commit what we have before waiting. */
static int
idle(struct reader *r)
{
	struct pollfd pfd = { .fd = r->fd, .events = POLLIN };

	if (r->off < r->len || r->eof)
		return 0;
	return poll(&pfd, 1, 0) == 0;
}

/* A limit of the queue said no (mq-spool(5)): exit 5, the producer waits. */
static int
refused(struct mq_queue *q, struct mq_put *p, size_t n)
{
	if (mq_put_refused(p) == MQ_REFUSED_FULL)
		warnx("%s: full (max_length = %lld): %zu message%s refused",
		    q->path, q->cfg.max_length, n, n == 1 ? "" : "s");
	else
		warnx("%s: file system below min_free: %zu message%s refused",
		    q->path, n, n == 1 ? "" : "s");
	return MQ_EXIT_REFUSED;
}

/*
 * Commit, then print the ids of what reached new/, even after an error:
 * they are enqueued, and a producer that retries without them makes
 * duplicates.  A spool failure and a stdout failure are told apart: the
 * first is the spool's status, the second always temporary (111).
 */
static int
commit(struct mq_queue *q, struct mq_put *p)
{
	size_t i, moved, pending = mq_put_pending(p);
	int unsure, rc = 0;

	if (mq_put_commit(p, &moved, &unsure) < 0) {
		if (mq_put_refused(p) != MQ_REFUSED_NOT)
			rc = refused(q, p, pending - moved);
		else
			rc = mq_tool_error(q, NULL);
		if (unsure) {
			warnx("%s: %zu message%s visible in new/ but maybe not "
			    "durable: their ids follow on stdout; check before "
			    "putting again", q->path, moved, moved == 1 ? "" :
			    "s");
			rc = MQ_EXIT_UNSURE;
		}
	}
	for (i = 0; i < moved && (!waiting || rc != 0); i++)
		if (printf("%s\n", mq_put_id(p, i)) < 0)
			break;
	/* A reader of the ids (tail -f | mqput -l | ...) gets them now. */
	if (mq_tool_flush() < 0) {
		if (moved > 0)
			warnx("%s: %zu message%s enqueued all the same: check "
			    "before putting again", q->path, moved,
			    moved == 1 ? "" : "s");
		if (rc == 0)
			rc = MQ_EXIT_TEMP;
	}
	return rc;
}

/* Put every record of fd; returns an exit status. */
static int
put_stream(struct mq_queue *q, struct mq_put *p, int fd, const char *what,
    int delim)
{
	struct reader r = { .fd = fd };
	const char *rec;
	size_t len;
	int n, rc = 0;

	for (;;) {
		if (gotsig)
			break;
		if (mq_put_pending(p) > 0 && (mq_put_pending(p) >= BATCH ||
		    idle(&r)) && (rc = commit(q, p)) != 0)
			break;
		n = next_record(&r, delim, delim == '\n', q->cfg.max_size,
		    &rec, &len);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR && gotsig)
				break;
			if (errno == EFBIG)
				warnx("%s: record longer than %lld bytes", what,
				    q->cfg.max_size);
			else
				warn("%s", what);
			rc = errno == EFBIG ? MQ_EXIT_PERM : mq_exitcode(errno);
			break;
		}
		if (mq_put_fd(p, -1, rec, len) < 0) {
			rc = mq_tool_error(q, NULL);
			break;
		}
	}
	/* What was read before an error or the end is still enqueued. */
	if (!gotsig && mq_put_pending(p) > 0) {
		int c = commit(q, p);
		if (rc == 0)
			rc = c;
	}
	free(r.buf);
	return rc;
}

static int
put_one(struct mq_queue *q, struct mq_put *p, int fd, const char *what)
{
	if (mq_put_fd(p, fd, NULL, 0) == 0)
		return 0;
	if (errno == EINTR && gotsig)
		return 0;
	if (errno == EFBIG) {
		warnx("%s: message larger than %lld bytes", what,
		    q->cfg.max_size);
		return MQ_EXIT_PERM;
	}
	if (q->errobj[0])
		return mq_tool_error(q, NULL);
	warn("%s", what);
	return mq_exitcode(errno);
}

/* Each input (stdin, or the files after the queue) in turn. */
static void
put_inputs(struct mq_queue *q, struct mq_put *p, int argc, char *argv[],
    int delim)
{
	int i, fd, r;

	for (i = 1; i < argc || (i == 1 && argc == 1); i++) {
		const char *what = argc == 1 ? "stdin" : argv[i];
		if (argc == 1)
			fd = 0;
		else if ((fd = open(argv[i], O_RDONLY | O_CLOEXEC)) < 0) {
			warn("%s", argv[i]);
			mq_tool_tally(mq_exitcode(errno));
			continue;
		}
		infd = fd;
		if (gotsig)
			break;
		if (delim >= 0)
			r = put_stream(q, p, fd, what, delim);
		else
			r = put_one(q, p, fd, what);
		if (fd != 0)
			close(fd);
		mq_tool_tally(r);
		if (gotsig)
			break;
		if (delim < 0 && mq_put_pending(p) >= BATCH)
			mq_tool_tally(commit(q, p));
	}
}

/* Nothing half-done stays behind; die as the signal asks. */
static void __dead2
interrupted(struct mq_queue *q, struct mq_put *p)
{
	mq_put_abort(p);
	mq_tool_flush();
	warnx("%s: interrupted; messages not printed were not enqueued",
	    q->path);
	signal(gotsig, SIG_DFL);
	raise(gotsig);
	exit(MQ_EXIT_TEMP);
}

/* mqput's options, as given. */
struct opts {
	long long delay, ttl, size, wait;
	const char *key, *ordered;
	int create, group, quiet, nosync;
	int level;
	int delim;		/* -1: one message per operand or stdin */
};

static void
options(struct opts *o, int argc, char *argv[])
{
	int c;

	while ((c = getopt(argc, argv, "0cd:e:G:gK:lp:qSs:W:")) != -1) {
		switch (c) {
		case '0':
			o->delim = '\0' + 256;
			break;
		case 'l':
			o->delim = '\n';
			break;
		case 'c':
			o->create = 1;
			break;
		case 'g':
			o->group = 1;
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 'S':
			o->nosync = 1;
			break;
		case 'd':
			if (mq_parse_duration(optarg, &o->delay) < 0)
				errx(MQ_EXIT_USAGE, "-d %s: bad duration",
				    optarg);
			break;
		case 'e':
			if (mq_parse_duration(optarg, &o->ttl) < 0)
				errx(MQ_EXIT_USAGE, "-e %s: bad duration",
				    optarg);
			break;
		case 'G':
		case 'K':
			if (!mq_key_valid(optarg))
				errx(MQ_EXIT_USAGE, "-%c %s: bad key "
				    "([A-Za-z0-9._-], at most %d, not starting "
				    "with . or -)", c, optarg, MQ_FIELD_MAX);
			*(c == 'G' ? &o->ordered : &o->key) = optarg;
			break;
		case 'p':
			if ((o->level = mq_level_parse(optarg)) < 0)
				errx(MQ_EXIT_USAGE, "-p %s: bad level (0, the "
				    "most urgent, to 9; default %d)", optarg,
				    MQ_LEVEL_DEFAULT);
			break;
		case 's':
			if (mq_parse_size(optarg, &o->size) < 0)
				errx(MQ_EXIT_USAGE, "-s %s: bad size", optarg);
			break;
		case 'W':
			if (mq_parse_duration(optarg, &o->wait) < 0)
				errx(MQ_EXIT_USAGE, "-W %s: bad duration",
				    optarg);
			break;
		default:
			usage();
		}
	}
	if (argc - optind < 1)
		usage();
	if (o->group && !o->create)
		errx(MQ_EXIT_USAGE, "-g: only with -c");
	if (o->key && (o->delim != 0 || argc - optind > 2))
		errx(MQ_EXIT_USAGE,
		    "-K: one message only (no -l, -0, one file)");
	if (o->wait >= 0 && (o->delim != 0 || argc - optind > 2))
		errx(MQ_EXIT_USAGE,
		    "-W: one message only (no -l, -0, one file)");
	if (o->delim == 256)
		o->delim = 0;
	else if (o->delim == 0)
		o->delim = -1;
}

/* -W: how the message ended, said as mqwait says it; the exit status. */
static int
ended(struct mq_queue *q, const char *id, const struct mq_ended *e,
    int quiet)
{
	if (e->end != MQ_END_ACKED)
		warnx("%s: %s: %s%s%s", q->path, id, mq_endnames[e->end],
		    e->end == MQ_END_DEAD ? " " : "", e->end == MQ_END_DEAD ?
		    e->reason : "");
	else if (!quiet && e->len > 0 &&
	    fwrite(e->result, 1, e->len, stdout) != e->len)
		return MQ_EXIT_TEMP;
	return mq_end_status(e);
}

/*
 * -W: register (unless keyed: a keyed message's end is always recorded,
 * and coalesced, the id to wait for is the holder's), commit, wait.
 */
static int
put_and_wait(struct mq_queue *q, struct mq_put *p, const struct opts *o)
{
	struct mq_waiter *w = NULL;
	struct mq_ended e;
	char id[MQ_NAME_MAX + 1];
	int rc, r;

	waiting = 1;
	/* No ends/ to wait by: an error, before anything is put. */
	if (!o->key && (w = mq_wait_begin(q, mq_put_id(p, 0), NULL)) == NULL)
		return mq_tool_error(q, NULL);
	if (w)
		mq_wait_ready(w);
	if ((rc = commit(q, p)) != 0) {
		mq_wait_close(w);
		return rc;
	}
	strlcpy(id, mq_put_id(p, 0), sizeof(id));
	if (w == NULL && (w = mq_wait_begin(q, id, NULL)) == NULL) {
		rc = mq_tool_error(q, NULL);
		warnx("%s: %s: put, not waited for (-W)", q->path, id);
		return rc;
	}
	r = mq_wait_end(w, mq_now_ms() + o->wait, &e);
	mq_wait_close(w);
	if (gotsig) {
		signal(gotsig, SIG_DFL);
		raise(gotsig);
	}
	if (r == 0) {
		warnx("%s: %s: not ended yet (-W)", q->path, id);
		return MQ_EXIT_EMPTY;
	}
	if (r < 0 && errno == ENOENT) {
		warnx("%s: %s: ended, with no record kept", q->path, id);
		return MQ_EXIT_PERM;
	}
	if (r < 0)
		return mq_tool_error(q, NULL);
	rc = ended(q, id, &e, o->quiet);
	mq_ended_free(&e);
	if (mq_tool_answer() < 0 && rc == 0)
		rc = MQ_EXIT_TEMP;
	return rc;
}

int
main(int argc, char *argv[])
{
	struct opts o = { .delay = 0, .ttl = -1, .size = -1, .wait = -1,
		.level = MQ_LEVEL_DEFAULT };
	struct mq_queue q;
	struct mq_put *p;

	options(&o, argc, argv);
	argc -= optind;
	argv += optind;

	mq_tool_init();
	nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	mq_tool_signals(onsig);

	if (mq_open(&q, mq_tool_path(argv[0]), o.create, o.group) < 0)
		return mq_tool_open_error(&q, argv[0]);
	q.skipped = mq_tool_skipped;
	if (o.size >= 0)
		q.cfg.max_size = o.size;
	if ((p = mq_put_begin(&q, o.delay, o.ttl, o.nosync)) == NULL)
		err(MQ_EXIT_TEMP, "malloc");
	if (o.key && mq_put_key(p, o.key) < 0)
		err(MQ_EXIT_USAGE, "-K %s", o.key);
	if (o.ordered && mq_put_group(p, o.ordered) < 0)
		err(MQ_EXIT_USAGE, "-G %s", o.ordered);
	if (mq_put_level(p, o.level) < 0)
		err(MQ_EXIT_USAGE, "-p %d", o.level);
	if (o.quiet && freopen("/dev/null", "w", stdout) == NULL)
		err(MQ_EXIT_TEMP, "/dev/null");

	put_inputs(&q, p, argc, argv, o.delim);
	if (gotsig)
		interrupted(&q, p);
	if (o.wait >= 0 && mq_put_pending(p) > 0)
		mq_tool_tally(put_and_wait(&q, p, &o));
	else if (mq_put_pending(p) > 0)
		mq_tool_tally(commit(&q, p));
	mq_put_end(p);
	mq_close(&q);
	return mq_tool_exit();
}
