/*
 * latency.c: push latency of mqwatch, from the rename into new/ to the
 * handler's start, and to the path line read in the mode without a command.
 *
 *	latency cmd|line MQWATCH QUEUE N	the driver
 *	latency stamp				the handler: prints its start time
 *
 * The driver writes each message in tmp/ itself, takes the clock just
 * before the rename (what mqput does last), and waits for the result before
 * the next one, with a pause so that mqwatch is idle again: this measures
 * the wake-up path, not a backlog.  Times are CLOCK_REALTIME on one host.
 */
#define _GNU_SOURCE
#include <sys/wait.h>

#include <err.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char *argv[])
{
	char tmp[512], dst[512], line[1024], self[4096];
	ssize_t len;
	struct timespec gap = { 0, 5000000 };
	long long t0, *lat;
	int p[2], n, i, fd, cmdmode;
	FILE *in;
	pid_t pid;

	if (argc == 2 && strcmp(argv[1], "stamp") == 0) {
		t0 = now_ns();
		printf("%lld\n", t0);
		return fflush(stdout) != 0;
	}
	if (argc != 5)
		errx(2, "usage: latency cmd|line mqwatch queue n | latency stamp");
	cmdmode = strcmp(argv[1], "cmd") == 0;
	n = atoi(argv[4]);
	if (n < 1 || (lat = calloc((size_t)n, sizeof(*lat))) == NULL)
		errx(2, "bad n");
	/* The handler is this program: its own path, for mqwatch to exec. */
	if ((len = readlink("/proc/self/exe", self, sizeof(self) - 1)) < 0)
		err(1, "/proc/self/exe");
	self[len] = '\0';
	if (pipe(p) < 0)
		err(1, "pipe");
	if ((pid = fork()) == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		if (cmdmode)
			execl(argv[2], "mqwatch", "-j", "2", argv[3], "--",
			    self, "stamp", (char *)NULL);
		else
			execl(argv[2], "mqwatch", argv[3], (char *)NULL);
		err(1, "%s", argv[2]);
	}
	close(p[1]);
	if ((in = fdopen(p[0], "r")) == NULL)
		err(1, "fdopen");
	nanosleep(&(struct timespec){ 0, 200000000 }, NULL);
	for (i = 0; i < n; i++) {
		snprintf(tmp, sizeof(tmp), "%s/tmp/bench.%d", argv[3], i);
		snprintf(dst, sizeof(dst), "%s/new/%010lld.000000.P%dQ%dRbench.bench",
		    argv[3], now_ns() / 1000000000, (int)getpid(), i);
		if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0 ||
		    write(fd, "x\n", 2) != 2 || close(fd) < 0)
			err(1, "%s", tmp);
		t0 = now_ns();
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dst, RENAME_NOREPLACE) < 0)
			err(1, "%s", dst);
		if (fgets(line, sizeof(line), in) == NULL)
			errx(1, "mqwatch: no output");
		if (cmdmode)
			lat[i] = atoll(line) - t0;
		else {
			lat[i] = now_ns() - t0;
			line[strcspn(line, "\n")] = '\0';
			if (unlink(line) < 0) /* the ack of keep_done = no */
				err(1, "%s", line);
		}
		nanosleep(&gap, NULL);
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	qsort(lat, (size_t)n, sizeof(*lat), cmp);
	printf("%-28s n=%d  median %7.1f us  p99 %7.1f us  max %7.1f us\n",
	    cmdmode ? "rename -> handler start" : "rename -> line read (no cmd)",
	    n, lat[n / 2] / 1e3, lat[n * 99 / 100] / 1e3, lat[n - 1] / 1e3);
	return 0;
}
