/*
 * endlat.c: how long N waiters take to learn of a message's end (issue 20).
 *
 *	endlat MQWAIT QUEUE N
 *
 * Puts one message and claims it (libmq), starts N "MQWAIT QUEUE ID"
 * processes, each with its stdout on a pipe of its own, and waits until
 * every one holds its registration (a FIFO of QUEUE/ends/wait/ open, seen
 * in /proc).  Then takes the time, acknowledges the claim (mq_finish: the
 * move, the record, the wake-up; its directories are synced once every
 * line is in, as bench/watchlat.c times a rename without the syncs its
 * producer would make) and takes the time at which each waiter's line
 * arrives.  Prints the median and the 99th percentile of ack-to-return in
 * microseconds: "p50 p99".
 */
#include <sys/wait.h>

#include <dirent.h>
#include <err.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mq.h"

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Does pid hold a FIFO whose path contains what? */
static int
holds(pid_t pid, const char *what)
{
	char dir[64], path[PATH_MAX + 64], to[PATH_MAX];
	struct dirent *d;
	DIR *dp;
	ssize_t n;
	int r = 0;

	snprintf(dir, sizeof(dir), "/proc/%ld/fd", (long)pid);
	if ((dp = opendir(dir)) == NULL)
		return 0;
	while (!r && (d = readdir(dp)) != NULL) {
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		if ((n = readlink(path, to, sizeof(to) - 1)) > 0) {
			to[n] = '\0';
			r = strstr(to, what) != NULL;
		}
	}
	closedir(dp);
	return r;
}

int
main(int argc, char *argv[])
{
	struct mq_queue q;
	struct mq_put *p;
	struct mq_claim c;
	struct pollfd *pfd;
	double t0, *lat;
	char id[MQ_NAME_MAX + 1], what[MQ_NAME_MAX + 16], buf[4096];
	pid_t *pid;
	size_t moved, nc, i, got;
	int n, fd[2], unsure;
	long long next;

	if (argc != 4 || (n = atoi(argv[3])) < 1)
		errx(2, "usage: endlat MQWAIT QUEUE N");
	if (mq_open(&q, argv[2], 0, 0) < 0)
		err(1, "%s", argv[2]);
	if ((p = mq_put_begin(&q, 0, 0, 0)) == NULL ||
	    mq_put_fd(p, -1, "x\n", 2) < 0 ||
	    mq_put_commit(p, &moved, &unsure) < 0 || moved != 1)
		err(1, "put");
	strlcpy(id, mq_put_id(p, 0), sizeof(id));
	mq_put_end(p);
	if (mq_claim(&q, 1, 3600000, 0, &c, &nc, &next) < 0 || nc != 1)
		err(1, "claim");
	pid = calloc((size_t)n, sizeof(*pid));
	pfd = calloc((size_t)n, sizeof(*pfd));
	lat = calloc((size_t)n, sizeof(*lat));
	if (!pid || !pfd || !lat)
		err(1, "calloc");
	for (i = 0; i < (size_t)n; i++) {
		if (pipe(fd) < 0 || (pid[i] = fork()) < 0)
			err(1, "fork");
		if (pid[i] == 0) {
			dup2(fd[1], 1);
			close(fd[0]);
			close(fd[1]);
			execl(argv[1], "mqwait", argv[2], id, (char *)NULL);
			_exit(127);
		}
		close(fd[1]);
		pfd[i].fd = fd[0];
		pfd[i].events = POLLIN;
	}
	snprintf(what, sizeof(what), "/ends/wait/%s", id);
	for (i = 0; i < (size_t)n; i++)
		while (!holds(pid[i], what))
			usleep(1000);
	t0 = now_us();
	if (mq_finish(&q, c.name, MQ_EV_DONE, NULL, 0) < 0)
		err(1, "ack");
	for (got = 0; got < (size_t)n;) {
		if (poll(pfd, (nfds_t)n, 60000) <= 0)
			errx(1, "%zu of %d waiters returned", got, n);
		for (i = 0; i < (size_t)n; i++) {
			if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP)))
				continue;
			lat[got++] = now_us() - t0;
			(void)read(pfd[i].fd, buf, sizeof(buf));
			close(pfd[i].fd);
			pfd[i].fd = -1;
		}
	}
	if (mq_sync(&q) < 0)
		err(1, "sync");
	while (wait(NULL) > 0)
		;
	qsort(lat, (size_t)n, sizeof(*lat), cmp);
	printf("%.0f %.0f\n", lat[(n - 1) / 2], lat[(size_t)((n - 1) * 0.99)]);
	mq_close(&q);
	return 0;
}
