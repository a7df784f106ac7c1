/*
 * config.c: QUEUE/config, the queue's settings as "key = value" lines, so
 * that cat shows them and an editor changes them.  An unknown key or a bad
 * value is an error, never silently ignored: a typo in "max_deliveries"
 * must not turn a dead-letter policy off.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mq-internal.h"

void
mq_config_defaults(struct mq_config *c)
{
	c->timeout_ms = 30 * 1000;
	c->max_deliveries = 5;
	c->ttl_ms = 0;
	c->ttl_dead = 0;
	c->retention_ms = 7LL * 86400 * 1000;
	c->keep_done = 1;
	c->max_size = 10LL << 20;
	c->sync = 1;
	c->max_length = 0;
	c->overflow_drop = 0;
	c->min_free = 0;
	c->min_free_pct = 0;
	c->coalesce_claimed = 0;
	c->poll_ms = MQ_POLL_MS;
	c->end_retention_ms = 86400LL * 1000;
	c->record_ends = 0;
	c->host_timeout_ms = MQ_HOST_TIMEOUT_MS;
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

static int
yesno(const char *v, int *out)
{
	if (strcmp(v, "yes") == 0)
		*out = 1;
	else if (strcmp(v, "no") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

static int
setting(struct mq_config *c, const char *k, const char *v)
{
	const char *e;

	if (strcmp(k, "timeout") == 0) {
		/* A claim that expires at once could never be acknowledged. */
		if (mq_parse_duration(v, &c->timeout_ms) < 0 ||
		    c->timeout_ms == 0)
			return -1;
		return 0;
	}
	if (strcmp(k, "ttl") == 0)
		return mq_parse_duration(v, &c->ttl_ms);
	if (strcmp(k, "retention") == 0)
		return mq_parse_duration(v, &c->retention_ms);
	if (strcmp(k, "end_retention") == 0)
		return mq_parse_duration(v, &c->end_retention_ms);
	if (strcmp(k, "record_ends") == 0)
		return yesno(v, &c->record_ends);
	if (strcmp(k, "max_size") == 0)
		return mq_parse_size(v, &c->max_size);
	if (strcmp(k, "keep_done") == 0)
		return yesno(v, &c->keep_done);
	if (strcmp(k, "sync") == 0)
		return yesno(v, &c->sync);
	if (strcmp(k, "max_deliveries") == 0) {
		c->max_deliveries = strtonum(v, 0, 1000000, &e);
		return e ? -1 : 0;
	}
	if (strcmp(k, "max_length") == 0) {
		c->max_length = strtonum(v, 0, 1000000000, &e);
		return e ? -1 : 0;
	}
	if (strcmp(k, "overflow") == 0) {
		if (strcmp(v, "refuse") == 0)
			c->overflow_drop = 0;
		else if (strcmp(v, "drop-oldest") == 0)
			c->overflow_drop = 1;
		else
			return -1;
		return 0;
	}
	if (strcmp(k, "min_free") == 0)
		return reserve(v, c);
	if (strcmp(k, "poll") == 0) {
		if (mq_parse_duration(v, &c->poll_ms) < 0 ||
		    c->poll_ms == 0 || c->poll_ms > MQ_POLL_MAX_MS)
			return -1;
		return 0;
	}
	if (strcmp(k, "host_timeout") == 0) {
		/*
		 * 0: hosts are never judged silent.  Less than 3 s would be
		 * shorter than a heartbeat's refresh (every second at least)
		 * plus the attribute caches of network file systems.
		 */
		if (mq_parse_duration(v, &c->host_timeout_ms) < 0 ||
		    (c->host_timeout_ms > 0 && c->host_timeout_ms < 3000) ||
		    c->host_timeout_ms > MQ_POLL_MAX_MS * 24)
			return -1;
		return 0;
	}
	if (strcmp(k, "coalesce") == 0) {
		if (strcmp(v, "waiting") == 0)
			c->coalesce_claimed = 0;
		else if (strcmp(v, "claimed") == 0)
			c->coalesce_claimed = 1;
		else
			return -1;
		return 0;
	}
	if (strcmp(k, "expired") == 0) {
		if (strcmp(v, "delete") == 0)
			c->ttl_dead = 0;
		else if (strcmp(v, "dead") == 0)
			c->ttl_dead = 1;
		else
			return -1;
		return 0;
	}
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
