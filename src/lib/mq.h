/*
 * mq.h: the spool library shared by the mq tools.
 *
 * A queue is a directory:
 *
 *	QUEUE/config	settings, "key = value" lines (mq-spool(5))
 *	QUEUE/tmp/	files being written; never read by consumers
 *	QUEUE/new/	visible messages; mtime = when visible
 *	QUEUE/cur/	claims; mtime = when the claim expires
 *	QUEUE/done/	acknowledged messages, if kept
 *	QUEUE/dead/	dead letters; the reason is in the name
 *	QUEUE/.index	a hint of new/'s head for claimers, never synced;
 *			may be stale or missing (index.c)
 *	QUEUE/.cur	a note of the last look at all of cur/: when the
 *			first claim may expire, their owners (sweep.c)
 *	QUEUE/paused	while it exists, nothing is claimed (limit.c)
 *	QUEUE/hosts/	a heartbeat per host whose long-running tools
 *			use the queue (host.c); made on first use
 *	QUEUE/keys/	coalescing keys: KEY says where its message is
 *			(key.c); made on first use
 *	QUEUE/groups/	ordered groups: KEY/ holds the messages waiting
 *			behind the group's head, KEY/.head names the head
 *			(group.c); made on first use
 *	QUEUE/ends/	how messages ended, their results, and the
 *			waiters' registrations in ends/wait/ (end.c,
 *			wait.c); made on first use
 *
 * A file name is an id followed by ","-separated fields, each a letter and a
 * value, written in this order and parsed from the right, so that a foreign
 * name holding commas of its own stays whole:
 *
 *	p<digit>	its level, 0 most urgent; none: the default (naming.c)
 *	t<epoch>	expires (TTL) at this time
 *	d<n>		delivered n times so far
 *	o<tag>-<pid>	claimed on behalf of this process on the host tagged
 *	c<hex>		the claim's token: fresh for every claim
 *	k<key>		its coalescing key (key.c)
 *	g<key>		its ordered group (group.c)
 *	r<word>		why the message is a dead letter
 *
 * Invariants: every state change is one rename(2) that cannot replace a
 * file; nothing is reported done before the directories are fsync'ed (unless
 * the queue or the caller asked for no syncing); a library function returns
 * -1 and sets errno, and names the object that failed in q->errobj; it never
 * prints and never exits.  Tools set umask(0) and every file and directory is
 * created with an explicit mode.
 */
#ifndef MQ_H
#define MQ_H

#include <sys/types.h>
#include <sys/stat.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#define MQ_NAME_MAX 255
#define MQ_FIELD_MAX 64
/* Priorities (naming.c): 0 the most urgent, as nice(1); no field: 5. */
#define MQ_LEVELS 10
#define MQ_LEVEL_DEFAULT 5
#define MQ_OWNER_MAX 32		/* an o field, "tag-pid", and its NUL */
/* A fresh claim is never taken back sooner than this after its rename. */
#define MQ_RENAME_GRACE_MS 2000
/* Consumers look whether anyone waits on a queue this often (end.c). */
#define MQ_WAITS_MS 1000
/*
 * Where inotify cannot see (network file systems), look this often: an idle
 * mqwatch's poll on GlusterFS costs it 0.2% of a core at this rate, and a
 * put on another host is claimed 100 ms later (p50; p99 147 ms: mq(7),
 * bench (g)).
 */
#define MQ_POLL_MS 100
#define MQ_POLL_MAX_MS (3600LL * 1000)
/* Hosts sharing a spool keep their clocks this close to the file system's. */
#define MQ_SKEW_MAX_MS 2000
/* A host whose heartbeat is older than this is gone (host_timeout). */
#define MQ_HOST_TIMEOUT_MS 30000
/* maildir's rule for leftovers in tmp/. */
#define MQ_TMP_MAX_AGE_MS (36LL * 3600 * 1000)

