/*
 * mqreap: the janitor of queues.
 *
 *	mqreap [-fnsvw] queue ...
 *	mqreap -k [-nsv] queue | deadletter ...
 *
 * One pass over each queue: claims in cur/ that expired (deadline passed,
 * or owner known dead on this host) go back to new/ with their delivery
 * count, or to dead/ once they reached max_deliveries; messages past their
 * TTL are deleted or dead-lettered (the queue's "expired" setting); done/
 * loses what is older than the retention, counted from the acknowledgement
 * (the ctime the rename into done/ set: the mtime there is the claim's old
 * deadline); tmp/ loses files untouched (mtime) for 36 hours, never sooner.
 * With -f it keeps running, sleeping until the next thing falls due, woken
 * early by inotify on new/ and cur/ and by pidfds of the claims' owners.
 * With -k it sends dead letters back to new/ instead.
 *
 * The work on a queue is done under flock(2) on QUEUE/.reap.lock, so two
 * reapers never race each other (producers and consumers need no lock: each
 * move is one no-replace rename, and a lost race is ENOENT, harmless).  A
 * second reaper skips a locked queue, or with -w waits for it.
 *
 * A million entries: one readdir per directory, names only in new/ (the
 * TTL is in the name), one fstatat per entry elsewhere, no sorting.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mq.h"

#define LOCKFILE ".reap.lock"
#define MAXSLEEP_MS (10 * 60 * 1000) /* done/ and tmp/ raise no event */
#define POLL_MS 5000		     /* no inotify, or an owner unwatched */
#define BUSY_MS 1000		     /* retry of a queue locked by another */
#define MAXPIDFD 256		     /* owners watched per queue */

struct counts {
	unsigned long long back, dead, expired, purged, tmp, kicked;
};

struct reap {
	struct mq_queue q;
	int open;
	int lockfd;
	struct mq_watch *w;
	long long due;	/* earliest time something falls due; 0: none */
	long long next; /* when the next pass is (-f) */
	int pidfd[MAXPIDFD];
	size_t npidfd;
	int unwatched;	/* owners alive but without a pidfd */
	int locked_out;
	long long took; /* the last pass, in ms */
	struct counts c;
};

static int fflag, kflag, nflag, sflag, vflag, wflag;
static int perm, temp;
static volatile sig_atomic_t gotstop, gothup;

static void __dead2
usage(void)
{
	fprintf(stderr, "usage: mqreap [-fnsvw] queue ...\n"
	    "       mqreap -k [-nsv] queue | deadletter ...\n");
	exit(MQ_EXIT_USAGE);
}

static void
onsig(int sig)
{
	if (sig == SIGHUP)
		gothup = 1;
	else
		gotstop = 1;
}

static void
tally(int code)
{
	if (code == MQ_EXIT_TEMP)
		temp = 1;
	else if (code != MQ_EXIT_OK)
		perm = 1;
}

/* One line per action, for cron mail and syslog: VERB PATH [-> PATH] (WHY) */
static void
act(struct reap *r, const char *verb, enum mq_dir from, const char *name,
    enum mq_dir to, const char *newname, const char *why)
{
	if (!vflag && !nflag)
		return;
	printf("%s %s/%s/%s", verb, r->q.path, mq_dirnames[from], name);
	if (newname)
		printf(" -> %s/%s/%s", r->q.path, mq_dirnames[to], newname);
	printf(" (%s)\n", why);
}

/* The name a message would get in to/, for the dry run's lines. */
static const char *
would(char *buf, size_t len, const struct mq_name *old, const char *reason)
{
	struct mq_name n = *old;

	n.token[0] = n.owner[0] = '\0';
	if (reason)
		mq_sanitize_word(n.reason, sizeof(n.reason), reason);
	if (mq_name_format(buf, len, &n) < 0)
		strlcpy(buf, n.id, len);
	return buf;
}

/* A failed move: a lost race (the message moved on) is no failure. */
static void
failed(struct reap *r)
{
	if (errno == ENOENT || errno == ESTALE)
		return;
	tally(mq_tool_error(&r->q, NULL));
}

static void
expire(struct reap *r, enum mq_dir dir, const char *name,
    const struct mq_name *n)
{
	char buf[MQ_NAME_MAX + 1];
	int dead = r->q.cfg.ttl_dead;

	act(r, "expire", dir, name, MQ_DEAD,
	    dead ? would(buf, sizeof(buf), n, "expired") : NULL,
	    dead ? "ttl, to dead letters" : "ttl, deleted");
	if (!nflag && mq_expire(&r->q, dir, name, n) < 0)
		failed(r);
	else
		r->c.expired++;
}

