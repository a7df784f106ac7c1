/*
 * waitlat.c: from a put to a waiting consumer's line, for mq's
 * "while m=$(mqget -w 30 Q)" beside redis and beanstalkd (issue 22).
 *
 *	waitlat mq MQGET QUEUE COUNT sync|nosync
 *	waitlat limit QUEUE COUNT sync|nosync
 *	waitlat redis PORT COUNT
 *	waitlat beanstalkd PORT COUNT
 *
 * Each of COUNT rounds: the consumer waits first (mq: a fresh "MQGET -w 30
 * QUEUE", its stdout a pipe, seen waiting once it holds its watch and then
 * 5 ms more, as a shell loop's next mqget would be; redis: BLPOP on one
 * connection; beanstalkd: reserve on one connection), then the time is
 * taken and the put made: for mq, in this process, the syscalls of mqput
 * (a file in tmp/, [fsync,] rename into new/ [, fsync of new/]); for the
 * servers, RPUSH or put on a second connection, whose reply is read only
 * after the consumer's.  The latency ends when the consumer's line (mq: the
 * claim's path; redis: the BLPOP reply; beanstalkd: the RESERVED line and
 * body) has been read.  For mq it also reports when mqget has exited,
 * which is when the shell loop can go on.  The claim is then acknowledged
 * (mq: deleted, as keep_done = no would; beanstalkd: delete).
 *
 * "limit" is the floor under the spool's rules: a C consumer, started once
 * and waiting on an inotify watch of new/, that makes only the calls a
 * claim must (fstatat: a file, one link; renameat2 into cur/ under a fresh
 * name; utimensat: the deadline; with sync, fsync of new/ and cur/) and
 * writes the path.  No process start, no scan, no index: what is above it
 * in mq's figure is mq's; what it is above redis is the file system's.
 *
 * Prints microseconds: "p50 p99" of the line, and for mq "p50 p99" of the
 * exit after them.
 */
#define _GNU_SOURCE
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
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

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
report(double *lat, int n)
{
	qsort(lat, n, sizeof(*lat), cmp);
	printf("%.1f %.1f", lat[n / 2], lat[(int)(n * 0.99)]);
}

/* Read until buf holds a line ending in want (e.g. "\n"): its length. */
static size_t
readline(int fd, char *buf, size_t cap, const char *want)
{
	size_t len = 0, wl = strlen(want);
	ssize_t r;

	for (;;) {
		if ((r = read(fd, buf + len, cap - 1 - len)) <= 0)
			errx(1, "read: %s", r < 0 ? strerror(errno) : "EOF");
		len += (size_t)r;
		buf[len] = '\0';
		if (len >= wl && strcmp(buf + len - wl, want) == 0)
			return len;
		if (len == cap - 1)
			errx(1, "line too long");
	}
}

static void
writes(int fd, const char *s)
{
	size_t len = strlen(s);

	if (write(fd, s, len) != (ssize_t)len)
		err(1, "write");
}

/* Does pid hold a watch (a signalfd or an inotify descriptor)? */
static int
waiting(pid_t pid)
{
	char path[64], link[256], fdp[400];
	struct dirent *d;
	DIR *dp;
	ssize_t r;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if ((dp = opendir(path)) == NULL)
		return 0;
	while (!found && (d = readdir(dp)) != NULL) {
		snprintf(fdp, sizeof(fdp), "%s/%s", path, d->d_name);
		if ((r = readlink(fdp, link, sizeof(link) - 1)) <= 0)
			continue;
		link[r] = '\0';
		found = strstr(link, "signalfd") || strstr(link, "inotify");
	}
	closedir(dp);
	return found;
}

/* The queue's directory d, open (or exit). */
static int
subdir(const char *q, const char *d)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", q, d);
	if ((fd = open(path, O_RDONLY | O_DIRECTORY)) < 0)
		err(1, "%s", path);
	return fd;
}

