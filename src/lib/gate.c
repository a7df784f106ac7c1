/*
 * gate.c: the one answer to "what is this entry of new/ or cur/, and is it
 * due?".  Claimers, mqreap, mqstat, mqpurge and mqmove all ask mq_gate, so
 * that they cannot disagree about a message.
 *
 * An entry is a message if it is a regular file with one link and a name
 * the library can parse; anything else (a FIFO, a symlink, a second hard
 * link, an unsafe name) is odd: passed by every reader, reported, and for a
 * second link buried by those that may move it (mq_linked, lease.c).
 *
 * A message of new/ is due once its mtime (when it becomes visible) has
 * come.  A claim in cur/ is due (expired) once its deadline (mtime) has
 * passed or its owner is known dead, and in either case its rename
 * MQ_RENAME_GRACE_MS old: right after a claim's rename the file still has its old
 * mtime, which would read as "expired", until the claimer sets the
 * deadline; a rename sets the ctime, so the ctime protects that moment.
 *
 * A claim due by its deadline (its own, or its host's fall silent: host.c)
 * is only taken back by a host whose clock agrees with the file system's
 * (clock.c); with MQ_GATE_CLOCK the gate asks
 * and answers MQ_LOOK_DISTRUSTED where it does not.  Readers that change
 * nothing (mqstat, a dry run) do not ask: the check writes a probe file.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "mq-internal.h"

/*
 * The pid of a claim's owner if the claim was made on this host, else 0: a
 * pid means something only on the host that wrote it.
 */
pid_t
mq_owner_pid(const char *owner)
{
	const char *tag = mq_host_tag(), *dash;
	const char *e;
	long long pid;

	if (!owner[0] || (dash = strchr(owner, '-')) == NULL)
		return 0;
	if ((size_t)(dash - owner) != strlen(tag) ||
	    strncmp(owner, tag, (size_t)(dash - owner)) != 0)
		return 0; /* another host's claim: its deadline decides */
	pid = strtonum(dash + 1, 1, MQ_PID_MAX, &e);
	if (e)
		return 0;
	return (pid_t)pid;
}

/* Is the owner of a claim a process of this host that is gone? */
int
mq_owner_dead(const char *owner)
{
	pid_t pid = mq_owner_pid(owner);

	return pid > 0 && kill(pid, 0) < 0 && errno == ESRCH;
}

/*
 * A claim of cur/ whose stat is st and name l->n, at now, of queue q (NULL:
 * hosts are not asked): due (expired) or waiting, by the rules of the
 * header; l->at, l->why, l->owner_dead, l->host_silent set.  A claim of a
 * host that fell silent (host.c) is due as if its deadline were when the
 * host fell silent, and needs no settle: it was renamed while its host
 * lived, which kept its heartbeat within a third of host_timeout (3 s at
 * least), so at least 2 s before now; and where the ctime is no rename's
 * time (CephFS raises it to the deadline: mq(7)), a settle would keep it
 * to its deadline.
 */
enum mq_look_kind
mq_gate_claim(struct mq_queue *q, const struct stat *st, struct mq_look *l,
    long long now)
{
	long long mt = mq_mtime_ms(st), ct = mq_ctime_ms(st) +
	    MQ_RENAME_GRACE_MS, silent = 0;

	/*
	 * A ctime further ahead of now than the grace is no rename's time:
	 * CephFS raises the ctime to a new mtime, so there it is the
	 * deadline, which proves that the claimer set it: nothing to settle.
	 * A ctime just ahead is a rename made since this claimer read its
	 * clock (another host's claim in the making): the grace protects it.
	 */
	if (mq_ctime_ms(st) > now + MQ_RENAME_GRACE_MS)
		ct = now;
	if (q != NULL)
		silent = mq_host_silent_at(q, l->n.owner, now);
	if (silent > 0 && silent < mt) {
		mt = silent;
		l->host_silent = 1;
	}
	l->owner_dead = mt > now && mq_owner_dead(l->n.owner);
	if (l->host_silent)
		l->at = mt;
	else if (mt <= now || l->owner_dead)
		l->at = ct;
	else
		l->at = mt > ct ? mt : ct;
	if (l->at > now)
		return MQ_LOOK_WAITING;
	l->why = l->owner_dead ? "owner dead" : l->host_silent ?
	    "host silent" : "claim expired";
	return MQ_LOOK_DUE;
}

/*
 * Look at dir/name (new/ or cur/) at now: l gets its stat, its parsed name
 * and, for a message not yet due, when it will be (l->at; an owner's death
 * cannot be timed).  MQ_LOOK_FAILED leaves errno and q->errobj set.
 */
enum mq_look_kind
mq_gate(struct mq_queue *q, enum mq_dir dir, const char *name, long long now,
    int flags, struct mq_look *l)
{
	enum mq_look_kind k;

	memset(l, 0, sizeof(*l));
	if (fstatat(q->dfd[dir], name, &l->st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return MQ_LOOK_GONE;
		mq_entry_error(q, dir, name, errno);
		return MQ_LOOK_FAILED;
	}
	if (!S_ISREG(l->st.st_mode)) {
		l->why = "not a regular file";
		return MQ_LOOK_ODD;
	}
	if (l->st.st_nlink != 1) {
		/* rename(2) onto another link of the same inode is a no-op. */
		l->why = "has more than one link";
		l->linked = 1;
		return MQ_LOOK_ODD;
	}
	if (mq_name_parse(name, &l->n) < 0) {
		l->why = "unsafe name";
		return MQ_LOOK_ODD;
	}
	if (dir != MQ_CUR) {
		l->at = mq_mtime_ms(&l->st);
		l->why = "visible";
		return l->at <= now ? MQ_LOOK_DUE : MQ_LOOK_WAITING;
	}
	k = mq_gate_claim(q, &l->st, l, now);
	if (k == MQ_LOOK_DUE && !l->owner_dead && (flags & MQ_GATE_CLOCK) &&
	    !mq_clock_ok(q, dir, name))
		return MQ_LOOK_DISTRUSTED;
	return k;
}

/* The state mqstat, mqpurge and mqmove give a look at an entry of dir. */
enum mq_state
mq_look_state(enum mq_dir dir, enum mq_look_kind k)
{
	switch (dir) {
	case MQ_NEW:
		return k == MQ_LOOK_DUE ? MQ_ST_VISIBLE : MQ_ST_DELAYED;
	case MQ_CUR:
		return k == MQ_LOOK_DUE ? MQ_ST_EXPIRED : MQ_ST_INFLIGHT;
	case MQ_DONE:
		return MQ_ST_DONE;
	case MQ_DEAD:
		return MQ_ST_DEAD;
	default:
		break;
	}
	return MQ_ST_TMP;
}

/*
 * A message that waits outside new/ (behind its group's head, group.c):
 * visible or delayed by its mtime, as it will be in new/.
 */
enum mq_state
mq_waiting_state(const struct stat *st, long long now)
{
	return mq_look_state(MQ_NEW, mq_mtime_ms(st) <= now ? MQ_LOOK_DUE :
	    MQ_LOOK_WAITING);
}