static void
watch_owner(struct reap *r, pid_t pid)
{
	struct pollfd pfd;
	int fd;

	if (r->npidfd == MAXPIDFD) {
		r->unwatched = 1;
		return;
	}
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0) {
		if (errno != ESRCH)
			r->unwatched = 1;
		return;
	}
	/* Readable at once: a zombie, which kill(2) still finds; poll it. */
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 0) != 0) {
		close(fd);
		r->unwatched = 1;
		return;
	}
	r->pidfd[r->npidfd++] = fd;
}

/* Remember each owner once: many claims may share a worker. */
static void
owner(struct reap *r, pid_t *seen, size_t *nseen, pid_t pid)
{
	size_t i;

	/* Full: a million claims must not each search the list. */
	if (r->npidfd == MAXPIDFD) {
		r->unwatched = 1;
		return;
	}
	for (i = 0; i < *nseen; i++)
		if (seen[i] == pid)
			return;
	if (*nseen < MAXPIDFD * 4)
		seen[(*nseen)++] = pid;
	watch_owner(r, pid);
}

static void
reap_cur(struct reap *r, long long now)
{
	struct mq_queue *q = &r->q;
	char buf[MQ_NAME_MAX + 1];
	pid_t seen[MAXPIDFD * 4], pid;
	size_t i, nseen = 0;
	struct mq_scan s;
	struct mq_name n;
	struct stat st;
	const char *name, *why;

	memset(&s, 0, sizeof(s));
	if (mq_scan(q, MQ_CUR, &s) < 0) {
		tally(mq_tool_error(q, NULL));
		mq_scan_free(&s);
		return;
	}
	for (i = 0; i < s.n; i++) {
		name = mq_scan_name(&s, i);
		if (fstatat(q->dfd[MQ_CUR], name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT) {
				snprintf(q->errobj, sizeof(q->errobj), "cur/%s",
				    name);
				tally(mq_tool_error(q, NULL));
			}
			continue;
		}
		if (!S_ISREG(st.st_mode)) {
			mq_tool_skipped(q, MQ_CUR, name, "not a regular file");
			continue;
		}
		if (st.st_nlink != 1) {
			mq_tool_skipped(q, MQ_CUR, name,
			    "has more than one link");
			continue;
		}
		if (mq_name_parse(name, &n) < 0) {
			mq_tool_skipped(q, MQ_CUR, name, "unsafe name");
			continue;
		}
		if (!mq_claim_expired(&st, &n, now, &r->due)) {
			if (fflag && (pid = mq_owner_pid(n.owner)) > 0)
				owner(r, seen, &nseen, pid);
			continue;
		}
		why = mq_mtime_ms(&st) <= now ? "claim expired" : "owner dead";
		if (n.expires > 0 && n.expires * 1000 <= now) {
			expire(r, MQ_CUR, name, &n);
			continue;
		}
		if (q->cfg.max_deliveries > 0 &&
		    n.deliveries >= q->cfg.max_deliveries) {
			act(r, "bury", MQ_CUR, name, MQ_DEAD,
			    would(buf, sizeof(buf), &n, "maxdeliveries"),
			    "maxdeliveries");
			if (!nflag && mq_bury(q, MQ_CUR, name,
			    "maxdeliveries") < 0)
				failed(r);
			else
				r->c.dead++;
			continue;
		}
		if (nflag) {
			act(r, "return", MQ_CUR, name, MQ_NEW,
			    would(buf, sizeof(buf), &n, NULL), why);
			r->c.back++;
			continue;
		}
		if (mq_unclaim(q, name, buf, sizeof(buf)) < 0) {
			failed(r);
			continue;
		}
		act(r, "return", MQ_CUR, name, MQ_NEW, buf, why);
		r->c.back++;
	}
	mq_scan_free(&s);
}

