/*
 * tool.c: what every tool does the same way: start, read its operands,
 * explain a failure to open a queue, report skipped spool entries, keep the
 * exit status, and check stdout before exiting.  Linked into the tools,
 * not into libmq.a: the library never prints and never exits.
 */
#include <sys/stat.h>

#include <err.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "tool.h"

/*
 * The exit status for errno err: a stale claim (ESTALE, the library's word
 * for a claim that moved on: lease.c) is 3; a failure that may go away by
 * itself (mq_transient) is temporary; everything else needs a person.
 */
int
mq_exitcode(int err)
{
	if (err == ESTALE)
		return MQ_EXIT_STALE;
	return mq_transient(err) ? MQ_EXIT_TEMP : MQ_EXIT_PERM;
}

/* Trailing slashes off, so printed paths read "q/cur/NAME". */
const char *
mq_tool_path(char *path)
{
	size_t n = strlen(path);

	while (n > 1 && path[n - 1] == '/')
		path[--n] = '\0';
	return path;
}

int
mq_tool_open_error(struct mq_queue *q, const char *path)
{
	int e = errno;

	if (e == ENOENT && q->errobj[0] == '\0')
		warnx("%s: no such queue (mqput -c creates one)", path);
	else if (e == ENOENT)
		warnx("%s: not a queue (no %s/)", path, q->errobj);
	else if (e == EINVAL)
		warnx("%s/%s", path, q->errobj);
	else if (q->errobj[0])
		warnx("%s/%s: %s", path, q->errobj, strerror(e));
	else
		warnx("%s: %s", path, strerror(e));
	return mq_exitcode(e);
}

/* Report an error of an operation on an open queue. */
int
mq_tool_error(struct mq_queue *q, const char *what)
{
	int e = errno;

	if (q->errobj[0])
		warnx("%s/%s: %s%s%s", q->path, q->errobj, what ? what : "",
		    what ? ": " : "", strerror(e));
	else
		warnx("%s: %s%s%s", q->path, what ? what : "", what ? ": " : "",
		    strerror(e));
	return mq_exitcode(e);
}

/*
 * A daemon's fault of the file system (fault.c), said once when it begins
 * and once when the queue answers again.
 */
void
mq_tool_fault(struct mq_queue *q, const struct mq_fault *f)
{
	long long t = mq_now_ms() - f->since;

	if (f->err)
		warnx("%s%s%s: %s (retrying)", q->path, f->obj[0] ? "/" : "",
		    f->obj, strerror(f->err));
	else
		warnx("%s: answers again after %lld.%01lld s%s", q->path,
		    t / 1000, t % 1000 / 100, f->reopened ? ", reopened" : "");
}

void
mq_tool_skipped(struct mq_queue *q, enum mq_dir dir, const char *name,
    const char *why)
{
	warnx("%s/%s/%s: skipped: %s", q->path, mq_dirnames[dir], name, why);
}

/* stdout errors (EPIPE, a full disk) are errors too; said once. */
int
mq_tool_flush(void)
{
	static int said;

	if (fflush(stdout) == EOF || ferror(stdout)) {
		if (!said++)
			warn("stdout");
		return -1;
	}
	return 0;
}

/*
 * The answer a reader waits for (mqwait's line, mqput -W's result): out,
 * and the CPU handed over.  A reader blocked on our pipe is woken on this
 * CPU (pipe_write's synchronous wake-up) and, on a busy machine, runs only
 * once we stop: after our teardown and exit.  Yielding here, bench (e)'s
 * reader had one mqwait's line 80 us after the ack instead of 180 (p50,
 * load 3.5).  With nobody to run, the yield returns at once.
 */
int
mq_tool_answer(void)
{
	int r = mq_tool_flush();

	(void)sched_yield();
	return r;
}

/*
 * Is fd the journal's stream?  systemd names it in $JOURNAL_STREAM
 * ("device:inode"), for stdout and stderr alike (systemd.exec(5)).
 */
static int
is_journal(int fd, const char *js)
{
	unsigned long long dev, ino;
	struct stat st;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(fd, &st) < 0)
		return 0;
	return st.st_dev == dev && st.st_ino == ino;
}

/*
 * Under systemd (issue 11): each line on stderr is a failure, so it starts
 * with sd-daemon(3)'s "<3>" (priority err) before the tool's name, which
 * err(3) and warn(3) print first; stdout is line-buffered, so that each
 * event (mqreap -v, mqwatch -o) is one journal entry when it happens, not
 * a block at exit.  Anywhere else nothing changes.
 */
static void
journal(void)
{
	static char name[64];
	const char *js = getenv("JOURNAL_STREAM");

	if (is_journal(STDOUT_FILENO, js))
		setvbuf(stdout, NULL, _IOLBF, 0);
	if (is_journal(STDERR_FILENO, js)) {
		snprintf(name, sizeof(name), "<3>%s",
		    program_invocation_short_name);
		program_invocation_short_name = name;
	}
}