enum mq_dir { MQ_TMP, MQ_NEW, MQ_CUR, MQ_DONE, MQ_DEAD, MQ_NDIRS };
#define MQ_KEYS MQ_NDIRS	/* keys/, for a reaper's report (key.c) */
#define MQ_GROUPS (MQ_NDIRS + 1) /* groups/, likewise (group.c) */
#define MQ_ENDS (MQ_NDIRS + 2)	/* ends/, likewise (end.c) */

struct mq_config {
	long long timeout_ms;	  /* default visibility timeout */
	long long max_deliveries; /* 0: unlimited */
	long long ttl_ms;	  /* default TTL of a put; 0: none */
	int ttl_dead;		  /* expired: 1 to dead/, 0 deleted */
	long long retention_ms;	  /* of done/; 0: forever */
	int keep_done;		  /* ack: 1 to done/, 0 deleted */
	long long max_size;	  /* bytes; 0: unlimited */
	int sync;		  /* 0: never fsync (throwaway queues) */
	long long max_length;	  /* messages waiting in new/; 0: unlimited */
	int overflow_drop;	  /* full: 1 oldest to dead/, 0 refuse */
	long long min_free;	  /* bytes the file system keeps free */
	int min_free_pct;	  /* or percent of it; 0: none */
	int coalesce_claimed;	  /* a key holds while claimed, too */
	long long poll_ms;	  /* look this often where inotify is blind */
	long long end_retention_ms; /* of end records; 0: forever */
	int record_ends;	  /* record every end, not only when asked */
	long long host_timeout_ms; /* a silent host's claims back; 0: never */
};

struct mq_queue {
	char *path;		/* as the user gave it */
	int fd;			/* the queue directory */
	int dfd[MQ_NDIRS];	/* its subdirectories */
	mode_t fmode;		/* mode of message files */
	struct mq_config cfg;
	unsigned dirty;		/* directories changed since the last sync */
	long long clock_at;	/* when clock_skew was measured (clock.c) */
	long long clock_skew;	/* the file system's clock minus ours, ms */
	int skiperr;		/* errno of an entry a claim had to pass */
	long long host_beat;	/* next heartbeat due (host.c); -1: none */
	struct mq_hosts *hosts;	/* other hosts' heartbeats read (host.c) */
	char errobj[MQ_NAME_MAX + 16]; /* "new/NAME": what last failed */
	long long waits_at;	/* when ends/wait/ was looked for (end.c) */
	int waits;		/* it was there: someone may wait */
	struct mq_ends *ends;	/* heads ended, groups to move on (group.c) */
	void *scans[MQ_NDIRS];	/* DIR streams kept for the next scan */
	int pausedseen;		/* the pause file, as mq_paused last saw it */
	int newshort;		/* our last claim scanned a short new/, with
				   neither hint nor index (claim.c) */
	/* Called for each spool entry that is skipped (FIFO, link, ...). */
	void (*skipped)(struct mq_queue *, enum mq_dir, const char *name,
	    const char *why);
};

/* A parsed file name. */
struct mq_name {
	char id[MQ_NAME_MAX + 1];
	char level;		/* p: '0' (most urgent) to '9'; 0: default */
	long long expires;	/* t: epoch seconds, 0 none */
	long long deliveries;	/* d */
	char owner[MQ_OWNER_MAX]; /* o: "tag-pid" or "" */
	char key[MQ_FIELD_MAX + 1]; /* k: or "" */
	char group[MQ_FIELD_MAX + 1]; /* g: or "" */
	char token[20];		/* c: or "" */
	char reason[MQ_FIELD_MAX + 1]; /* r: or "" */
};

/* A claim: where it is and what it was. */
struct mq_claim {
	char name[MQ_NAME_MAX + 1]; /* in cur/ */
	struct mq_name n;
	long long deadline_ms;
};

/*
 * Lower *due (0: none yet) to at, if at is a time (> 0) and sooner: every
 * "when is the next thing" of the library and the tools.
 */
static inline void
mq_soonest(long long *due, long long at)
{
	if (at > 0 && (*due == 0 || at < *due))
		*due = at;
}

