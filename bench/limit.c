/*
 * limit.c: the file-system limit that mq is measured against.
 *
 *	limit cycle DIR COUNT MODE	MODE: nosync, sync or batch
 *	limit oneshot DIR [sync]
 *	limit oneput DIR
 *	limit oneack DIR NAME
 *	limit push DIR COUNT
 *
 * "cycle" puts COUNT 100-byte messages, claims them all, acknowledges them
 * all, in one process, with the syscalls mq makes and nothing else: put =
 * openat O_EXCL in tmp/, write, [fsync], close, renameat2 NOREPLACE into
 * new/, [fsync new/]; claim = readdir new/, renameat2 to cur/, utimensat;
 * ack = renameat2 to done/.  MODE sync fsyncs each file and directory per
 * message, batch does it per 100 messages with one syncfs for the files
 * (group commit), nosync never; check is nosync with the fstatat mq makes of
 * each candidate before its rename (is it a file, one link, visible yet?).
 * It prints the seconds each phase took:
 * "put claim ack".
 *
 * "oneshot" is one claim of the oldest message by a fresh process: read all
 * of new/, keep the smallest name, rename it to cur/, set its deadline
 * [and fsync new/ and cur/].  "oneput" is one durable put by a fresh process
 * (the body from stdin), "oneack" one durable ack of cur/NAME,c1: mq's
 * one-shot tools beside the same syscalls with nothing else in the process.
 *
 * "push" is the checking limit of a push consumer (mqwatch without a
 * command, bench/watchlat.c): it claims COUNT arrivals as inotify names
 * them and prints each claim's path, making the calls the spool's rules
 * require of a claim (mq-spool(5)) and no others; see pushclaim().
 */
#define _GNU_SOURCE
#include <sys/inotify.h>
#include <sys/stat.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BATCH 100

static const char *dirs[] = { "tmp", "new", "cur", "done" };
static int dfd[4];
enum { TMP, NEW, CUR, DONE };

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
opendirs(const char *root)
{
	int i, fd;

	if (mkdir(root, 0700) < 0 && errno != EEXIST)
		err(1, "%s", root);
	if ((fd = open(root, O_RDONLY | O_DIRECTORY)) < 0)
		err(1, "%s", root);
	for (i = 0; i < 4; i++) {
		if (mkdirat(fd, dirs[i], 0700) < 0 && errno != EEXIST)
			err(1, "%s/%s", root, dirs[i]);
		if ((dfd[i] = openat(fd, dirs[i], O_RDONLY | O_DIRECTORY)) < 0)
			err(1, "%s/%s", root, dirs[i]);
	}
	close(fd);
}

static void
xfsync(int fd)
{
	if (fsync(fd) < 0)
		err(1, "fsync");
}

static void
xrename(int from, const char *a, int to, const char *b)
{
	if (renameat2(from, a, to, b, RENAME_NOREPLACE) < 0)
		err(1, "rename %s", a);
}

/* One durable put of stdin's first 64 KiB, as a fresh process makes it. */
static int
oneput(const char *root)
{
	char buf[65536], name[256];
	struct timespec ts;
	ssize_t r;
	int fd;

	opendirs(root);
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(name, sizeof(name), "%010lld.%06ld.P%d", (long long)ts.tv_sec,
	    ts.tv_nsec / 1000, getpid());
	fd = openat(dfd[TMP], name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd < 0)
		err(1, "tmp/%s", name);
	if ((r = read(0, buf, sizeof(buf))) < 0)
		err(1, "stdin");
	if (write(fd, buf, r) != r)
		err(1, "write");
	xfsync(fd);
	if (close(fd) < 0)
		err(1, "close");
	xrename(dfd[TMP], name, dfd[NEW], name);
	xfsync(dfd[NEW]);
	printf("%s\n", name);
	return 0;
}

/*
 * Has a message's time come?  By the fine clock, as mq's: time(2) reads a
 * coarse one that can lag a fresh file's mtime by a tick.
 */
static int
visible(const struct stat *st)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return st->st_mtim.tv_sec * 1000LL + st->st_mtim.tv_nsec / 1000000 <=
	    now.tv_sec * 1000LL + now.tv_nsec / 1000000;
}

