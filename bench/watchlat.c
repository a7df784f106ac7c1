/*
 * watchlat.c: mqwatch's push latency, as a maildir writer and a reader of
 * mqwatch's standard output see it.
 *
 *	watchlat MQWATCH QUEUE COUNT
 *	watchlat - QUEUE COUNT		the limit: a plain C inotify consumer
 *	watchlat PROG QUEUE COUNT ARG...	runs PROG ARG... as the consumer
 *					(limit push QUEUE COUNT: the checking
 *					limit, bench/limit.c)
 *
 * Starts "MQWATCH -n COUNT QUEUE" (no command: it prints each claim), then
 * COUNT times: writes a message in tmp/, takes the time, renames it into
 * new/, reads mqwatch's line, takes the time.  The difference is the push
 * latency: inotify wake-up, claim (and its syncs, if the queue syncs),
 * the write to the pipe and the reader's wake-up.  Each claim is then
 * acknowledged by deleting it, as keep_done = no would.  Prints the median and
 * the 99th percentile in microseconds: "p50 p99".
 */
#define _GNU_SOURCE
#include <sys/inotify.h>
#include <sys/wait.h>

#include <dirent.h>
#include <err.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/*
 * The same work with nothing else: wait for inotify, read new/, rename the
 * message to cur/, write its path.
 */
static void
consumer(const char *q, int n)
{
	char path[4096], evbuf[8192], line[4096];
	struct dirent *d;
	int ifd, newfd, curfd, got = 0, len;
	DIR *dp;

	snprintf(path, sizeof(path), "%s/new", q);
	if ((ifd = inotify_init1(0)) < 0 ||
	    inotify_add_watch(ifd, path, IN_MOVED_TO | IN_CREATE) < 0)
		err(1, "inotify");
	if ((newfd = open(path, O_RDONLY | O_DIRECTORY)) < 0)
		err(1, "%s", path);
	snprintf(path, sizeof(path), "%s/cur", q);
	if ((curfd = open(path, O_RDONLY | O_DIRECTORY)) < 0)
		err(1, "%s", path);
	while (got < n) {
		if (read(ifd, evbuf, sizeof(evbuf)) <= 0)
			err(1, "inotify read");
		if ((dp = fdopendir(dup(newfd))) == NULL)
			err(1, "new");
		rewinddir(dp);
		while ((d = readdir(dp)) != NULL) {
			if (d->d_name[0] == '.' ||
			    renameat(newfd, d->d_name, curfd, d->d_name) < 0)
				continue;
			len = snprintf(line, sizeof(line), "%s/cur/%s\n", q,
			    d->d_name);
			if (write(1, line, len) != len)
				err(1, "write");
			got++;
		}
		closedir(dp);
	}
	exit(0);
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char *argv[])
{
	char path[4096], name[128], cnt[32], buf[4096];
	double *lat, t0;
	int p[2], fd, tmp, new, i, n, status;
	size_t len;
	ssize_t r;
	pid_t pid;

	if (argc < 4 || (n = atoi(argv[3])) < 1)
		errx(2, "usage: watchlat MQWATCH QUEUE COUNT [ARG ...]");
	if ((lat = calloc(n, sizeof(*lat))) == NULL)
		err(1, "calloc");
	snprintf(path, sizeof(path), "%s/tmp", argv[2]);
	if ((tmp = open(path, O_RDONLY | O_DIRECTORY)) < 0)
		err(1, "%s", path);
	snprintf(path, sizeof(path), "%s/new", argv[2]);
	if ((new = open(path, O_RDONLY | O_DIRECTORY)) < 0)
		err(1, "%s", path);
	if (pipe(p) < 0)
		err(1, "pipe");
	snprintf(cnt, sizeof(cnt), "%d", n);
	if ((pid = fork()) == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		if (strcmp(argv[1], "-") == 0)
			consumer(argv[2], n);
		if (argc > 4) {
			argv[3] = argv[1];
			execv(argv[1], argv + 3);
		} else
			execl(argv[1], argv[1], "-n", cnt, argv[2],
			    (char *)NULL);
		err(127, "%s", argv[1]);
	}
	close(p[1]);
	/* Let it subscribe before the first message. */
	usleep(200000);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%010ld.%06d.P%dQ%d.bench",
		    (long)time(NULL), i, getpid(), i);
		if ((fd = openat(tmp, name, O_WRONLY | O_CREAT | O_EXCL,
		    0600)) < 0)
			err(1, "tmp/%s", name);
		if (write(fd, "x\n", 2) != 2 || close(fd) < 0)
			err(1, "write");
		t0 = now_us();
		if (renameat(tmp, name, new, name) < 0)
			err(1, "rename");
		for (len = 0; len == 0 || buf[len - 1] != '\n';) {
			r = read(p[0], buf + len, sizeof(buf) - len);
			if (r <= 0)
				errx(1, "mqwatch ended after %d messages", i);
			len += (size_t)r;
		}
		lat[i] = now_us() - t0;
		/* Acknowledge (delete), as a reader does: cur/ stays short. */
		buf[len - 1] = '\0';
		if (unlink(buf) < 0)
			err(1, "%s", buf);
	}
	waitpid(pid, &status, 0);
	qsort(lat, n, sizeof(*lat), cmp);
	printf("%.1f %.1f\n", lat[n / 2], lat[(int)(n * 0.99)]);
	return 0;
}