/* util.c */
long long mq_now_ms(void);
int mq_transient(int err);
struct mq_unit {
	const char *name;	/* the suffix: "ms", "k", "/m" */
	long long mul;
};
int mq_parse_unit(const char *, const struct mq_unit *, size_t,
    long long *n, long long *mul);
int mq_parse_duration(const char *, long long *ms);
int mq_parse_size(const char *, long long *bytes);
int mq_write_all(int fd, const void *, size_t);
int mq_copy(int in, int out);

/* naming.c */
int mq_name_safe(const char *);
long long mq_name_time(const char *id);
void mq_name_prime(void);

/* config.c */
int mq_config_read(int qfd, struct mq_config *, char *err, size_t errlen);

/* spool.c */
extern const char *const mq_dirnames[MQ_NDIRS + 3];
int mq_open(struct mq_queue *, const char *path, int create, int group);
void mq_close(struct mq_queue *);
int mq_sync(struct mq_queue *);
int mq_open_body(struct mq_queue *, enum mq_dir, const char *name);
int mq_split_path(const char *path, enum mq_dir, char *qpath, size_t,
    char *name, size_t);

/* put.c */
struct mq_put;
struct mq_put *mq_put_begin(struct mq_queue *, long long delay_ms,
    long long ttl_ms, int nosync);
int mq_put_fd(struct mq_put *, int fd, const char *buf, size_t len);
int mq_put_commit(struct mq_put *, size_t *moved, int *unsure);
const char *mq_put_id(const struct mq_put *, size_t);
size_t mq_put_pending(const struct mq_put *);
void mq_put_abort(struct mq_put *);
/* Why the last commit refused messages (ENOSPC): limit.c */
enum mq_refusal { MQ_REFUSED_NOT, MQ_REFUSED_FULL, MQ_REFUSED_RESERVE };
enum mq_refusal mq_put_refused(const struct mq_put *);
int mq_put_key(struct mq_put *, const char *key);
int mq_put_group(struct mq_put *, const char *key);
int mq_put_level(struct mq_put *, int level);

/* naming.c: priorities */
int mq_level_parse(const char *);
int mq_level(const struct mq_name *);

/* key.c */
int mq_key_valid(const char *);
void mq_put_end(struct mq_put *);

/* scan.c */
struct mq_entry {
	size_t off;	/* of the name in buf */
	enum mq_dir dir;
	unsigned char level;	/* of the name: scans sort by it first */
};
struct mq_scan {
	struct mq_entry *e;
	size_t n, cap;
	char *buf;	/* the names, one after another */
	size_t used, bufcap;
	size_t passed;	/* entries that cannot be messages, reported */
};
int mq_scan(struct mq_queue *, enum mq_dir, struct mq_scan *);
#define mq_scan_name(s, i) ((s)->buf + (s)->e[(i)].off)
void mq_scan_sort(struct mq_scan *);
void mq_scan_free(struct mq_scan *);


/* claim.c */
int mq_claim(struct mq_queue *, size_t max, long long timeout_ms,
    pid_t owner, struct mq_claim *out, size_t *nout, long long *next_ms);

/* fate.c: the events of a message's life (the table is internal) */
enum mq_event {
	MQ_EV_REACHED,		/* a claimer reached it, claimable */
	MQ_EV_EXPIRED,		/* a reaper found its claim expired */
	MQ_EV_DONE,		/* its handler succeeded */
	MQ_EV_FAILED,		/* its handler failed: retry later */
	MQ_EV_REJECTED,		/* its handler said: never retry */
	MQ_EV_INTERRUPTED,	/* its handler was stopped: not its fault */
	MQ_EV_UNDELIVERED,	/* claimed, but no consumer got it */
	MQ_EV_UNSTARTED,	/* claimed, its handler could not start */
	MQ_EV_UNTAKEN,		/* claimed, but its deadline not set */
	MQ_EV_RELEASED,		/* its consumer put it back (a delay) */
	MQ_EV_KICKED,		/* an operator sent a dead letter back */
	MQ_EV_LINKED,		/* it has a second hard link: unclaimable */
	MQ_EV_UNREADABLE,	/* a claimer may not read it (group queue) */
	MQ_EV_OVERFLOW,		/* the oldest waiting of a full queue */
	MQ_EV_PURGED,		/* an operator purged its state (mqpurge) */
	MQ_EV_MOVED,		/* an operator moved it to another queue */
};
/* lease.c: each returns -1 with errno ESTALE for a claim that moved on */
int mq_finish(struct mq_queue *, const char *name, enum mq_event,
    const char *reason, long long delay_ms);
