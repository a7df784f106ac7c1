/*
 * stat.c: what a queue holds, seen without claiming or changing anything
 * (mqstat).
 *
 * The state of a message is its directory and, in new/ and cur/, what the
 * gate (gate.c) says of it, as claimers and mqreap see it: new/ holds
 * visible and delayed messages, cur/ live and expired claims (deadline
 * passed, or owner dead, and the rename MQ_RENAME_GRACE_MS old).  Entries the
 * gate finds odd (FIFOs, links, unsafe names) are not messages: not
 * counted.  done/, dead/ and tmp/ are counted from their names
 * alone, the reason of a dead letter being the name's last field, and the
 * enqueue time of every message is in its id (mq_name_time): so a stat is
 * one directory read per directory, plus one fstatat per entry of new/ and
 * cur/, never an open.  Nothing is sorted.
 *
 * A message that moves on during the count (claimed, acknowledged) may be
 * counted twice or not at all: these are figures, not a snapshot.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "mq-internal.h"

const char *const mq_statenames[MQ_NSTATES] = { "visible", "delayed",
	"inflight", "expired", "done", "dead", "tmp" };

/* qshape's default buckets: 5, 10, 20, ... 1280 minutes, and more. */
const long long mq_age_bounds[MQ_AGE_BUCKETS - 1] = { 300, 600, 1200, 2400,
	4800, 9600, 19200, 38400, 76800 };

/*
 * An entry of dir: 1 a message (*state its state), 0 gone or no message,
 * -1 error.  In new/ and cur/ the gate (gate.c) decides, as for claimers.
 */
static int
entry(struct mq_queue *q, enum mq_dir dir, const char *name, long long now,
    struct stat *st, enum mq_state *state)
{
	struct mq_look l;
	enum mq_look_kind k;

