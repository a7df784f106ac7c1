/*
 * clock.c: does this host's clock agree with the file system's?
 *
 * Deadlines and visibility are read against the local clock, but a claim's
 * settle time (its ctime) is stamped by the file system, and other hosts
 * read the deadlines this host writes.  Hosts sharing a spool must agree
 * within MQ_SKEW_MAX_MS (mq(7), Clocks).  Before a tool takes back a claim
 * because its deadline passed (the one decision a clock running ahead
 * makes wrongly, and for another host), it checks: it creates a file in
 * tmp/, reads the ctime the file system gave it, and compares it with its
 * own clock read just before and just after.  One check serves an open
 * queue for MQ_SKEW_EVERY_MS, so a long-running consumer pays one create,
 * stat and unlink a minute, and only while it meets expired claims.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "mq-internal.h"

#define MQ_SKEW_EVERY_MS (60 * 1000)

/*
 * The file system's time minus ours, in ms, within the time the probe
 * took (0 if ours falls inside it).  -1 if no probe could be made.
 */
static int
measure(struct mq_queue *q, long long *skew)
{
	char name[64];
	struct stat st;
	long long t0, t1, fs;
	int fd, r;

	snprintf(name, sizeof(name), "clock.%s.%ld.%08x", mq_host_tag(),
	    (long)getpid(), arc4random());
	t0 = mq_now_ms();
	fd = openat(q->dfd[MQ_TMP], name, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, q->fmode);
	if (fd < 0)
		return -1;
	r = fstat(fd, &st);
	t1 = mq_now_ms();
	close(fd);
	unlinkat(q->dfd[MQ_TMP], name, 0);
	if (r < 0)
		return -1;
	fs = mq_ctime_ms(&st);
	*skew = fs < t0 ? fs - t0 : fs > t1 + 1 ? fs - t1 - 1 : 0;
	return 0;
}

/*
 * 1 if this host's clock is within MQ_SKEW_MAX_MS of the file system's (or
 * cannot be measured: a read-only consumer must not be blocked), 0 if not:
 * then dir/name, the claim about to be taken back, is reported skipped.
 */
int
mq_clock_ok(struct mq_queue *q, enum mq_dir dir, const char *name)
{
	long long now = mq_now_ms(), s;
	char why[160];

	if (q->clock_at == 0 || now - q->clock_at >= MQ_SKEW_EVERY_MS ||
	    now < q->clock_at) {
		if (measure(q, &s) < 0)
			return 1;
		q->clock_at = now;
		q->clock_skew = s;
	}
	s = q->clock_skew;
	if (s >= -MQ_SKEW_MAX_MS && s <= MQ_SKEW_MAX_MS)
		return 1;
	if (q->skipped) {
		snprintf(why, sizeof(why), "this host's clock is %lld.%03lld s "
		    "%s of the file system's (more than %d s): an expired "
		    "claim is not taken back", llabs(s) / 1000, llabs(s) % 1000,
		    s < 0 ? "ahead" : "behind", MQ_SKEW_MAX_MS / 1000);
		q->skipped(q, dir, name, why);
	}
	return 0;
}
