/*
 * dnwatch.c: the watch of a waiter that ends once woken (mqget -w).
 *
 * Closing an inotify instance waits for an SRCU grace period: the kernel
 * frees its marks only after one (fsnotify_destroy_group).  That is 8 to
 * 15 ms, paid at close(2) or at exit, after the claim and before the shell
 * in "while m=$(mqget -w 30 Q)" sees mqget end: a one-shot waiter took
 * p50 8 ms from a put to its exit, against 60 us without the watch.
 * dnotify (fcntl F_NOTIFY) is raised by the same fsnotify events, but its
 * marks are freed later by a kernel worker: its teardown costs what closing
 * a directory costs.
 *
 * Its events come as a real-time signal, blocked (never delivered) and
 * read from a signalfd, which a poll(2) waits on as on an inotify
 * descriptor.  They carry no name, only the directory (si_fd).  DN_CREATE
 * covers creat, link and a rename into new/: a rescan; DN_DELETE on the
 * queue directory covers the removal (or rename away) of its pause file,
 * and also the rewrites of the hints (.index, .cur, .urgent): only a
 * waiter that last saw the queue paused rescans for those (watch.c).  When
 * the signal queue is full the kernel sends SIGIO instead: read too, a
 * rescan as after IN_Q_OVERFLOW.
 *
 * Invariant: the signals stay blocked while a watched directory is open;
 * mq_dnwatch_close closes the directories (no signal comes after that:
 * dnotify sends under the lock its flush takes), reads what is pending,
 * and only then restores the caller's mask, so that none is ever delivered
 * (the default action of both is to end the process).
 */
#include <sys/signalfd.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "mq-internal.h"

static int
watchdir(int dirfd, unsigned long events, int sig)
{
	int fd;

	/* An open file of our own: F_SETSIG and F_NOTIFY belong to it. */
	if ((fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	if (fcntl(fd, F_SETSIG, sig) < 0 ||
	    fcntl(fd, F_NOTIFY, events | DN_MULTISHOT) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* No signalfd: take what the watches raised before the mask goes back. */
static void
drop_pending(void)
{
	const struct timespec zero = { 0, 0 };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	sigaddset(&set, SIGIO);
	while (sigtimedwait(&set, NULL, &zero) > 0)
		;
}

/* Watch new/ and the queue directory; the signalfd to poll, or -1. */
int
mq_dnwatch_open(struct mq_dnwatch *d, int newfd, int qfd)
{
	sigset_t set;

	d->dir[0] = d->dir[1] = d->sfd = -1;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	sigaddset(&set, SIGIO);
	/* Blocked before the first event can be raised. */
	if (sigprocmask(SIG_BLOCK, &set, &d->old) < 0)
		return -1;
	/*
	 * The signalfd last: it reads what came before it, and a test that
	 * sees it knows the watches are in place.
	 */
	if ((d->dir[0] = watchdir(newfd, DN_CREATE, SIGRTMIN)) < 0 ||
	    (d->dir[1] = watchdir(qfd, DN_DELETE, SIGRTMIN)) < 0 ||
	    (d->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		mq_dnwatch_close(d);
		return -1;
	}
	return d->sfd;
}

/*
 * Read every pending event: MQ_DN_NEW and MQ_DN_QUEUE for what they said
 * (0: none).  A read that did not fill the buffer took all that was
 * queued: no second read to hear EAGAIN, a system call less between a
 * wake and the claim.
 */
int
mq_dnwatch_drain(struct mq_dnwatch *d)
{
	struct signalfd_siginfo si[16];
	ssize_t r, i;
	int any = 0;

	while ((r = read(d->sfd, si, sizeof(si))) > 0) {
		for (i = 0; i < r / (ssize_t)sizeof(si[0]); i++)
			any |= si[i].ssi_signo == (uint32_t)SIGRTMIN &&
			    si[i].ssi_fd == d->dir[1] ? MQ_DN_QUEUE :
			    MQ_DN_NEW;
		if ((size_t)r < sizeof(si))
			break;
	}
	return any;
}

void
mq_dnwatch_close(struct mq_dnwatch *d)
{
	int e = errno, i;

	for (i = 0; i < 2; i++)
		if (d->dir[i] >= 0)
			close(d->dir[i]);
	if (d->sfd >= 0) {
		mq_dnwatch_drain(d);
		close(d->sfd);
	} else
		drop_pending();
	d->dir[0] = d->dir[1] = d->sfd = -1;
	sigprocmask(SIG_SETMASK, &d->old, NULL);
	errno = e;
}
