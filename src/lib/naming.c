/*
 * naming.c: message ids and the fields that follow them in a file name.
 *
 * An id is "SSSSSSSSSS.UUUUUU.P<pid>Q<seq>R<rand>.<host>": a fixed-width
 * enqueue time (so that LC_ALL=C ls lists arrival order), then what makes it
 * unique: the pid and a per-process counter (unique on a host), a random
 * number and the host name (unique across hosts sharing the spool, as in
 * maildir).  The host name is reduced to [A-Za-z0-9.-], anything else
 * becoming "_": the kernel accepts "/", ":" and newlines in a UTS namespace.
 */
#include <sys/utsname.h>

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mq-internal.h"

/*
 * The level (p) comes first: it is set once, at put, and kept by every move
 * (claim, release, dead letter, mqmove), so the name's first field says it
 * in every directory, and a scan finds it right after the id (mq_level_of).
 */
static const char fieldorder[] = "ptdkgocr";

static int
field_rank(char c)
{
	const char *p;

	p = strchr(fieldorder, c);
	return p && c ? (int)(p - fieldorder) : -1;
}

static int
all_of(const char *s, const char *set)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (!strchr(set, *s))
			return 0;
	return 1;
}

#define DIGITS "0123456789"
#define HEX "0123456789abcdef"
#define WORD "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"

/*
 * A word: 1 to max of [A-Za-z0-9._-], not starting with "." or "-" (so
 * that it is a safe file name and never an option): coalescing keys,
 * publication ids, subscriber names.
 */
int
mq_word_valid(const char *s, size_t max)
{
	size_t n = strspn(s, WORD);

	return n > 0 && s[n] == '\0' && n <= max && s[0] != '.' &&
	    s[0] != '-';
}

static int
field_valid(char c, const char *v)
{
	const char *dash;

	switch (c) {
	case 'p':
		/*
		 * One digit, never the default: a foreign "x,p5" or "x,p01"
		 * is part of its id (the default level has no field).
		 */
		return v[0] >= '0' && v[0] <= '9' && v[1] == '\0' &&
		    v[0] != '0' + MQ_LEVEL_DEFAULT;
	case 't': case 'd':
		/*
		 * Only as mq_name_format writes them: a foreign "x,t0" or
		 * "x,d01" is part of its id, and keeps its name when moved.
		 */
		return all_of(v, DIGITS) && v[0] != '0' && strlen(v) <= 18;
	case 'c':
		return all_of(v, HEX) && strlen(v) < 20;
	case 'r': case 'k': case 'g':
		return all_of(v, WORD) && strlen(v) <= MQ_FIELD_MAX;
	case 'o':
		dash = strchr(v, '-');
		if (!dash || strlen(v) >= 32)
			return 0;
		return dash > v && strspn(v, HEX) == (size_t)(dash - v) &&
		    all_of(dash + 1, DIGITS);
	}
	return 0;
}

/*
 * Peel fields off the right while they are ours and in order; what is left
 * is the id.  A foreign name ("123.M4P5.host,S=99") keeps its own commas.
 */
/* strlcpy, without libbsd's byte loop (a name is parsed for every claim). */
static void
field(char *dst, size_t size, const char *src)
{
	size_t l = strlen(src);

	if (l >= size)
		l = size - 1;
	memcpy(dst, src, l);
	dst[l] = '\0';
}

int
mq_name_parse(const char *s, struct mq_name *n)
{
	char buf[MQ_NAME_MAX + 1], *comma;
	int last = (int)sizeof(fieldorder) - 1, r;
	size_t l = strlen(s);

	memset(n, 0, sizeof(*n));
	if (l > MQ_NAME_MAX || !mq_name_safe(s)) {
		errno = EINVAL;
		return -1;
	}
	memcpy(buf, s, l + 1);
	while ((comma = strrchr(buf, ',')) != NULL && comma != buf) {
		r = field_rank(comma[1]);
		if (r < 0 || r >= last || !field_valid(comma[1], comma + 2))
			break;
		last = r;
		switch (comma[1]) {
		case 'p':
			n->level = comma[2];
			break;
		case 't':
			n->expires = strtoll(comma + 2, NULL, 10);
			break;
		case 'd':
			n->deliveries = strtoll(comma + 2, NULL, 10);
			break;
		case 'o':
			field(n->owner, sizeof(n->owner), comma + 2);
			break;
		case 'c':
			field(n->token, sizeof(n->token), comma + 2);
			break;
		case 'k':
			field(n->key, sizeof(n->key), comma + 2);
			break;
		case 'g':
			field(n->group, sizeof(n->group), comma + 2);
			break;
		case 'r':
			field(n->reason, sizeof(n->reason), comma + 2);
			break;
		}
		*comma = '\0';
	}
	/* buf is at most MQ_NAME_MAX long: it fits (libbsd's strlcpy is slow). */
	memcpy(n->id, buf, strlen(buf) + 1);
	return 0;
}

