/*
 * reap-pass.c: one pass of mqreap over one queue, as all three of its jobs
 * make it (mqreap.c once, reap-follow.c again and again, reap-kick.c for
 * dead letters): the reap lock, the library's pass (reap.c), and what it
 * prints, one line per action and a summary.  The options and the signal
 * flags live here, below the three files that read them.
 */
#include <err.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "reap.h"

int fflag, nflag, sflag, vflag, wflag;
volatile sig_atomic_t gotstop, gothup;

/* One line per action, for cron mail and syslog: VERB PATH [-> PATH] (WHY) */
static void
act(struct mq_reaper *r, const char *verb, enum mq_dir from, const char *name,
    enum mq_dir to, const char *newname, const char *why)
{
	struct reap *rp = r->ctx;

	if (!vflag && !nflag)
		return;
	printf("%s %s/%s/%s", verb, rp->q.path, mq_dirnames[from], name);
	if (newname)
		printf(" -> %s/%s/%s", rp->q.path, mq_dirnames[to], newname);
	printf(" (%s)\n", why);
}

/*
 * An error on a queue (errno, q->errobj): said and counted; but with -f a
 * temporary one is a fault of the file system, said once and ridden out
 * (fault.c, reap-follow.c).
 */
void
reap_failed(struct reap *rp)
{
	if (fflag)
		switch (mq_fault_begin(&rp->fault, &rp->q, errno,
		    mq_now_ms())) {
		case 1:
			mq_tool_fault(&rp->q, &rp->fault);
			/* FALLTHROUGH */
		case 0:
			return;
		}
	mq_tool_tally(mq_tool_error(&rp->q, NULL));
}

static void
error(struct mq_reaper *r)
{
	reap_failed(r->ctx);
}

void
reap_init(struct reap *rp)
{
	memset(rp, 0, sizeof(*rp));
	rp->lockfd = -1;
	rp->r.ctx = rp;
	rp->r.dryrun = nflag;
	rp->r.act = act;
	rp->r.error = error;
}

static void
summary(struct reap *rp)
{
	struct mq_reap_counts *c = &rp->r.c;

	if (!sflag)
		return;
	if (rp->locked_out) {
		printf("%s: skipped: locked by another mqreap\n", rp->q.path);
		return;
	}
	if (fflag && !(c->back | c->dead | c->expired | c->purged | c->tmp |
	    c->keys | c->groups | c->ends))
		return;
	printf("%s: %llu returned, %llu dead-lettered, %llu expired, "
	    "%llu purged, %llu removed from tmp", rp->q.path, c->back,
	    c->dead, c->expired, c->purged, c->tmp);
	if (c->keys > 0)
		printf(", %llu stale keys removed", c->keys);
	if (c->groups > 0)
		printf(", %llu groups repaired", c->groups);
	if (c->ends > 0)
		printf(", %llu end records forgotten", c->ends);
	printf("\n");
}

/* Take the lock: 1 held (or a dry run), 0 held by another, -1 error. */
static int
lock(struct reap *rp)
{
	int l;

	if (nflag)
		return 1;
	while ((l = mq_reap_lock(&rp->q, &rp->lockfd, wflag)) < 0 &&
	    errno == EINTR && !gotstop)
		;
	return l;
}

/* One pass over one queue; rp->r.due says when the next thing falls due. */
void
reap(struct reap *rp)
{
	char err[128];
	int l, was_out = rp->locked_out;

	memset(&rp->r.c, 0, sizeof(rp->r.c));
	rp->locked_out = 0;
	if ((l = lock(rp)) <= 0) {
		if (l < 0)
			reap_failed(rp);
		rp->locked_out = l == 0;
		/* -f retries every second: say it once. */
		if (l == 0 && (vflag || nflag) && !was_out)
			printf("skip %s (locked by another mqreap)\n",
			    rp->q.path);
		if (!was_out)
			summary(rp);
		return;
	}
	/* A long-running reaper follows edits of the settings. */
	if (fflag && mq_config_read(rp->q.fd, &rp->q.cfg, err,
	    sizeof(err)) < 0) {
		if (errno == EINVAL) {
			warnx("%s/%s", rp->q.path, err);
			mq_tool_tally(MQ_EXIT_PERM);
		} else {
			strlcpy(rp->q.errobj, "config", sizeof(rp->q.errobj));
			reap_failed(rp);
		}
	} else
		mq_reap(&rp->q, &rp->r, mq_now_ms());
	if (!nflag)
		mq_reap_unlock(rp->lockfd);
	summary(rp);
}