int mq_extend(struct mq_queue *, const char *name, long long timeout_ms);


/* reap.c: housekeeping of a queue (mqreap); nothing here prints */
struct mq_reaper {
	int dryrun;		/* report, change nothing */
	void *ctx;		/* the caller's */
	/* Done (or due, in a dry run): VERB from/NAME [-> to/NEWNAME] (WHY) */
	void (*act)(struct mq_reaper *, const char *verb, enum mq_dir from,
	    const char *name, enum mq_dir to, const char *newname,
	    const char *why);
	/* An entry or a directory failed: errno, q->errobj say what. */
	void (*error)(struct mq_reaper *);
	/* The owner, on this host, of a claim not yet expired (or NULL). */
	void (*owner)(struct mq_reaper *, pid_t);
	long long due;		/* after a pass: the next thing due, or 0 */
	struct mq_reap_counts {
		unsigned long long back, dead, expired, purged, tmp, kicked;
		unsigned long long keys;
		unsigned long long groups;	/* repaired (group.c) */
		unsigned long long ends;	/* records forgotten (end.c) */
	} c;
};
void mq_reap(struct mq_queue *, struct mq_reaper *, long long now);
void mq_reap_kick(struct mq_queue *, struct mq_reaper *, const char *name);
int mq_reap_lock(struct mq_queue *, int *fd, int wait);
void mq_reap_unlock(int fd);

/* end.c, wait.c: how a message ended, its result; waiting for it */
enum mq_outcome { MQ_END_ACKED, MQ_END_DEAD, MQ_END_EXPIRED, MQ_END_PURGED,
	MQ_END_MOVED, MQ_NENDS };
extern const char *const mq_endnames[MQ_NENDS];
struct mq_ended {
	enum mq_outcome end;
	char reason[MQ_FIELD_MAX + 1];	/* MQ_END_DEAD: why */
	int recorded;		/* from ends/ (else from done/ or dead/) */
	char *result;		/* its consumer's answer (malloc'ed) or NULL */
	size_t len;
};
int mq_id_valid(const char *);
int mq_result_read(int fd, long long max, char **, size_t *);
int mq_finish_result(struct mq_queue *, const char *name, const char *res,
    size_t len);
int mq_result_path(struct mq_queue *, unsigned slot, char *, size_t);
int mq_result_take(struct mq_queue *, unsigned slot, char **, size_t *);
void mq_ended_free(struct mq_ended *);
struct mq_waiter;
struct mq_waiter *mq_wait_begin(struct mq_queue *, const char *id,
    const char *name);
void mq_wait_ready(struct mq_waiter *);
int mq_wait_end(struct mq_waiter *, long long until_ms, struct mq_ended *);
void mq_wait_close(struct mq_waiter *);
/* host.c: the hosts sharing a spool, seen by their heartbeats */
int mq_host_beat(struct mq_queue *, long long now);
void mq_host_leave(struct mq_queue *);
struct mq_host {
	char tag[13];		/* mq_host_tag() of that host */
	char name[MQ_FIELD_MAX + 1]; /* its name, from the heartbeat */
	long long beat;		/* the heartbeat's mtime, ms; 0: none */
	int silent;		/* older than host_timeout */
	unsigned long long claims; /* held in cur/ (o field) */
};
int mq_hosts(struct mq_queue *, long long now, struct mq_host **, size_t *);

