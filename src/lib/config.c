/*
 * config.c: QUEUE/config, the queue's settings as "key = value" lines, so
 * that cat shows them and an editor changes them.  An unknown key or a bad
 * value is an error, never silently ignored: a typo in "max_deliveries"
 * must not turn a dead-letter policy off.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mq-internal.h"

/* How a setting's value is read. */
enum kind {
	DURATION,	/* "30s", "5m", "250ms" (mq_parse_duration) */
	DURATION0,	/* a DURATION, or 0 (off) */
	SIZE,		/* "10M" (mq_parse_size) */
	COUNT,		/* a number */
	WORDS,		/* one of two words: 0 and 1 */
	RESERVE,	/* bytes, or a percentage (min_free) */
};

/*
 * Every setting, one row each: its key, how it is read, where it goes in
 * struct mq_config (a long long, or an int for WORDS), its bounds and its
 * default.  A new setting is a new row.
 */
static const struct setting {
	const char *key;
	enum kind kind;
	size_t off;
	long long min, max;	/* DURATION, COUNT; max 0: none */
	const char *words[2];	/* WORDS */
	long long dflt;
} settings[] = {
#define AT(f) offsetof(struct mq_config, f)
	/* A claim that expires at once could never be acknowledged. */
	{ "timeout", DURATION, AT(timeout_ms), 1, 0, { 0 }, 30 * 1000 },
	{ "max_deliveries", COUNT, AT(max_deliveries), 0, 1000000, { 0 }, 5 },
	{ "ttl", DURATION, AT(ttl_ms), 0, 0, { 0 }, 0 },
	{ "expired", WORDS, AT(ttl_dead), 0, 0, { "delete", "dead" }, 0 },
	{ "retention", DURATION, AT(retention_ms), 0, 0, { 0 },
	    7LL * 86400 * 1000 },
	{ "end_retention", DURATION, AT(end_retention_ms), 0, 0, { 0 },
	    86400LL * 1000 },
	{ "record_ends", WORDS, AT(record_ends), 0, 0, { "no", "yes" }, 0 },
	{ "keep_done", WORDS, AT(keep_done), 0, 0, { "no", "yes" }, 1 },
	{ "max_size", SIZE, AT(max_size), 0, 0, { 0 }, 10LL << 20 },
	{ "sync", WORDS, AT(sync), 0, 0, { "no", "yes" }, 1 },
	{ "max_length", COUNT, AT(max_length), 0, 1000000000, { 0 }, 0 },
	{ "overflow", WORDS, AT(overflow_drop), 0, 0,
	    { "refuse", "drop-oldest" }, 0 },
	{ "min_free", RESERVE, AT(min_free), 0, 0, { 0 }, 0 },
	{ "coalesce", WORDS, AT(coalesce_claimed), 0, 0,
	    { "waiting", "claimed" }, 0 },
	{ "poll", DURATION, AT(poll_ms), 1, MQ_POLL_MAX_MS, { 0 }, MQ_POLL_MS },
	/*
	 * 0: hosts are never judged silent.  Less than 3 s would be shorter
	 * than a heartbeat's refresh (every second at least) plus the
	 * attribute caches of network file systems.
	 */
	{ "host_timeout", DURATION0, AT(host_timeout_ms), 3000,
	    MQ_POLL_MAX_MS * 24, { 0 }, MQ_HOST_TIMEOUT_MS },
#undef AT
};
#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

static long long *
ll(struct mq_config *c, const struct setting *t)
{
	return (long long *)(void *)((char *)c + t->off);
}

static int *
word(struct mq_config *c, const struct setting *t)
{
	return (int *)(void *)((char *)c + t->off);
}

void
mq_config_defaults(struct mq_config *c)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < NSETTINGS; i++) {
		if (settings[i].kind == WORDS)
			*word(c, &settings[i]) = (int)settings[i].dflt;
		else
			*ll(c, &settings[i]) = settings[i].dflt;
	}
}

/* EFBIG if a message of size bytes is over the queue's max_size. */
int
mq_fits(const struct mq_queue *q, long long size)
{
	if (q->cfg.max_size && size > q->cfg.max_size) {
		errno = EFBIG;
		return -1;
	}
	return 0;
}

/* "100M" bytes, or "5%" of the file system (Postfix's queue_minfree). */
static int
reserve(const char *v, struct mq_config *c)
{
	const char *pct = strchr(v, '%'), *e;
	char num[16];

	if (pct == NULL) {
		c->min_free_pct = 0;
		return mq_parse_size(v, &c->min_free);
	}
	if (pct[1] != '\0' || (size_t)(pct - v) >= sizeof(num))
		return -1;
	memcpy(num, v, (size_t)(pct - v));
	num[pct - v] = '\0';
	c->min_free_pct = (int)strtonum(num, 0, 99, &e);
	c->min_free = 0;
	return e ? -1 : 0;
}

