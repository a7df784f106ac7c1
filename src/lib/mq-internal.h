/*
 * mq-internal.h: what the library's files share and the tools do not see.
 * The tools include mq.h only; everything here may change with no tool
 * noticing.
 */
#ifndef MQ_INTERNAL_H
#define MQ_INTERNAL_H

#include <dirent.h>
#include <signal.h>

#include "mq.h"

struct mq_verdict;	/* fate.c, below */

/* util.c */
int mq_obj_error(struct mq_queue *, const char *dir, const char *,
    const char *);
int mq_entry_error(struct mq_queue *, enum mq_dir, const char *, int);
long long mq_mtime_ms(const struct stat *);
long long mq_ctime_ms(const struct stat *);
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
#define MQ_DN_NEW 1		/* drained: something entered new/ (or lost) */
#define MQ_DN_QUEUE 2		/* a name left the queue directory */
int mq_dnwatch_drain(struct mq_dnwatch *);
void mq_dnwatch_close(struct mq_dnwatch *);
/* spool.c */
int mq_subdir(struct mq_queue *, int at, const char *name, int create);

/* watch.c */
int mq_remote(int fd);

/* end.c */
void mq_end_settled(struct mq_queue *, enum mq_dir, const struct mq_name *,
    const struct mq_verdict *);
int mq_end_read(struct mq_queue *, int efd, const char *id,
    struct mq_ended *);
void mq_end_reap(struct mq_queue *, struct mq_reaper *, long long now);
int mq_end_record(struct mq_queue *, const struct mq_name *,
    const struct mq_verdict *, const char *res, size_t, struct stat *mine);
void mq_end_unrecord(int efd, const char *id, const struct stat *mine);

/* clock.c */
int mq_clock_ok(struct mq_queue *, enum mq_dir, const char *name);

/* naming.c */
int mq_name_parse(const char *, struct mq_name *);
int mq_name_format(char *, size_t, const struct mq_name *);
int mq_new_id(char *, size_t);
const char *mq_host_tag(void);
void mq_token(char *, size_t);
void mq_sanitize_word(char *dst, size_t, const char *src);
int mq_word_valid(const char *, size_t max);

/* config.c */
void mq_config_defaults(struct mq_config *);
int mq_fits(const struct mq_queue *, long long size);
int mq_config_write_default(int qfd, mode_t);

/* enter.c: the one way into new/ */
struct mq_arrival {
	char tmp[MQ_NAME_MAX + 1];	/* its file in tmp/ */
	struct mq_name n;		/* its name to be: id, fields */
	char name[MQ_NAME_MAX + 1];	/* the name it got in new/ */
	int innew;			/* in new/, not behind its group */
	long long at;			/* visible at, ms; 0: at once */
};
struct mq_entered {
	size_t moved;			/* how many are in new/ */
	int unsure;			/* ... but new/ could not be synced */
	enum mq_refusal why;		/* fewer: which limit refused */
};
#define MQ_ENTER_NOSYNC 1	/* the caller asked for no syncing */
#define MQ_ENTER_KEEPID 2	/* the id is the caller's: never a fresh one */
int mq_enter_name(const struct mq_queue *, struct mq_name *,
    long long ttl_ms);
struct mq_group;
int mq_enter(struct mq_queue *, struct mq_arrival *, size_t, int flags,
    struct mq_group *, struct mq_entered *);

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
int mq_group_pending(const struct mq_queue *);
void mq_group_close(struct mq_queue *);
int mq_group_waits(struct mq_queue *, const char *name);
void mq_group_reap(struct mq_queue *, struct mq_reaper *, long long now);
void mq_group_admin(struct mq_queue *, struct mq_admin *, long long now);
int mq_group_stat(struct mq_queue *, unsigned long long *held,
    unsigned long long *behind);
int mq_group_peek(struct mq_queue *, long long now,
    int (*)(void *, const struct mq_peek *), void *);

/* gate.c: what an entry of new/ or cur/ is, and whether it is due */
#define MQ_PID_MAX (1 << 30)	/* an owner field's pid, at most */
enum mq_look_kind {
	MQ_LOOK_GONE,		/* vanished: a race lost */
	MQ_LOOK_FAILED,		/* could not look: errno, q->errobj */
	MQ_LOOK_ODD,		/* no message: why says what it is */
	MQ_LOOK_WAITING,	/* a message not due yet: at says when */
	MQ_LOOK_DISTRUSTED,	/* due by a clock not to be trusted */
	MQ_LOOK_DUE,		/* visible (new/), expired (cur/): why */
};
#define MQ_GATE_CLOCK 1		/* check the clock before calling it due */
struct mq_look {
	struct stat st;
	struct mq_name n;
	long long at;		/* when due, ms; 0: cannot be timed */
	const char *why;	/* odd: what it is; due: why */
	int linked;		/* odd: a second hard link */
	int owner_dead;		/* cur/: its owner, of this host, is gone */
	int host_silent;	/* cur/: its owner's host fell silent */
};
pid_t mq_owner_pid(const char *owner);
int mq_owner_dead(const char *owner);
enum mq_look_kind mq_gate(struct mq_queue *, enum mq_dir, const char *,
    long long now, int flags, struct mq_look *);