	if (dir == MQ_NEW || dir == MQ_CUR) {
		k = mq_gate(q, dir, name, now, 0, &l);
		*st = l.st;
		*state = mq_look_state(dir, k);
		return k == MQ_LOOK_FAILED ? -1 : k >= MQ_LOOK_WAITING;
	}
	*state = mq_look_state(dir, MQ_LOOK_DUE);
	if (fstatat(q->dfd[dir], name, st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 :
		    mq_entry_error(q, dir, name, errno);
	return S_ISREG(st->st_mode);
}

static int
count_reason(struct mq_stats *s, const char *reason)
{
	struct mq_reason_count *nd;
	size_t i;

	if (reason[0] == '\0')
		reason = "unknown";
	for (i = 0; i < s->ndead; i++)
		if (strcmp(s->dead[i].reason, reason) == 0) {
			s->dead[i].n++;
			return 0;
		}
	if ((nd = reallocarray(s->dead, s->ndead + 1, sizeof(*nd))) == NULL)
		return -1;
	s->dead = nd;
	strlcpy(nd[s->ndead].reason, reason, sizeof(nd->reason));
	nd[s->ndead++].n = 1;
	return 0;
}

/* A waiting message put at put_ms: into the age histogram. */
static void
age(struct mq_stats *s, long long put_ms, long long now)
{
	long long a = now > put_ms ? (now - put_ms) / 1000 : 0;
	int b;

	for (b = 0; b < MQ_AGE_BUCKETS - 1 && a > mq_age_bounds[b]; b++)
		;
	s->age[b]++;
	s->age_sum_ms += now > put_ms ? now - put_ms : 0;
}

/* When a message was put: from its id, or for a foreign name its mtime. */
static long long
put_time(const char *name, const struct stat *st)
{
	long long t = mq_name_time(name);

	return t > 0 ? t * 1000 : st ? mq_mtime_ms(st) : 0;
}

static int
one(struct mq_queue *q, enum mq_dir dir, const char *name, long long now,
    struct mq_stats *s)
{
	struct mq_name n;
	struct stat st;
	enum mq_state state;
	long long t;
	int r;

	if (dir == MQ_NEW || dir == MQ_CUR) {
		if ((r = entry(q, dir, name, now, &st, &state)) <= 0)
			return r;
	} else
		state = mq_look_state(dir, MQ_LOOK_DUE);
	s->n[state]++;
	switch (state) {
	case MQ_ST_VISIBLE:
	case MQ_ST_DELAYED:
		s->level[mq_level_of(name)]++;
		t = put_time(name, &st);
		age(s, t, now);
		if (state == MQ_ST_VISIBLE &&
		    (s->oldest_visible == 0 || t < s->oldest_visible))
			s->oldest_visible = t;
		break;
	case MQ_ST_INFLIGHT:
	case MQ_ST_EXPIRED:
		t = mq_ctime_ms(&st);
		if (s->oldest_claim == 0 || t < s->oldest_claim)
			s->oldest_claim = t;
		break;
	case MQ_ST_DEAD:
		if (mq_name_parse(name, &n) < 0)
			n.reason[0] = '\0';
		if (count_reason(s, n.reason) < 0)
			return mq_entry_error(q, dir, name, errno);
		break;
	default:
		break;
	}
	return 0;
}

/* Count queue q's messages by state; s is to be freed with mq_stat_free. */
int
mq_stat(struct mq_queue *q, long long now, struct mq_stats *s)
{
	static const enum mq_dir order[] = { MQ_NEW, MQ_CUR, MQ_DONE, MQ_DEAD,
		MQ_TMP };
	struct mq_scan sc;
	size_t d, i;
	int r = 0;

	memset(s, 0, sizeof(*s));
	if ((s->paused = mq_paused(q)) < 0)
		return -1;
	for (d = 0; d < sizeof(order) / sizeof(order[0]) && r == 0; d++) {
		memset(&sc, 0, sizeof(sc));
		r = mq_scan(q, order[d], &sc);
		for (i = 0; r == 0 && i < sc.n; i++)
			r = one(q, order[d], mq_scan_name(&sc, i), now, s);
		mq_scan_free(&sc);
	}
	if (r == 0)
		r = mq_group_stat(q, &s->groups, &s->behind);
	return r;
}

void
mq_stat_free(struct mq_stats *s)
{
	free(s->dead);
	s->dead = NULL;
	s->ndead = 0;
}

/*
 * Each message of q, in id order within each directory (new/, groups/,
 * cur/, dead/, done/, tmp/), to fn; a non-zero return of fn stops the walk and is
 * returned.  Every entry is stat'ed: the listing shows sizes.
 */
int
mq_peek(struct mq_queue *q, long long now,
    int (*fn)(void *, const struct mq_peek *), void *ctx)
{
	static const enum mq_dir order[] = { MQ_NEW, MQ_CUR, MQ_DEAD, MQ_DONE,
		MQ_TMP };
	struct mq_peek p;
	struct mq_scan sc;
	struct stat st;
	size_t d, i;
	int r = 0, e;

	for (d = 0; d < sizeof(order) / sizeof(order[0]) && r == 0; d++) {
		memset(&sc, 0, sizeof(sc));
		if ((r = mq_scan(q, order[d], &sc)) == 0)
			mq_scan_sort(&sc);
		for (i = 0; r == 0 && i < sc.n; i++) {
			memset(&p, 0, sizeof(p));
			p.dir = order[d];
			p.name = mq_scan_name(&sc, i);
			if ((e = entry(q, p.dir, p.name, now, &st,
			    &p.state)) <= 0) {
				r = e;
				continue;
			}
			if (mq_name_parse(p.name, &p.n) < 0)
				strlcpy(p.n.id, p.name, sizeof(p.n.id));
			p.put = put_time(p.name, &st);
			p.size = st.st_size;
			if (p.dir == MQ_NEW || p.dir == MQ_CUR)
				p.at = mq_mtime_ms(&st);
			r = fn(ctx, &p);
		}
		mq_scan_free(&sc);
		/* After new/, the lines waiting behind groups' heads. */
		if (order[d] == MQ_NEW && r == 0)
			r = mq_group_peek(q, now, fn, ctx);
	}
	return r;
}