/*
 * Every tool starts here.  Files and directories get explicit modes, never
 * the umask's.  A closed stdin, stdout or stderr is given /dev/null opened
 * the wrong way round: otherwise the next open would take its number and
 * printf would write into a message file; this way a use of it fails and is
 * reported ("mqget q >&-" is an error, not a silent success).
 */
void
mq_tool_init(void)
{
	int fd;

	umask(0);
	for (fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF &&
		    open("/dev/null", fd == 0 ? O_WRONLY : O_RDONLY) < 0)
			_exit(MQ_EXIT_TEMP);
	/* A reader gone is an error of write(2) (EPIPE), reported. */
	signal(SIGPIPE, SIG_IGN);
	journal();
}

/*
 * SIGINT, SIGTERM and SIGHUP to handler, without SA_RESTART: a signal must
 * end a blocking read(2), poll(2) or flock(2) so the tool can act on it.
 */
void
mq_tool_signals(void (*handler)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/*
 * Which of two exit statuses a tool that met both reports: the worst,
 * permanent before temporary before stale.  Every tool ranks by this one
 * table (mq(7), EXIT STATUS).
 */
static int
rank(int code)
{
	switch (code) {
	case MQ_EXIT_OK:
		return 0;
	case MQ_EXIT_STALE:
		return 1;
	case MQ_EXIT_PAUSED:
		return 3;
	case MQ_EXIT_REFUSED:	/* below 111: the producer only waits */
		return 4;
	case MQ_EXIT_TEMP:
		return 5;
	case MQ_EXIT_UNSURE:	/* above 111: a blind retry duplicates */
		return 6;
	case MQ_EXIT_PERM:
		return 7;
	}
	return 2;		/* empty, usage */
}

int
mq_exit_worse(int a, int b)
{
	return rank(b) > rank(a) ? b : a;
}

/* The exit status of a tool that goes on after a failed item. */
static int tallied;

void
mq_tool_tally(int code)
{
	tallied = mq_exit_worse(tallied, code);
}

/* The status to exit with, once stdout is flushed (its failure counts). */
int
mq_tool_exit(void)
{
	if (mq_tool_flush() < 0)
		mq_tool_tally(MQ_EXIT_TEMP);
	return tallied;
}

/*
 * Each operand, or with none each line of standard input (the way mblaze's
 * tools take messages from a pipe).  An empty line is an error, never
 * skipped: "echo "$q" | mqreap" with $q empty is a bug to report.
 */
void
mq_tool_operands(int argc, char **argv, void (*fn)(const char *),
    const char *what)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int i;

	if (argc > 0) {
		for (i = 0; i < argc; i++)
			fn(argv[i]);
		return;
	}
	while ((len = getline(&line, &cap, stdin)) != -1) {
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0) {
			warnx("stdin: empty line: not a %s", what);
			mq_tool_tally(MQ_EXIT_PERM);
		} else
			fn(line);
	}
	if (ferror(stdin)) {
		warn("stdin");
		mq_tool_tally(mq_exitcode(errno));
	}
	free(line);
}

/* Messages name the queue as the user spelled it, not as it was opened. */
int
mq_tool_show_as(struct mq_queue *q, const char *shown)
{
	char *p;

	if ((p = strdup(shown)) == NULL)
		return -1;
	free(q->path);
	q->path = p;
	return 0;
}

/*
 * The options mqpurge and mqmove share: -n (dry run), -r reason, -s
 * states (required: nothing is touched that was not named), -v.  verb
 * names the action in the message for a missing -s.  Returns optind.
 */
int
mq_tool_admin_options(int argc, char **argv, struct mq_admin *a,
    int *verbose, const char *verb, void (*usage)(void))
{
	const char *states = NULL;
	int ch;

	while ((ch = getopt(argc, argv, "nr:s:v")) != -1) {
		switch (ch) {
		case 'n':
			a->dryrun = 1;
			break;
		case 'r':
			a->reason = optarg;
			break;
		case 's':
			states = optarg;
			break;
		case 'v':
			*verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (states == NULL) {
		warnx("say which states to %s: -s dead, -s done, -s waiting, "
		    "-s all, ... (mq%s(1))", verb, verb);
		usage();
	}
	if (mq_states_parse(states, &a->states) < 0)
		errx(MQ_EXIT_USAGE, "%s: not a list of states", states);
	if (a->reason && a->states != MQ_STATE_BIT(MQ_ST_DEAD))
		errx(MQ_EXIT_USAGE, "-r selects dead letters: -s dead only");
	return optind;
}

/* How a message waited for ended, as an exit status (mqwait, mqput -W). */
int
mq_end_status(const struct mq_ended *e)
{
	switch (e->end) {
	case MQ_END_ACKED:
		return MQ_EXIT_OK;
	case MQ_END_DEAD:
		return MQ_EXIT_DEAD;
	case MQ_END_EXPIRED:
		return MQ_EXIT_EXPIRED;
	case MQ_END_PURGED: case MQ_END_MOVED: case MQ_NENDS:
		break;
	}
	return MQ_EXIT_GONE;
}