/* fault.c: riding out the file system's temporary faults (daemons) */
struct mq_fault {
	int err;		/* the failure that began it; 0: no fault */
	long long since;	/* ms */
	long long next, wait;	/* the next look, ms; the back-off */
	int reopened;		/* the queue was opened anew */
	char obj[MQ_NAME_MAX + 16]; /* q->errobj when it began */
};
int mq_fault_begin(struct mq_fault *, struct mq_queue *, int err,
    long long now);
int mq_fault_retry(struct mq_fault *, struct mq_queue *, long long now);

/* limit.c: flow control (mq-spool(5) max_length, min_free, paused) */
int mq_paused(struct mq_queue *);

/* rate.c: a consumer's rate limit (mqwatch -r); pure, times in us */
#define MQ_RATE_MAX 100000	/* starts per period */
struct mq_rate {
	size_t n;		/* starts per period; 0: no limit */
	long long period_us, every_us;
	long long next_us;	/* the bucket's next token */
	long long *log;		/* the last n starts, from log[first] */
	size_t first, used;
};
int mq_rate_parse(const char *, struct mq_rate *);
void mq_rate_free(struct mq_rate *);
size_t mq_rate_allow(struct mq_rate *, long long now, size_t want);
void mq_rate_spend(struct mq_rate *, long long now, size_t n);
long long mq_rate_next(struct mq_rate *, long long now);

/* topic.c, publish.c: publish-subscribe (mqpub) */
#define MQ_ID_MAX 128
struct mq_topic {
	char *path;		/* as the user gave it */
	int fd, subfd, pubfd, tmpfd; /* TOPIC/, subscribers/, pub/, tmp/ */
	const char *group;	/* of the copies: an ordered group, or NULL */
	char level;		/* of the copies: as mq_name's */
	char errobj[MQ_NAME_MAX + 16];
};
enum mq_sub_state {
	MQ_SUB_DELIVERED,	/* its copy is in its new/ and durable */
	MQ_SUB_ALREADY,		/* an earlier attempt delivered it */
	MQ_SUB_REFUSED,		/* full, or below min_free: refused */
	MQ_SUB_FAILED,		/* err, errobj: removed, unwritable, ... */
	MQ_SUB_UNSURE,		/* in new/, but new/ could not be synced */
};
struct mq_sub {
	char name[MQ_FIELD_MAX + 1];	/* TOPIC/subscribers/NAME */
	char queue[4096];		/* the queue it links to */
	enum mq_sub_state state;
	enum mq_refusal refused;
	int err;
	char errobj[MQ_NAME_MAX + 16];	/* in the queue, what failed */
};
int mq_topic_open(struct mq_topic *, const char *path, int create);
void mq_topic_close(struct mq_topic *);
int mq_topic_subscribe(struct mq_topic *, const char *queue, char *name,
    size_t);
int mq_topic_unsubscribe(struct mq_topic *, const char *queue, char *name,
    size_t);
int mq_pub_id_valid(const char *);
int mq_publish(struct mq_topic *, const char *id, int in, int nosync,
    void (*stored)(const char *id), struct mq_sub **, size_t *);

/* watch.c */
struct mq_watch;
struct mq_walk;
#define MQ_WATCH_POLL 1	/* poll, do not trust inotify */
#define MQ_WATCH_CUR 2	/* also arrivals in cur/: new deadlines (reapers) */
#define MQ_WATCH_BRIEF 4 /* ends once woken: a teardown that does not wait */
struct mq_watch *mq_watch_open(struct mq_queue *, int flags);
int mq_watch_fd(const struct mq_watch *);
int mq_watch_wait(struct mq_watch *, long long until_ms);
int mq_watch_drain(struct mq_watch *, struct mq_walk *);
void mq_watch_close(struct mq_watch *);