enum mq_look_kind mq_gate_claim(struct mq_queue *, const struct stat *,
    struct mq_look *, long long now);
enum mq_state mq_look_state(enum mq_dir, enum mq_look_kind);
enum mq_state mq_waiting_state(const struct stat *, long long now);

/* fate.c: what becomes of a message; the one table of rules */
enum mq_fate {
	MQ_FATE_CLAIM,		/* take it: a fresh claim in cur/ */
	MQ_FATE_RETURN,		/* back to new/, visible after delay_ms */
	MQ_FATE_DONE,		/* to done/, or deleted (keep_done) */
	MQ_FATE_BURY,		/* to dead/, reason in the name */
	MQ_FATE_DELETE,		/* gone */
};
struct mq_verdict {
	enum mq_fate fate;
	const char *reason;	/* MQ_FATE_BURY */
	const char *verb, *why;	/* for people: "bury" (maxdeliveries) */
	long long delay_ms;	/* MQ_FATE_RETURN */
	int live;		/* the caller holds the claim: check it */
	int uncount;		/* the delivery did not happen */
	int reset;		/* a fresh start: no deliveries, no passed TTL */
	int recorded;		/* its end record is written (end.c) */
};
void mq_fate(const struct mq_config *, const struct mq_name *,
    enum mq_event, long long now, struct mq_verdict *);
enum mq_dir mq_fate_dir(const struct mq_verdict *);
/* end.c: the record of an end that leaves no trace, made before it. */
struct mq_prerec {
	int efd;		/* ends/, while a record is ours */
	struct stat mine;	/* the record written */
	const char *id;
	struct mq_verdict v;	/* the verdict, recorded */
};
int mq_end_before(struct mq_queue *, enum mq_dir, const struct mq_name *,
    const struct mq_verdict *, struct mq_prerec *);
const struct mq_verdict *mq_end_made(struct mq_prerec *,
    const struct mq_verdict *);
void mq_end_unmade(struct mq_prerec *);
void mq_fate_name(const struct mq_name *from, const struct mq_verdict *,
    long long now, struct mq_name *to);
#define MQ_BACKOFF_MAX_MS (3600LL * 1000)
long long mq_backoff_ms(long long deliveries);

/* lease.c */
int mq_named(struct mq_queue *, enum mq_dir, const char *, struct mq_name *);
int mq_settle(struct mq_queue *, enum mq_dir, const char *name,
    const struct mq_verdict *, char *newname, size_t);
int mq_check(struct mq_queue *, const char *name, struct mq_name *);
void mq_odd(struct mq_queue *, enum mq_dir, const char *,
    const struct mq_look *, long long now, int move);

/* claim.c */
int mq_claim_skipped(struct mq_queue *, size_t got);
int mq_claim_entry(struct mq_queue *, enum mq_dir, const char *name,
    long long timeout_ms, pid_t owner, struct mq_claim *, long long *due);

/* scan.c */
DIR *mq_dir_open(struct mq_queue *, enum mq_dir);
DIR *mq_fd_opendir(int dfd);

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

/* naming.c and scan.c: a name's level, and claim order */
int mq_level_of(const char *name);
int mq_level_namecmp(const char *, const char *);
int mq_scan_cmp(const void *, const void *, void *buf);

/* urgent.c: the hint of urgent arrivals, QUEUE/.urgent */
enum { MQ_URGENT_OK, MQ_URGENT_OVER, MQ_URGENT_ALL };
struct mq_due {
	size_t off;		/* of a name in the hint's s.buf */
	long long at;		/* when it is due, ms */
};
struct mq_urgent {
	int fd;			/* the hint; -1: none */
	int rdonly;		/* another member's (group queue) */
	int state;		/* OK: its names are every urgent one */
	struct mq_scan s;	/* its names, in claim order */
	struct mq_due *due;	/* of those put delayed, by off */
	size_t ndue;
	unsigned char *dead;	/* of s: taken or gone */
};
void mq_urgent_note(struct mq_queue *, const char *const *,
    const long long *at, size_t);
void mq_urgent_named(struct mq_queue *, const struct mq_name *,
    long long at);
void mq_urgent_open(struct mq_queue *, struct mq_urgent *);
long long mq_urgent_due(const struct mq_urgent *, size_t i);
void mq_urgent_spent(struct mq_urgent *);
int mq_urgent_scanned(struct mq_queue *, struct mq_urgent *,
    const struct mq_scan *, size_t head);
void mq_urgent_close(struct mq_urgent *);

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
	char owners[MQ_SWEEP_OWNERS][MQ_OWNER_MAX];
};
int mq_sweep_fresh(struct mq_queue *, long long now, long long *due);
void mq_sweep_seen(struct mq_sweep *, long long due, const char *owner);
void mq_sweep_write(struct mq_queue *, const struct mq_sweep *);

#endif