/* The TTL is in the name: no stat at all for a million waiting messages. */
static void
reap_new(struct reap *r, long long now)
{
	struct mq_queue *q = &r->q;
	struct mq_scan s;
	struct mq_name n;
	const char *name;
	size_t i;

	memset(&s, 0, sizeof(s));
	if (mq_scan(q, MQ_NEW, &s) < 0) {
		tally(mq_tool_error(q, NULL));
		mq_scan_free(&s);
		return;
	}
	for (i = 0; i < s.n; i++) {
		name = mq_scan_name(&s, i);
		if (mq_name_parse(name, &n) < 0) {
			mq_tool_skipped(q, MQ_NEW, name, "unsafe name");
			continue;
		}
		if (n.expires <= 0)
			continue;
		if (n.expires * 1000 <= now)
			expire(r, MQ_NEW, name, &n);
		else if (r->due == 0 || n.expires * 1000 < r->due)
			r->due = n.expires * 1000;
	}
	mq_scan_free(&s);
}

/*
 * done/ by retention from the ctime, tmp/ by 36 hours from the mtime: in
 * both, a regular file whose time plus age has passed is removed.
 */
static void
reap_old(struct reap *r, enum mq_dir dir, long long age, long long now)
{
	struct mq_queue *q = &r->q;
	struct mq_scan s;
	struct stat st;
	const char *name;
	long long t;
	size_t i;

	memset(&s, 0, sizeof(s));
	if (mq_scan(q, dir, &s) < 0) {
		tally(mq_tool_error(q, NULL));
		mq_scan_free(&s);
		return;
	}
	for (i = 0; i < s.n; i++) {
		name = mq_scan_name(&s, i);
		if (fstatat(q->dfd[dir], name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT) {
				snprintf(q->errobj, sizeof(q->errobj), "%s/%s",
				    mq_dirnames[dir], name);
				tally(mq_tool_error(q, NULL));
			}
			continue;
		}
		if (!S_ISREG(st.st_mode)) {
			mq_tool_skipped(q, dir, name, "not a regular file");
			continue;
		}
		t = dir == MQ_DONE ? (long long)st.st_ctim.tv_sec * 1000 +
		    st.st_ctim.tv_nsec / 1000000 : mq_mtime_ms(&st);
		if (t + age > now) {
			if (r->due == 0 || t + age < r->due)
				r->due = t + age;
			continue;
		}
		act(r, dir == MQ_DONE ? "purge" : "remove", dir, name, dir,
		    NULL, dir == MQ_DONE ? "retention" : "tmp 36h");
		if (!nflag && unlinkat(q->dfd[dir], name, 0) < 0) {
			if (errno != ENOENT) {
				snprintf(q->errobj, sizeof(q->errobj), "%s/%s",
				    mq_dirnames[dir], name);
				tally(mq_tool_error(q, NULL));
			}
			continue;
		}
		if (!nflag)
			q->dirty |= 1u << dir;
		if (dir == MQ_DONE)
			r->c.purged++;
		else
			r->c.tmp++;
	}
	mq_scan_free(&s);
}

/*
 * Take the queue's reap lock: 1 held, 0 held by another (skip), -1 error.
 * The dry run takes none: creating the lock file would be a change.
 */
static int
lock(struct reap *r)
{
	struct mq_queue *q = &r->q;
	struct stat qst, lst;

	if (nflag)
		return 1;
	if (r->lockfd < 0) {
		r->lockfd = openat(q->fd, LOCKFILE, O_RDONLY | O_CREAT |
		    O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, q->fmode);
		if (r->lockfd < 0 || fstat(q->fd, &qst) < 0 ||
		    fstat(r->lockfd, &lst) < 0) {
			strlcpy(q->errobj, LOCKFILE, sizeof(q->errobj));
			return -1;
		}
		/*
		 * Made by root (cron) in a user's queue: the user's own
		 * mqreap must still be able to open it.
		 */
		if (lst.st_uid != qst.st_uid && geteuid() == 0)
			(void)fchown(r->lockfd, qst.st_uid, qst.st_gid);
	}
	while (flock(r->lockfd, LOCK_EX | (wflag ? 0 : LOCK_NB)) < 0) {
		if (errno == EWOULDBLOCK)
			return 0;
		if (errno != EINTR || gotstop) {
			strlcpy(q->errobj, LOCKFILE, sizeof(q->errobj));
			return -1;
		}
	}
	return 1;
}

static void
summary(struct reap *r)
{
	struct counts *c = &r->c;

	if (!sflag)
		return;
	if (r->locked_out) {
		printf("%s: skipped: locked by another mqreap\n", r->q.path);
		return;
	}
	if (fflag && !(c->back | c->dead | c->expired | c->purged | c->tmp))
		return;
	printf("%s: %llu returned, %llu dead-lettered, %llu expired, "
	    "%llu purged, %llu removed from tmp\n", r->q.path, c->back,
	    c->dead, c->expired, c->purged, c->tmp);
}

