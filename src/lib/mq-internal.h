/*
 * mq-internal.h: what the library's files share and the tools do not see.
 * The tools include mq.h only; everything here may change with no tool
 * noticing.
 */
#ifndef MQ_INTERNAL_H
#define MQ_INTERNAL_H

#include <signal.h>

#include "mq.h"

/* util.c */
int mq_fsync(int fd);
int mq_rename_fresh(int fromfd, const char *from, int tofd, const char *to);
int mq_rename_named(int fromfd, const char *from, int tofd, struct mq_name *,
    char *to, size_t len);
int mq_rename_private(int fromfd, const char *from, int tofd, const char *to);
int mq_settime(int dirfd, const char *name, long long ms);

/* dnwatch.c: the watch of a waiter that ends once woken (watch.c) */
struct mq_dnwatch {
	int dir[2];		/* new/ and the queue directory, watched */
	int sfd;		/* the signalfd their events come to */
	sigset_t old;		/* the caller's signal mask */
};
int mq_dnwatch_open(struct mq_dnwatch *, int newfd, int qfd);
int mq_dnwatch_drain(struct mq_dnwatch *);
void mq_dnwatch_close(struct mq_dnwatch *);
/* spool.c */
int mq_subdir(struct mq_queue *, int at, const char *name, int create);

/* watch.c */
int mq_remote(int fd);

/* end.c */
void mq_end_settled(struct mq_queue *, const struct mq_name *,
    const struct mq_verdict *);
int mq_end_read(struct mq_queue *, int efd, const char *id,
    struct mq_ended *);
void mq_end_reap(struct mq_queue *, struct mq_reaper *, long long now);

/* clock.c */
int mq_clock_ok(struct mq_queue *, enum mq_dir, const char *name);

/* naming.c */
int mq_new_id(char *, size_t);
const char *mq_host_tag(void);
void mq_token(char *, size_t);
void mq_sanitize_word(char *dst, size_t, const char *src);

/* config.c */
int mq_config_write_default(int qfd, mode_t);

/* limit.c */
int mq_limit_room(struct mq_queue *, size_t want, size_t *room,
    enum mq_refusal *why);
void mq_limit_trim(struct mq_queue *);

/* key.c */
int mq_key_dir(struct mq_queue *, int create);
int mq_key_lock(int kfd, const char *key, int nonblock);
int mq_key_read(int fd, char *where, size_t);
int mq_key_live(struct mq_queue *, const char *where, long long now);
int mq_key_take(struct mq_queue *, const char *key, const char *name,
    int *lockfd, char *holder, size_t);
void mq_key_release(int lockfd);
void mq_key_drop(struct mq_queue *, const char *key, int lockfd);
void mq_key_claimed(struct mq_queue *, const char *key, enum mq_dir,
    const char *from, const char *to);

/* group.c: ordered groups */
struct mq_group;
struct mq_group *mq_group_begin(struct mq_queue *, const char *key,
    const char *first);
int mq_group_unsynced(const struct mq_group *);
int mq_group_enter(struct mq_group *, int fromfd, const char *from,
    const char *name, int sync);
int mq_group_end(struct mq_group *, int sync);
int mq_group_rejoin(struct mq_queue *, int fromfd, const char *from,
    struct mq_name *);
void mq_group_ended(struct mq_queue *, const struct mq_name *);
int mq_group_flush(struct mq_queue *, int sync);
void mq_group_close(struct mq_queue *);
int mq_group_waits(struct mq_queue *, const char *name);
void mq_group_reap(struct mq_queue *, struct mq_reaper *, long long now);
void mq_group_admin(struct mq_queue *, struct mq_admin *, long long now);
int mq_group_stat(struct mq_queue *, unsigned long long *held,
    unsigned long long *behind);
int mq_group_peek(struct mq_queue *, long long now,
    int (*)(void *, const struct mq_peek *), void *);

/* Lower *due (0: none yet) to at, if at is a time (> 0) and sooner. */
static inline void
mq_soonest(long long *due, long long at)
{
	if (at > 0 && (*due == 0 || at < *due))
		*due = at;
}

/* claim.c */
pid_t mq_owner_pid(const char *owner);
int mq_owner_dead(const char *owner);
#define MQ_EXPIRED_DEADLINE 1	/* mq_claim_expired: its deadline passed */
#define MQ_EXPIRED_OWNER 2	/* its owner, of this host, is dead */
#define MQ_EXPIRED_HOST 3	/* its owner's host fell silent (host.c) */
int mq_claim_expired(struct mq_queue *, const struct stat *,
    const struct mq_name *, long long now, long long *due);
void mq_linked(struct mq_queue *, enum mq_dir, const char *name,
    const struct stat *, long long now);
int mq_claim_skipped(struct mq_queue *, size_t got);
int mq_claim_entry(struct mq_queue *, enum mq_dir, const char *name,
    long long timeout_ms, pid_t owner, struct mq_claim *, long long *due);

/* index.c: a hint of new/'s order, so that a claim need not scan it all */
#define MQ_INDEX_MIN 64	/* a shorter backlog is scanned each time */
#define MQ_INDEX_MAX 100000	/* names an index holds */
#define MQ_INDEX_MAX_AGE_MS 2000 /* then a full scan, for what it missed */
struct mq_index {
	int fd, rdonly;
	int nolock;		/* the cursor's lock timed out: go without */
	off_t end;		/* of the names reserved for us */
	off_t bufoff;		/* of buf in the file */
	size_t pos, len;
	size_t want;		/* names to reserve next: the caller's need */
	char buf[16384];
};
int mq_index_open(struct mq_queue *, struct mq_index *, long long now);
const char *mq_index_next(struct mq_index *);
int mq_index_scan_lock(struct mq_queue *, struct mq_index *);
int mq_entry_error(struct mq_queue *, enum mq_dir, const char *, int);
void mq_walk_hint(struct mq_walk *, const char *name);
void mq_index_close(struct mq_index *);
void mq_index_drop(struct mq_queue *);
void mq_index_write(struct mq_queue *, const char *const *, size_t,
    long long now);
void mq_scan_sort_head(struct mq_scan *, size_t m);
void mq_scan_sort_tail(struct mq_scan *, size_t m);
int mq_hint_create(struct mq_queue *, const char *tmp, long long now);
void mq_hint_commit(struct mq_queue *, int fd, int ok, const char *tmp,
    const char *name);

/* host.c */
long long mq_host_every(long long timeout_ms);
long long mq_host_silent_at(struct mq_queue *, const char *owner,
    long long now);
void mq_host_forget(struct mq_queue *);

/* sweep.c: a note of the last look at all of cur/ */
#define MQ_CUR_NOTE_MS 1000	/* how long claimers trust it */
#define MQ_SWEEP_OWNERS 16	/* owners it names; more: no note */
struct mq_sweep {
	long long at;		/* when the look began */
	long long next;		/* when the first claim seen may be due */
	int spoilt;		/* met something else: no note */
	int nowners;
	char owners[MQ_SWEEP_OWNERS][32];
};
int mq_sweep_fresh(struct mq_queue *, long long now, long long *due);
void mq_sweep_owner(struct mq_sweep *, const char *owner);
void mq_sweep_write(struct mq_queue *, const struct mq_sweep *);

#endif
