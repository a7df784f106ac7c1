/*
 * reap.h: what mqreap's files share.  mqreap.c reads the options and
 * makes one pass over each queue; reap-follow.c is the -f daemon that keeps
 * reaping; reap-kick.c sends dead letters back (-k); reap-pass.c is the
 * pass all three make.  The work on a queue is the library's (reap.c);
 * these files only print and schedule.
 */
#ifndef REAP_H
#define REAP_H

#include <signal.h>

#include "tool.h"

#define MAXPIDFD 256		/* owners watched per queue (-f) */

struct reap {
	struct mq_queue q;
	struct mq_reaper r;
	int lockfd;
	int locked_out;		/* by another mqreap, at the last pass */
	struct mq_watch *w;	/* -f */
	long long next;		/* -f: when the next pass is */
	long long took;		/* -f: the last pass, in ms */
	int pidfd[MAXPIDFD];	/* -f: owners of live claims */
	size_t npidfd;
	int unwatched;		/* -f: owners alive without a pidfd */
	pid_t seen[MAXPIDFD * 4];
	size_t nseen;
	struct mq_fault fault;	/* -f: the file system failing for a while */
};

extern int fflag, nflag, sflag, vflag, wflag;
extern volatile sig_atomic_t gotstop, gothup;

/* reap-pass.c */
void reap_init(struct reap *);
void reap_failed(struct reap *);
void reap(struct reap *);

/* reap-follow.c */
void follow(struct reap *, size_t);

/* reap-kick.c */
void kick(const char *);

#endif