/* Read v as row t says: 0, or -1 for a bad value. */
static int
value(struct mq_config *c, const struct setting *t, const char *v)
{
	long long n;
	const char *e;
	int i;

	switch (t->kind) {
	case WORDS:
		for (i = 0; i < 2; i++)
			if (strcmp(v, t->words[i]) == 0) {
				*word(c, t) = i;
				return 0;
			}
		return -1;
	case RESERVE:
		return reserve(v, c);
	case SIZE:
		return mq_parse_size(v, ll(c, t));
	case COUNT:
		n = strtonum(v, t->min, t->max, &e);
		if (e)
			return -1;
		break;
	case DURATION:
	case DURATION0:
		if (mq_parse_duration(v, &n) < 0 ||
		    (n < t->min && !(n == 0 && t->kind == DURATION0)) ||
		    (t->max && n > t->max))
			return -1;
		break;
	}
	*ll(c, t) = n;
	return 0;
}

/* Set k to v: 0, -1 a bad value, -2 an unknown key. */
static int
setting(struct mq_config *c, const char *k, const char *v)
{
	size_t i;

	for (i = 0; i < NSETTINGS; i++)
		if (strcmp(k, settings[i].key) == 0)
			return value(c, &settings[i], v);
	return -2;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
	    e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* A missing file means the defaults. */
int
mq_config_read(int qfd, struct mq_config *c, char *err, size_t errlen)
{
	char *line = NULL, *k, *v, *eq;
	size_t cap = 0;
	int fd, lineno = 0, rc = 0, r;
	FILE *f;

	mq_config_defaults(c);
	fd = openat(qfd, "config", O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "config: %s", strerror(errno));
		return -1;
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		snprintf(err, errlen, "config: %s", strerror(errno));
		close(fd);
		return -1;
	}
	while (getline(&line, &cap, f) != -1) {
		lineno++;
		if ((k = strchr(line, '#')) != NULL)
			*k = '\0';
		k = trim(line);
		if (*k == '\0')
			continue;
		if ((eq = strchr(k, '=')) == NULL) {
			snprintf(err, errlen, "config:%d: expected key = value",
			    lineno);
			errno = EINVAL;
			rc = -1;
			break;
		}
		*eq = '\0';
		v = trim(eq + 1);
		k = trim(k);
		if ((r = setting(c, k, v)) != 0) {
			snprintf(err, errlen, "config:%d: %s: %s", lineno, k,
			    r == -2 ? "unknown setting" : "bad value");
			errno = EINVAL;
			rc = -1;
			break;
		}
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "config: %s", strerror(errno));
		rc = -1;
	}
	free(line);
	fclose(f);
	return rc;
}

static const char default_config[] =
    "# mq queue settings: see mq-spool(5).  Command-line options override.\n"
    "timeout = 30s        # visibility timeout of a claim\n"
    "max_deliveries = 5   # then to dead/; 0: unlimited\n"
    "ttl = 0              # default time to live of a put; 0: forever\n"
    "expired = delete     # what TTL expiry does: delete or dead\n"
    "retention = 7d       # how long done/ keeps messages; 0: forever\n"
    "keep_done = yes      # acknowledged messages to done/ (no: deleted)\n"
    "max_size = 10M       # largest message accepted; 0: unlimited\n"
    "sync = yes           # no: never fsync (throwaway queues)\n"
    "max_length = 0       # messages waiting in new/; 0: unlimited\n"
    "overflow = refuse    # when full: refuse, or drop-oldest (to dead/)\n"
    "min_free = 0         # refuse puts below this free space (64M, 5%)\n"
    "coalesce = waiting   # a put's key (-K) matches: waiting, or claimed too\n"
    "poll = 100ms         # on NFS, GlusterFS...: look for others' puts this often\n"
    "host_timeout = 30s   # a host silent this long: its claims come back\n"
    "end_retention = 1d   # how long ends/ keeps how messages ended; 0: forever\n"
    "record_ends = no     # yes: record every end, not only those waited for\n";

/*
 * Written under a name of its own, then renamed in without replacing, so
 * that config is never seen half-written and concurrent creators (or an
 * administrator's own config) never clash: the first one wins.
 */
int
mq_config_write_default(int qfd, mode_t mode)
{
	struct stat st;
	char tmp[64];
	int fd, e;

	if (fstatat(qfd, "config", &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	snprintf(tmp, sizeof(tmp), "config.%ld.%08x.tmp", (long)getpid(),
	    arc4random());
	fd = openat(qfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	if (mq_write_all(fd, default_config, sizeof(default_config) - 1) < 0 ||
	    mq_fsync(fd) < 0) {
		e = errno;
		close(fd);
		fd = -1;
		errno = e;
	}
	if (fd < 0 || close(fd) < 0) {
		e = errno;
		unlinkat(qfd, tmp, 0);
		errno = e;
		return -1;
	}
	if (mq_rename_private(qfd, tmp, qfd, "config") < 0) {
		e = errno;
		unlinkat(qfd, tmp, 0);
		if (e == EEXIST)
			return 0;
		errno = e;
		return -1;
	}
	return 0;
}