/* One pass over one queue; r->due says when the next thing falls due. */
static void
reap(struct reap *r)
{
	struct mq_queue *q = &r->q;
	char err[128];
	long long now;
	size_t i;
	int l, was_out = r->locked_out;

	memset(&r->c, 0, sizeof(r->c));
	r->due = 0;
	r->unwatched = 0;
	r->locked_out = 0;
	for (i = 0; i < r->npidfd; i++)
		close(r->pidfd[i]);
	r->npidfd = 0;
	if ((l = lock(r)) <= 0) {
		if (l < 0)
			tally(mq_tool_error(q, NULL));
		else {
			r->locked_out = 1;
			/* -f retries every second: say it once. */
			if ((vflag || nflag) && !was_out)
				printf("skip %s (locked by another mqreap)\n",
				    q->path);
		}
		if (!was_out)
			summary(r);
		return;
	}
	/* A long-running reaper follows edits of the settings. */
	if (fflag && mq_config_read(q->fd, &q->cfg, err, sizeof(err)) < 0) {
		warnx("%s/%s", q->path, err);
		tally(MQ_EXIT_PERM);
	} else {
		now = mq_now_ms();
		reap_cur(r, now);
		reap_new(r, now);
		if (q->cfg.retention_ms > 0)
			reap_old(r, MQ_DONE, q->cfg.retention_ms, now);
		reap_old(r, MQ_TMP, MQ_TMP_MAX_AGE_MS, now);
		if (!nflag && mq_sync(q) < 0)
			tally(mq_tool_error(q, NULL));
		r->took = mq_now_ms() - now;
	}
	if (!nflag)
		flock(r->lockfd, LOCK_UN);
	summary(r);
}

/* -k: dead letters back to new/. */
static void
kick(struct reap *r, const char *name)
{
	char buf[MQ_NAME_MAX + 1];
	struct mq_name n;

	if (nflag) {
		if (mq_name_parse(name, &n) < 0) {
			mq_tool_skipped(&r->q, MQ_DEAD, name, "unsafe name");
			return;
		}
		/* As mq_kick: a fresh start, a TTL that passed dropped. */
		n.deliveries = 0;
		n.reason[0] = '\0';
		if (n.expires > 0 && n.expires * 1000 <= mq_now_ms())
			n.expires = 0;
		act(r, "kick", MQ_DEAD, name, MQ_NEW,
		    would(buf, sizeof(buf), &n, NULL), "kicked");
		r->c.kicked++;
		return;
	}
	if (mq_kick(&r->q, name, buf, sizeof(buf)) < 0) {
		tally(mq_tool_error(&r->q, NULL));
		return;
	}
	act(r, "kick", MQ_DEAD, name, MQ_NEW, buf, "kicked");
	r->c.kicked++;
}

static void
kick_all(struct reap *r)
{
	struct mq_scan s;
	size_t i;

	memset(&s, 0, sizeof(s));
	if (mq_scan(&r->q, MQ_DEAD, &s) < 0) {
		tally(mq_tool_error(&r->q, NULL));
		mq_scan_free(&s);
		return;
	}
	/* In id order, so that new/ gets them back in their arrival order. */
	mq_scan_sort(&s);
	for (i = 0; i < s.n && !gotstop; i++)
		kick(r, mq_scan_name(&s, i));
	mq_scan_free(&s);
}

/*
 * A -k operand: QUEUE/dead/NAME names one dead letter, anything else is a
 * queue.  The directory is resolved, so that ".." or links cannot pass a
 * file outside a queue's dead/ for a dead letter.
 */
