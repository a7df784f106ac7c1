/*
 * drain.c: how claims of one queue scale with the processes that make them,
 * beside the same processes on separate queues (issue 22).
 *
 *	drain DIR COUNT QUEUES PROCS
 *
 * Makes QUEUES queues (DIR/qK/new, DIR/qK/cur), COUNT empty messages in
 * all (COUNT / QUEUES each), then starts PROCS processes at once (PROCS a
 * multiple of QUEUES), each on one queue, and each claims only its own
 * share of that queue's names (every k-th name, k the processes of the
 * queue): no race is ever lost, so what is measured is what the kernel
 * lets concurrent claims of one directory pair do, nothing of mq's.  A
 * claim here is what the spool's rules require of one: fstatat (the
 * gate), renameat2 NOREPLACE into cur/ (the claim), utimensat (the
 * deadline).  Prints "seconds claims/s" for the claims alone (the backlog
 * is made first, the processes started before the clock, released by a
 * pipe's end of file).
 */
#define _GNU_SOURCE
#include <sys/stat.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
subdir(int at, const char *name)
{
	int fd;

	if (mkdirat(at, name, 0700) < 0 && errno != EEXIST)
		err(1, "%s", name);
	if ((fd = openat(at, name, O_RDONLY | O_DIRECTORY)) < 0)
		err(1, "%s", name);
	return fd;
}

/* Claim names first, first + step, ... below n, from new/ to cur/. */
static void
claim(int new, int cur, long first, long step, long n)
{
	char name[32], cname[80];
	struct timespec ts[2];
	struct stat st;
	long i;

	clock_gettime(CLOCK_REALTIME, &ts[1]);
	ts[1].tv_sec += 30;
	ts[0].tv_nsec = UTIME_OMIT;
	for (i = first; i < n; i += step) {
		snprintf(name, sizeof(name), "m%09ld", i);
		snprintf(cname, sizeof(cname), "%s,d1,c%ld", name, i);
		if (fstatat(new, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode) || st.st_nlink != 1)
			errx(1, "new/%s: not claimable", name);
		if (renameat2(new, name, cur, cname, RENAME_NOREPLACE) < 0)
			err(1, "rename %s", name);
		if (utimensat(cur, cname, ts, AT_SYMLINK_NOFOLLOW) < 0)
			err(1, "utimensat %s", cname);
	}
	_exit(0);
}

int
main(int argc, char *argv[])
{
	char qname[32], c;
	long count, per, i;
	int queues, procs, perq, root, q, p, fd, go[2], status, failed = 0;
	int *new, *cur;
	double t0, t1;

	if (argc != 5 || (count = atol(argv[2])) < 1 ||
	    (queues = atoi(argv[3])) < 1 || (procs = atoi(argv[4])) < 1 ||
	    procs % queues != 0)
		errx(2, "usage: drain DIR COUNT QUEUES PROCS (PROCS a multiple "
		    "of QUEUES)");
	per = count / queues;
	perq = procs / queues;
	if ((new = calloc(queues, sizeof(int))) == NULL ||
	    (cur = calloc(queues, sizeof(int))) == NULL)
		err(1, "calloc");
	if (mkdir(argv[1], 0700) < 0 && errno != EEXIST)
		err(1, "%s", argv[1]);
	if ((root = open(argv[1], O_RDONLY | O_DIRECTORY)) < 0)
		err(1, "%s", argv[1]);
	for (q = 0; q < queues; q++) {
		snprintf(qname, sizeof(qname), "q%d", q);
		fd = subdir(root, qname);
		new[q] = subdir(fd, "new");
		cur[q] = subdir(fd, "cur");
		close(fd);
		for (i = 0; i < per; i++) {
			snprintf(qname, sizeof(qname), "m%09ld", i);
			if ((fd = openat(new[q], qname, O_WRONLY | O_CREAT |
			    O_EXCL, 0600)) < 0 || close(fd) < 0)
				err(1, "new/%s", qname);
		}
	}
	if (pipe(go) < 0)
		err(1, "pipe");
	for (p = 0; p < procs; p++)
		if (fork() == 0) {
			close(go[1]);
			/* Wait for the start: end of file on the pipe. */
			if (read(go[0], &c, 1) != 0)
				_exit(1);
			claim(new[p / perq], cur[p / perq], p % perq, perq,
			    per);
		}
	close(go[0]);
	t0 = now();
	close(go[1]);
	while (wait(&status) > 0)
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed = 1;
	t1 = now();
	if (failed)
		errx(1, "a claimer failed");
	printf("%.6f %.0f\n", t1 - t0, per * queues / (t1 - t0));
	return 0;
}