static void
mqput_like(int tmp, int new, int i, int dosync)
{
	char name[128];
	int fd;

	snprintf(name, sizeof(name), "%010ld.%06d.P%dQ%d.bench",
	    (long)time(NULL), i % 1000000, getpid(), i);
	if ((fd = openat(tmp, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) < 0)
		err(1, "tmp/%s", name);
	if (write(fd, "x\n", 2) != 2 || (dosync && fsync(fd) < 0) ||
	    close(fd) < 0)
		err(1, "write");
	if (renameat2(tmp, name, new, name, RENAME_NOREPLACE) < 0)
		err(1, "rename");
	if (dosync && fsync(new) < 0)
		err(1, "fsync new/");
}

static int
mq(const char *mqget, const char *q, int n, int dosync)
{
	char buf[4096];
	double *lat, *ex, t0, t1;
	int p[2], tmp, new, i, k, status;
	pid_t pid;

	if ((lat = calloc(n, sizeof(*lat))) == NULL ||
	    (ex = calloc(n, sizeof(*ex))) == NULL)
		err(1, "calloc");
	tmp = subdir(q, "tmp");
	new = subdir(q, "new");
	for (i = 0; i < n; i++) {
		if (pipe(p) < 0)
			err(1, "pipe");
		if ((pid = fork()) == 0) {
			dup2(p[1], 1);
			close(p[0]);
			close(p[1]);
			execl(mqget, mqget, "-w", "30", q, (char *)NULL);
			err(127, "%s", mqget);
		}
		close(p[1]);
		for (k = 0; k < 5000 && !waiting(pid); k++)
			usleep(200);
		/* Past its first scan: waiting, as a loop's next mqget is. */
		usleep(5000);
		t0 = now_us();
		mqput_like(tmp, new, i, dosync);
		readline(p[0], buf, sizeof(buf), "\n");
		t1 = now_us();
		if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			errx(1, "mqget failed");
		ex[i] = now_us() - t0;
		lat[i] = t1 - t0;
		close(p[0]);
		buf[strlen(buf) - 1] = '\0';
		if (unlink(buf) < 0)
			err(1, "%s", buf);
	}
	report(lat, n);
	putchar(' ');
	report(ex, n);
	putchar('\n');
	return 0;
}

/* The consumer of "limit": one claim per arrival, its path on out. */
static void
claimer(int new, int cur, int in, int out, int dosync)
{
	char ev[4096], line[512], cname[300];
	struct timespec ts[2];
	struct inotify_event *e;
	struct stat st;
	ssize_t r;
	char *p;

	for (;;) {
		if ((r = read(in, ev, sizeof(ev))) <= 0)
			err(1, "inotify");
		for (p = ev; p < ev + r; p += sizeof(*e) + e->len) {
			e = (struct inotify_event *)p;
			if (e->len == 0)
				continue;
			if (fstatat(new, e->name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
			    !S_ISREG(st.st_mode) || st.st_nlink != 1)
				continue;
			snprintf(cname, sizeof(cname), "%s,d1,c0123abcd", e->name);
			if (renameat2(new, e->name, cur, cname,
			    RENAME_NOREPLACE) < 0)
				continue;
			clock_gettime(CLOCK_REALTIME, &ts[1]);
			ts[1].tv_sec += 30;
			ts[0].tv_nsec = UTIME_OMIT;
			if (utimensat(cur, cname, ts, AT_SYMLINK_NOFOLLOW) < 0 ||
			    (dosync && (fsync(new) < 0 || fsync(cur) < 0)))
				err(1, "claim");
			snprintf(line, sizeof(line), "cur/%s\n", cname);
			if (write(out, line, strlen(line)) < 0)
				_exit(0);	/* the bench is over */
		}
	}
}

static int
limit(const char *q, int n, int dosync)
{
	char path[4096], buf[4096];
	double *lat, t0;
	int p[2], tmp, new, cur, in, i, status;
	pid_t pid;

	if ((lat = calloc(n, sizeof(*lat))) == NULL)
		err(1, "calloc");
	tmp = subdir(q, "tmp");
	new = subdir(q, "new");
	cur = subdir(q, "cur");
	snprintf(path, sizeof(path), "%s/new", q);
	if ((in = inotify_init1(IN_CLOEXEC)) < 0 ||
	    inotify_add_watch(in, path, IN_MOVED_TO | IN_ONLYDIR) < 0)
		err(1, "inotify: %s", path);
	if (pipe(p) < 0)
		err(1, "pipe");
	if ((pid = fork()) == 0) {
		close(p[0]);
		claimer(new, cur, in, p[1], dosync);
	}
	close(p[1]);
	close(in);
	for (i = 0; i < n; i++) {
		usleep(5000);	/* idle, as mq's consumer is when the put comes */
		t0 = now_us();
		mqput_like(tmp, new, i, dosync);
		readline(p[0], buf, sizeof(buf), "\n");
		lat[i] = now_us() - t0;
		buf[strlen(buf) - 1] = '\0';
		snprintf(path, sizeof(path), "%s/%s", q, buf);
		if (unlink(path) < 0)
			err(1, "%s", path);
	}
	close(p[0]);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	report(lat, n);
	putchar('\n');
	return 0;
}

static int
dial(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
		.sin_port = htons(port) };
	int fd, one = 1, tries;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (tries = 0;; tries++) {
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
			err(1, "socket");
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		close(fd);
		if (tries > 500)
			err(1, "127.0.0.1:%d", port);
		usleep(10000);	/* the server is starting */
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static int
redis(int port, int n)
{
	char buf[512];
	double *lat, t0;
	int c, p, i;

	if ((lat = calloc(n, sizeof(*lat))) == NULL)
		err(1, "calloc");
	c = dial(port);
	p = dial(port);
	writes(p, "*2\r\n$3\r\nDEL\r\n$1\r\nq\r\n");
	readline(p, buf, sizeof(buf), "\r\n");
	for (i = 0; i < n; i++) {
		writes(c, "*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$2\r\n30\r\n");
		usleep(5000);	/* blocked by now */
		t0 = now_us();
		writes(p, "*3\r\n$5\r\nRPUSH\r\n$1\r\nq\r\n$1\r\nx\r\n");
		/* *2 $1 q $1 x: the last line is the value's */
		readline(c, buf, sizeof(buf), "\r\nx\r\n");
		lat[i] = now_us() - t0;
		readline(p, buf, sizeof(buf), "\r\n");
	}
	report(lat, n);
	putchar('\n');
	return 0;
}

static int
beanstalkd(int port, int n)
{
	char buf[512], cmd[64];
	double *lat, t0;
	long id;
	int c, p, i;

	if ((lat = calloc(n, sizeof(*lat))) == NULL)
		err(1, "calloc");
	c = dial(port);
	p = dial(port);
	for (i = 0; i < n; i++) {
		writes(c, "reserve-with-timeout 30\r\n");
		usleep(5000);	/* waiting by now */
		t0 = now_us();
		writes(p, "put 0 0 60 1\r\nx\r\n");
		readline(c, buf, sizeof(buf), "\r\nx\r\n");
		lat[i] = now_us() - t0;
		if (sscanf(buf, "RESERVED %ld", &id) != 1)
			errx(1, "beanstalkd: %s", buf);
		readline(p, buf, sizeof(buf), "\r\n");
		snprintf(cmd, sizeof(cmd), "delete %ld\r\n", id);
		writes(c, cmd);
		readline(c, buf, sizeof(buf), "\r\n");
	}
	report(lat, n);
	putchar('\n');
	return 0;
}

int
main(int argc, char *argv[])
{
	if (argc == 6 && strcmp(argv[1], "mq") == 0)
		return mq(argv[2], argv[3], atoi(argv[4]),
		    strcmp(argv[5], "sync") == 0);
	if (argc == 5 && strcmp(argv[1], "limit") == 0)
		return limit(argv[2], atoi(argv[3]),
		    strcmp(argv[4], "sync") == 0);
	if (argc == 4 && strcmp(argv[1], "redis") == 0)
		return redis(atoi(argv[2]), atoi(argv[3]));
	if (argc == 4 && strcmp(argv[1], "beanstalkd") == 0)
		return beanstalkd(atoi(argv[2]), atoi(argv[3]));
	errx(2, "usage: waitlat mq MQGET QUEUE COUNT sync|nosync | "
	    "waitlat limit QUEUE COUNT sync|nosync | waitlat redis|beanstalkd PORT COUNT");
}