static int
dead_letter(const char *arg, char *qpath, size_t qlen, char *name,
    size_t nlen)
{
	char dir[PATH_MAX], real[PATH_MAX], *slash;
	struct stat st;

	if (strlcpy(dir, arg, sizeof(dir)) >= sizeof(dir) ||
	    (slash = strrchr(dir, '/')) == NULL || slash[1] == '\0')
		return 0;
	*slash = '\0';
	if (realpath(dir[0] ? dir : "/", real) == NULL ||
	    (slash = strrchr(real, '/')) == NULL ||
	    strcmp(slash + 1, "dead") != 0)
		return 0;
	if (lstat(arg, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	*slash = '\0';
	strlcpy(qpath, real[0] ? real : "/", qlen);
	strlcpy(name, strrchr(arg, '/') + 1, nlen);
	return 1;
}

static void
kick_one(const char *arg, struct counts *total)
{
	char qpath[PATH_MAX], name[MQ_NAME_MAX + 1], *slash;
	char shown[PATH_MAX];
	struct reap r;
	int one;

	memset(&r, 0, sizeof(r));
	r.lockfd = -1;
	strlcpy(shown, arg, sizeof(shown));
	mq_tool_path(shown);
	one = dead_letter(shown, qpath, sizeof(qpath), name, sizeof(name));
	if (one) {
		if (!mq_name_safe(name)) {
			warnx("%s: not a dead letter", arg);
			tally(MQ_EXIT_PERM);
			return;
		}
		/* Shown as given, less "/dead/NAME". */
		slash = strrchr(shown, '/');
		*slash = '\0';
		if ((slash = strrchr(shown, '/')) != NULL)
			*slash = '\0';
		else
			strlcpy(shown, ".", sizeof(shown));
		if (shown[0] == '\0')
			strlcpy(shown, "/", sizeof(shown));
	} else
		strlcpy(qpath, shown, sizeof(qpath));
	if (mq_open(&r.q, qpath, 0, 0) < 0) {
		tally(mq_tool_open_error(&r.q, shown));
		mq_close(&r.q);
		return;
	}
	free(r.q.path);
	if ((r.q.path = strdup(shown)) == NULL)
		err(MQ_EXIT_TEMP, NULL);
	r.q.skipped = mq_tool_skipped;
	if (one)
		kick(&r, name);
	else
		kick_all(&r);
	if (!nflag && mq_sync(&r.q) < 0)
		tally(mq_tool_error(&r.q, NULL));
	if (sflag)
		printf("%s: %llu kicked\n", shown, r.c.kicked);
	total->kicked += r.c.kicked;
	mq_close(&r.q);
}

static long long
min_time(long long a, long long b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	return a < b ? a : b;
}

/* When a queue is due for its next pass, after the one just made. */
static void
schedule(struct reap *r)
{
	long long now = mq_now_ms();

	if (r->locked_out) {
		r->next = now + BUSY_MS;
		return;
	}
	r->next = min_time(r->due, now + MAXSLEEP_MS);
	if (r->unwatched || mq_watch_fd(r->w) < 0)
		r->next = min_time(r->next, now + POLL_MS);
}

/*
 * -f: sleep until the earliest next pass, or until inotify says a claim or
 * a message arrived (its deadline or TTL may be sooner than what we wait
 * for), or a pidfd says an owner died.
 */
static void
follow(struct reap *rs, size_t nq)
{
	struct pollfd *pfd;
	size_t i, j, k, npfd, *owner_of;
	long long now, until;
	char buf[4096];
	int tmo, r;

	npfd = nq * (MAXPIDFD + 1);
	if ((pfd = calloc(npfd, sizeof(*pfd))) == NULL ||
	    (owner_of = calloc(npfd, sizeof(*owner_of))) == NULL)
		err(MQ_EXIT_TEMP, NULL);
	for (i = 0; i < nq; i++) {
		if ((rs[i].w = mq_watch_open(&rs[i].q, 0)) == NULL)
			err(MQ_EXIT_TEMP, NULL);
		rs[i].next = 0;
	}
	while (!gotstop) {
		now = mq_now_ms();
		for (i = 0; i < nq; i++) {
			if (gothup || rs[i].next <= now) {
				reap(&rs[i]);
				schedule(&rs[i]);
			}
		}
		gothup = 0;
		if (mq_tool_flush() < 0)
			exit(MQ_EXIT_TEMP);
		until = 0;
		for (i = k = 0; i < nq; i++) {
			until = min_time(until, rs[i].next);
			pfd[k].fd = mq_watch_fd(rs[i].w);
			pfd[k].events = POLLIN;
			owner_of[k++] = i;
			for (j = 0; j < rs[i].npidfd; j++) {
				pfd[k].fd = rs[i].pidfd[j];
				pfd[k].events = POLLIN;
				owner_of[k++] = i;
			}
		}
		now = mq_now_ms();
		tmo = until <= now ? 0 : until - now > MAXSLEEP_MS ?
		    MAXSLEEP_MS : (int)(until - now);
		r = poll(pfd, k, tmo);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err(MQ_EXIT_TEMP, "poll");
		}
		now = mq_now_ms();
		for (j = 0; j < k && r > 0; j++) {
			if (pfd[j].revents == 0)
				continue;
			i = owner_of[j];
			if (pfd[j].fd == mq_watch_fd(rs[i].w)) {
				while (read(pfd[j].fd, buf, sizeof(buf)) > 0)
					;
				/*
				 * Nothing that just arrived can be due before
				 * the settle: a fresh claim is not taken back
				 * sooner.  So a burst of arrivals costs one
				 * pass, not one each; and a queue whose pass
				 * is long (a million entries) is not scanned
				 * over and over while busy: mqget takes back
				 * expired claims itself, the reaper is only
				 * the backstop.
				 */
				rs[i].next = min_time(rs[i].next, now +
				    (4 * rs[i].took > MQ_SETTLE_MS ?
				    4 * rs[i].took : MQ_SETTLE_MS));
			} else
				rs[i].next = now; /* an owner died */
		}
	}
	for (i = 0; i < nq; i++) {
		mq_watch_close(rs[i].w);
		for (j = 0; j < rs[i].npidfd; j++)
			close(rs[i].pidfd[j]);
		if (rs[i].lockfd >= 0)
			close(rs[i].lockfd);
		mq_close(&rs[i].q);
	}
	free(pfd);
	free(owner_of);
}

static char **
stdin_operands(int *argc)
{
	char **v = NULL, *line = NULL;
	size_t cap = 0, n = 0;
	ssize_t len;

	while ((len = getline(&line, &cap, stdin)) != -1) {
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0)
			continue;
		if ((v = reallocarray(v, n + 2, sizeof(*v))) == NULL ||
		    (v[n++] = strdup(line)) == NULL)
			err(MQ_EXIT_TEMP, NULL);
		v[n] = NULL;
	}
	if (ferror(stdin))
		err(MQ_EXIT_TEMP, "stdin");
	free(line);
	*argc = (int)n;
	return v;
}