/* worker.c: for long-running consumers (mqwatch) */
#define MQ_WALK_HINTS 32
struct mq_walk {
	struct mq_scan s;	/* sorted, walked from pos */
	size_t pos;
	long long scanned_ms;
	long long due;		/* earliest not-yet-claimable seen */
	long long cur_ms;	/* when cur/ was last scanned */
	long long curdue;	/* earliest claim there to fall due */
	int stale;
	/* Arrivals in new/ that inotify named since the walk's scan. */
	char hint[MQ_WALK_HINTS][MQ_NAME_MAX + 1];
	size_t nhint;
	int hintover;		/* more than fit: rescan instead */
	int watched;		/* inotify names every arrival: trust hints */
	int pauseknown;		/* paused holds until inotify says otherwise */
	int paused;
};
int mq_walk_claim(struct mq_queue *, struct mq_walk *, size_t max,
    long long timeout_ms, pid_t owner, struct mq_claim *, size_t *nout,
    long long *next_ms);
void mq_walk_free(struct mq_walk *);

/* stat.c: counts and listings without claiming (mqstat; issue 11) */
enum mq_state { MQ_ST_VISIBLE, MQ_ST_DELAYED, MQ_ST_INFLIGHT, MQ_ST_EXPIRED,
	MQ_ST_DONE, MQ_ST_DEAD, MQ_ST_TMP, MQ_NSTATES };
extern const char *const mq_statenames[MQ_NSTATES];
#define MQ_AGE_BUCKETS 10
extern const long long mq_age_bounds[MQ_AGE_BUCKETS - 1]; /* seconds */
struct mq_reason_count {
	char reason[MQ_FIELD_MAX + 1];
	unsigned long long n;
};
struct mq_stats {
	unsigned long long n[MQ_NSTATES];
	long long oldest_visible;	/* its enqueue time, ms; 0: none */
	long long oldest_claim;		/* its claim (ctime), ms; 0: none */
	unsigned long long age[MQ_AGE_BUCKETS]; /* waiting, by age */
	long long age_sum_ms;
	struct mq_reason_count *dead;	/* dead letters by reason */
	size_t ndead;
	int paused;			/* QUEUE/paused exists */
	unsigned long long groups;	/* ordered groups held (group.c) */
	unsigned long long behind;	/* messages waiting behind them */
	unsigned long long level[MQ_LEVELS]; /* in new/ (waiting), by level */
};
struct mq_peek {
	enum mq_dir dir;	/* or MQ_GROUPS: waiting behind a group's head */
	const char *name;	/* in dir; in groups/: "KEY/NAME" */
	struct mq_name n;
	enum mq_state state;
	long long put;		/* enqueue time, ms */
	long long at;		/* new/: visible at; cur/: deadline; else 0 */
	off_t size;
};
int mq_stat(struct mq_queue *, long long now, struct mq_stats *);
void mq_stat_free(struct mq_stats *);
int mq_peek(struct mq_queue *, long long now,
    int (*)(void *, const struct mq_peek *), void *);

/* admin.c: an operator's purge and move, by state (mqpurge, mqmove) */
#define MQ_STATE_BIT(s) (1u << (s))
struct mq_admin {
	unsigned states;	/* MQ_STATE_BIT()s of the states to act on */
	const char *reason;	/* dead letters of this reason only; or NULL */
	int dryrun;		/* report, change nothing */
	struct mq_queue *to;	/* move to this queue's new/; NULL: purge */
	void *ctx;		/* the caller's */
	/* Done (or due, in a dry run): VERB q/from/NAME [-> to/new/NEWNAME] */
	void (*act)(struct mq_admin *, struct mq_queue *, const char *verb,
	    enum mq_dir from, const char *name, const char *newname);
	/* An entry failed: errno, q->errobj say what; the pass goes on. */
	void (*error)(struct mq_admin *, struct mq_queue *);
	unsigned long long n;	/* messages purged or moved */
};
int mq_states_parse(const char *, unsigned *);
void mq_admin(struct mq_queue *, struct mq_admin *, long long now);

#endif