/*
 * One arrival named by inotify, claimed as the spool's rules require.
 * Returns 1 if claimed and printed, 0 if not (gone: another claimer).
 */
static int
pushclaim(const char *root, const char *name, long n)
{
	char cname[300], line[4096];
	struct timespec ts[2];
	struct stat st;
	int len;


	/*
	 * The claim gate: only a regular file with one link (a rename onto
	 * another link of the same file does nothing), whose mtime has come
	 * (a delayed message is not visible before it), is claimed.
	 */
	if (fstatat(dfd[NEW], name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1 || !visible(&st))
		return 0;
	/*
	 * A claim is one rename to a fresh name in cur/ (the handle: delivery
	 * count, a new token), never over an existing name: of any number of
	 * claimers exactly one wins, and an old handle stops working.
	 */
	snprintf(cname, sizeof(cname), "%.200s,d1,c%ld", name, n);
	if (renameat2(dfd[NEW], name, dfd[CUR], cname, RENAME_NOREPLACE) < 0)
		return 0;
	/* The claim's deadline is its mtime in cur/: the visibility timeout. */
	clock_gettime(CLOCK_REALTIME, &ts[1]);
	ts[1].tv_sec += 30;
	ts[0].tv_nsec = UTIME_OMIT;
	if (utimensat(dfd[CUR], cname, ts, AT_SYMLINK_NOFOLLOW) < 0)
		err(1, "utimensat");
	/* The path, once the claim is complete (no sync: sync = no). */
	len = snprintf(line, sizeof(line), "%s/cur/%s\n", root, cname);
	if (write(1, line, len) != len)
		err(1, "write");
	return 1;
}

/* Claim count arrivals in new/ as inotify names them, one at a time. */
static int
push(const char *root, long count)
{
	char buf[16384] __attribute__((aligned(8)));
	const struct inotify_event *ev;
	char path[4096];
	long got = 0;
	ssize_t r, off;
	int ifd;

	opendirs(root);
	snprintf(path, sizeof(path), "%s/new", root);
	/* Subscribe before any arrival: rename into new/ and link(2). */
	if ((ifd = inotify_init1(IN_CLOEXEC)) < 0 ||
	    inotify_add_watch(ifd, path, IN_MOVED_TO | IN_CREATE) < 0)
		err(1, "inotify");
	while (got < count) {
		if ((r = read(ifd, buf, sizeof(buf))) <= 0)
			err(1, "inotify read");
		for (off = 0; off < r; off += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)(buf + off);
			if (ev->len > 0 && ev->name[0] != '.')
				got += pushclaim(root, ev->name, got);
		}
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	static char body[100];
	char (*names)[256], cname[300];
	struct timespec ts[2];
	struct dirent *d;
	DIR *dp;
	double t0, t1, t2, t3;
	long i, n, got;
	struct stat st;
	int fd, sync, batch, check;

	/* a process start and nothing else: the floor of a loop of tools */
	if (argc == 2 && strcmp(argv[1], "true") == 0)
		return 0;
	if (argc == 3 && strcmp(argv[1], "oneput") == 0)
		return oneput(argv[2]);
	if (argc == 4 && strcmp(argv[1], "push") == 0)
		return push(argv[2], atol(argv[3]));
	if (argc == 4 && strcmp(argv[1], "oneack") == 0) {
		opendirs(argv[2]);
		snprintf(cname, sizeof(cname), "%s,c1", argv[3]);
		xrename(dfd[CUR], cname, dfd[DONE], argv[3]);
		xfsync(dfd[CUR]);
		xfsync(dfd[DONE]);
		return 0;
	}
	if ((argc == 3 || (argc == 4 && strcmp(argv[3], "sync") == 0)) &&
	    strcmp(argv[1], "oneshot") == 0) {
		char best[256] = "";
		opendirs(argv[2]);
		if ((dp = fdopendir(dup(dfd[NEW]))) == NULL)
			err(1, "new");
		while ((d = readdir(dp)) != NULL)
			if (d->d_name[0] != '.' &&
			    (!best[0] || strcmp(d->d_name, best) < 0))
				snprintf(best, sizeof(best), "%s", d->d_name);
		if (!best[0])
			return 1;
		snprintf(cname, sizeof(cname), "%.60s,c1", best);
		xrename(dfd[NEW], best, dfd[CUR], cname);
		clock_gettime(CLOCK_REALTIME, &ts[1]);
		ts[1].tv_sec += 30;
		ts[0] = ts[1];
		if (utimensat(dfd[CUR], cname, ts, 0) < 0)
			err(1, "utimensat");
		if (argc == 4) {
			xfsync(dfd[NEW]);
			xfsync(dfd[CUR]);
		}
		printf("%s\n", best);
		return 0;
	}
	if (argc != 5 || strcmp(argv[1], "cycle") != 0)
		errx(2, "usage: limit cycle DIR COUNT nosync|sync|batch|check | "
		    "limit oneshot DIR [sync] | limit oneput DIR | "
		    "limit oneack DIR NAME | limit push DIR COUNT");
	n = atol(argv[3]);
	sync = strcmp(argv[4], "sync") == 0;
	batch = strcmp(argv[4], "batch") == 0;
	check = strcmp(argv[4], "check") == 0;
	if (n < 1 || (!sync && !batch && !check &&
	    strcmp(argv[4], "nosync") != 0))
		errx(2, "bad count or mode");
	opendirs(argv[2]);
	memset(body, 'x', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\n';
	if ((names = calloc(n, sizeof(*names))) == NULL)
		err(1, "calloc");

	t0 = now();
	for (i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "%010ld.%06ld.P%dQ%ld",
		    (long)time(NULL), i % 1000000, getpid(), i);
		fd = openat(dfd[TMP], names[i], O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			err(1, "tmp/%s", names[i]);
		if (write(fd, body, sizeof(body)) != sizeof(body))
			err(1, "write");
		if (sync)
			xfsync(fd);
		if (close(fd) < 0)
			err(1, "close");
		if (batch) {
			if ((i + 1) % BATCH != 0 && i != n - 1)
				continue;
			if (syncfs(dfd[TMP]) < 0)
				err(1, "syncfs");
			for (long j = i - (i % BATCH); j <= i; j++)
				xrename(dfd[TMP], names[j], dfd[NEW], names[j]);
			xfsync(dfd[NEW]);
			continue;
		}
		xrename(dfd[TMP], names[i], dfd[NEW], names[i]);
		if (sync)
			xfsync(dfd[NEW]);
	}

	t1 = now();
	if ((dp = fdopendir(dup(dfd[NEW]))) == NULL)
		err(1, "new");
	clock_gettime(CLOCK_REALTIME, &ts[1]);
	ts[1].tv_sec += 30;
	ts[0] = ts[1];
	got = 0;
	while ((d = readdir(dp)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(names[got], sizeof(names[got]), "%s", d->d_name);
		snprintf(cname, sizeof(cname), "%s,c1", d->d_name);
		/* mq's check of a candidate: a file, one link, visible */
		if (check && (fstatat(dfd[NEW], d->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
		    st.st_nlink != 1 || !visible(&st)))
			errx(1, "%s: not claimable", d->d_name);
		xrename(dfd[NEW], d->d_name, dfd[CUR], cname);
		if (utimensat(dfd[CUR], cname, ts, 0) < 0)
			err(1, "utimensat");
		got++;
		if (sync || (batch && got % BATCH == 0)) {
			xfsync(dfd[NEW]);
			xfsync(dfd[CUR]);
		}
	}
	closedir(dp);
	if (batch) {
		xfsync(dfd[NEW]);
		xfsync(dfd[CUR]);
	}

	t2 = now();
	for (i = 0; i < got; i++) {
		snprintf(cname, sizeof(cname), "%s,c1", names[i]);
		xrename(dfd[CUR], cname, dfd[DONE], names[i]);
		if (sync || (batch && (i + 1) % BATCH == 0)) {
			xfsync(dfd[CUR]);
			xfsync(dfd[DONE]);
		}
	}
	if (batch) {
		xfsync(dfd[CUR]);
		xfsync(dfd[DONE]);
	}
	t3 = now();
	if (got != n)
		errx(1, "claimed %ld of %ld", got, n);
	printf("%.6f %.6f %.6f\n", t1 - t0, t2 - t1, t3 - t2);
	return 0;
}