int
main(int argc, char *argv[])
{
	struct sigaction sa;
	struct counts total;
	struct reap *rs;
	size_t nq = 0;
	int ch, i;

	while ((ch = getopt(argc, argv, "fknsvw")) != -1) {
		switch (ch) {
		case 'f':
			fflag = 1;
			break;
		case 'k':
			kflag = 1;
			break;
		case 'n':
			nflag = 1;
			break;
		case 's':
			sflag = 1;
			break;
		case 'v':
			vflag = 1;
			break;
		case 'w':
			wflag = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (kflag && (fflag || wflag))
		usage();
	if (fflag && nflag)
		errx(MQ_EXIT_USAGE, "-f and -n exclude each other");
	if (argc == 0) {
		if (isatty(STDIN_FILENO))
			usage();
		argv = stdin_operands(&argc);
	}

	umask(0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = onsig;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a signal must end poll(2) and a -w flock(2). */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	memset(&total, 0, sizeof(total));
	if (kflag) {
		for (i = 0; i < argc && !gotstop; i++)
			kick_one(argv[i], &total);
		goto out;
	}

	if ((rs = calloc(argc ? (size_t)argc : 1, sizeof(*rs))) == NULL)
		err(MQ_EXIT_TEMP, NULL);
	for (i = 0; i < argc; i++) {
		struct reap *r = &rs[nq];

		r->lockfd = -1;
		mq_tool_path(argv[i]);
		if (mq_open(&r->q, argv[i], 0, 0) < 0) {
			tally(mq_tool_open_error(&r->q, argv[i]));
			mq_close(&r->q);
			continue;
		}
		r->q.skipped = mq_tool_skipped;
		r->open = 1;
		nq++;
		/* One queue open at a time: spools may hold hundreds. */
		if (!fflag) {
			reap(r);
			if (mq_tool_flush() < 0)
				tally(MQ_EXIT_TEMP);
			mq_close(&r->q);
			if (r->lockfd >= 0)
				close(r->lockfd);
			if (gotstop)
				break;
		}
	}
	if (fflag && nq > 0)
		follow(rs, nq);
	free(rs);
out:
	if (mq_tool_flush() < 0)
		tally(MQ_EXIT_TEMP);
	if (perm)
		return MQ_EXIT_PERM;
	return temp ? MQ_EXIT_TEMP : MQ_EXIT_OK;
}