/*
 * The fields are appended by hand, not by snprintf: a claim formats its new
 * name once, and the eight snprintf calls took 3,400 of the 7,500
 * instructions of a claim of mqget -n 1000 (callgrind).
 */
struct fmt {
	char *dst;
	size_t len, w;		/* w: written so far; > len once past */
};

static void
put(struct fmt *f, char tag, const char *s)
{
	size_t l = strlen(s);

	if (tag) {
		if (f->w < f->len)
			f->dst[f->w] = ',';
		if (f->w + 1 < f->len)
			f->dst[f->w + 1] = tag;
		f->w += 2;
	}
	if (f->w < f->len)
		memcpy(f->dst + f->w, s, f->w + l < f->len ? l : f->len - f->w);
	f->w += l;
}

static void
put_num(struct fmt *f, char tag, long long v)
{
	char b[24];
	size_t i = sizeof(b) - 1;

	b[i] = '\0';
	do
		b[--i] = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	put(f, tag, b + i);
}

int
mq_name_format(char *dst, size_t len, const struct mq_name *n)
{
	struct fmt f = { dst, len, 0 };
	char lv[2] = { 0, 0 };

	put(&f, 0, n->id);
	if (n->level && n->level != '0' + MQ_LEVEL_DEFAULT) {
		lv[0] = n->level;
		put(&f, 'p', lv);
	}
	if (n->expires > 0)
		put_num(&f, 't', n->expires);
	if (n->deliveries > 0)
		put_num(&f, 'd', n->deliveries);
	if (n->key[0])
		put(&f, 'k', n->key);
	if (n->group[0])
		put(&f, 'g', n->group);
	if (n->owner[0])
		put(&f, 'o', n->owner);
	if (n->token[0])
		put(&f, 'c', n->token);
	if (n->reason[0])
		put(&f, 'r', n->reason);
	if (len > 0)
		dst[f.w < len ? f.w : len - 1] = '\0';
	if (f.w >= len || f.w > MQ_NAME_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/*
 * A name that may be used inside the spool: printable ASCII without "/" or
 * blanks, not starting with "." (hidden, "..") or "-" (an option).
 */
/* When the message was put: the seconds that start its id; 0 if foreign. */
long long
mq_name_time(const char *id)
{
	long long t = 0;

	for (; *id >= '0' && *id <= '9' && t < LLONG_MAX / 10; id++)
		t = t * 10 + (*id - '0');
	return t;
}

int
mq_name_safe(const char *s)
{
	size_t i;

	if (s[0] == '\0' || s[0] == '.' || s[0] == '-')
		return 0;
	/* '!' to '~' but '/': one range test a character (every claim). */
	for (i = 0; s[i]; i++)
		if ((unsigned char)(s[i] - '!') > '~' - '!' || s[i] == '/')
			return 0;
	return i <= MQ_NAME_MAX;
}

/*
 * Random words for ids and tokens, from a pool refilled 64 at a time:
 * libbsd's arc4random() asks getpid(2) on every call (to notice a fork), a
 * system call per claim in a batch.  The pool is emptied in a forked child
 * instead, so that parent and child never hand out the same words.
 */
static uint32_t pool[64];
static size_t pooled;

static void
pool_forget(void)
{
	pooled = 0;
}

static uint32_t
random_word(void)
{
	static int registered;

	if (!registered) {
		registered = 1;
		pthread_atfork(NULL, NULL, pool_forget);
	}
	if (pooled == 0) {
		arc4random_buf(pool, sizeof(pool));
		pooled = sizeof(pool) / sizeof(pool[0]);
	}
	return pool[--pooled];
}

/*
 * Do now what a first claim would: fill the pool (arc4random's first call
 * seeds it, 4 system calls).  A consumer about to wait calls it, so that
 * the work is done before the wait, not between the wake and the claim.
 */
void
mq_name_prime(void)
{
	if (pooled == 0)
		(void)random_word();
}

static const char *
host_name(void)
{
	static char host[65];
	struct utsname u;
	size_t i;

	if (host[0])
		return host;
	if (uname(&u) < 0 || u.nodename[0] == '\0')
		strlcpy(host, "localhost", sizeof(host));
	else
		strlcpy(host, u.nodename, sizeof(host));
	for (i = 0; host[i]; i++)
		if (!isalnum((unsigned char)host[i]) && host[i] != '.' &&
		    host[i] != '-')
			host[i] = '_';
	if (host[0] == '.' || host[0] == '-')
		host[0] = '_';
	return host;
}

int
mq_new_id(char *dst, size_t len)
{
	static unsigned long seq;
	static long long last;
	struct timespec ts;
	long long us;
	int w;

	/*
	 * Two ids in the same microsecond would sort by their (variable
	 * width) counter, Q10 before Q9: never reuse or go back on a time
	 * within a process, so that its ids sort in creation order.
	 */
	clock_gettime(CLOCK_REALTIME, &ts);
	us = (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	if (us <= last)
		us = last + 1;
	last = us;
	w = snprintf(dst, len, "%010lld.%06lld.P%ldQ%luR%04x.%s",
	    us / 1000000, us % 1000000, (long)getpid(), seq++,
	    random_word() & 0xffff, host_name());
	if (w < 0 || (size_t)w >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/*
 * A short tag for this host (FNV-1a of its raw name): a claim's owner pid
 * means something only on the host that wrote it.
 */
const char *
mq_host_tag(void)
{
	static char tag[13];
	struct utsname u;
	uint64_t h = 14695981039346656037ULL;
	const unsigned char *p;

	if (tag[0])
		return tag;
	if (uname(&u) < 0)
		u.nodename[0] = '\0';
	for (p = (const unsigned char *)u.nodename; *p; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	snprintf(tag, sizeof(tag), "%012llx",
	    (unsigned long long)(h & 0xffffffffffffULL));
	return tag;
}

void
mq_token(char *dst, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	uint32_t w = random_word();
	size_t i;

	/* Eight hex digits, as "%08x", without snprintf (once per claim). */
	for (i = 0; i < 8 && i + 1 < len; i++)
		dst[i] = hex[w >> (28 - 4 * i) & 0xf];
	if (len > 0)
		dst[i] = '\0';
}

/* Make a reason word: safe characters only, at most MQ_FIELD_MAX. */
void
mq_sanitize_word(char *dst, size_t len, const char *src)
{
	size_t i;

	if (len > MQ_FIELD_MAX + 1)
		len = MQ_FIELD_MAX + 1;
	for (i = 0; src[i] && i + 1 < len; i++)
		dst[i] = strchr(WORD, src[i]) && src[i] ? src[i] : '-';
	dst[i] = '\0';
	if (i == 0)
		strlcpy(dst, "unknown", len);
}

/*
 * Priorities.  A message has a level from 0 (the most urgent) to 9, as
 * nice(1) and beanstalkd: a smaller number runs sooner.  Ten levels are one
 * digit in a name, enough to say "page someone" from "nightly report", and
 * few enough to tell apart.  The default is 5, the middle, so that work can
 * be put both ahead of the routine (0-4) and behind it (6-9).  The level is
 * the p field, right after the id; a message of the default level carries
 * no field, so every name written before levels existed, and every maildir
 * writer's, is of the default level.  Claims take the most urgent visible
 * message first, FIFO within a level (scan.c's mq_scan_cmp); urgent.c keeps
 * the hint that finds urgent arrivals without a scan.
 */
/* An option's level: one digit; -1 (EINVAL) for anything else. */
int
mq_level_parse(const char *s)
{
	if (s[0] < '0' || s[0] > '9' || s[1] != '\0') {
		errno = EINVAL;
		return -1;
	}
	return s[0] - '0';
}

/* The level of a parsed name: its p field, else the default. */
int
mq_level(const struct mq_name *n)
{
	return n->level ? n->level - '0' : MQ_LEVEL_DEFAULT;
}

/*
 * The level of a name, for every entry of a scan: without a ",p" after its
 * first comma it has the default level (no parse: a scan of a million).
 */
int
mq_level_of(const char *name)
{
	const char *p = strchr(name, ',');
	struct mq_name n;

	if (p == NULL || strstr(p, ",p") == NULL ||
	    mq_name_parse(name, &n) < 0)
		return MQ_LEVEL_DEFAULT;
	return mq_level(&n);
}

/* Two names in claim order (as mq_scan_cmp). */
int
mq_level_namecmp(const char *a, const char *b)
{
	int la = mq_level_of(a), lb = mq_level_of(b);

	if (la != lb)
		return la < lb ? -1 : 1;
	return strcmp(a, b);
}
