/*
 * test_lib.c: unit tests of src/lib that need no spool on disk, plus the
 * config parser (on a scratch directory).  Prints one line per failure and
 * a final "N passed, N failed"; exits 1 if anything failed.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mq-internal.h"
#include "check.h"

static long long
dur(const char *s)
{
	long long v = -42;

	if (mq_parse_duration(s, &v) < 0)
		return errno == EINVAL ? -1 : -2;
	return v;
}

static long long
size(const char *s)
{
	long long v = -42;

	if (mq_parse_size(s, &v) < 0)
		return errno == EINVAL ? -1 : -2;
	return v;
}

static void
test_duration(void)
{
	CHECK(dur("0") == 0);
	CHECK(dur("30") == 30000);
	CHECK(dur("250ms") == 250);
	CHECK(dur("30s") == 30000);
	CHECK(dur("5m") == 300000);
	CHECK(dur("2h") == 7200000);
	CHECK(dur("7d") == 7LL * 86400000);
	CHECK(dur("1w") == 604800000);
	CHECK(dur("007s") == 7000);
	CHECK(dur("") == -1);
	CHECK(dur("s") == -1);
	CHECK(dur("-1") == -1);
	CHECK(dur("+1") == -1);
	CHECK(dur(" 1") == -1);
	CHECK(dur("1 s") == -1);
	CHECK(dur("1x") == -1);
	CHECK(dur("1S") == -1);
	CHECK(dur("1sec") == -1);
	CHECK(dur("1.5s") == -1);
	CHECK(dur("0x10") == -1);
	CHECK(dur("99999999999999999999") == -1);
	CHECK(dur("9223372036854775807ms") == -1);
	CHECK(dur("9223372036854775807w") == -1);
	CHECK(dur("100000000w") > 0);	/* large but representable */
}

static void
test_size(void)
{
	CHECK(size("0") == 0);
	CHECK(size("512") == 512);
	CHECK(size("64k") == 65536);
	CHECK(size("64K") == 65536);
	CHECK(size("1M") == 1048576);
	CHECK(size("1m") == 1048576);
	CHECK(size("2G") == 2147483648LL);
	CHECK(size("") == -1);
	CHECK(size("k") == -1);
	CHECK(size("-1") == -1);
	CHECK(size("1kb") == -1);
	CHECK(size("1T") == -1);
	CHECK(size("1 k") == -1);
	CHECK(size("1.5M") == -1);
	CHECK(size("99999999999999999999") == -1);
	CHECK(size("9223372036854775807") == LLONG_MAX);
	CHECK(size("9223372036854775807k") == -1);
	CHECK(size("8589934592G") == -1);
}

static int
same(const struct mq_config *a, const struct mq_config *b)
{
	/* Field by field: the struct has padding. */
	return a->timeout_ms == b->timeout_ms &&
	    a->max_deliveries == b->max_deliveries && a->ttl_ms == b->ttl_ms &&
	    a->ttl_dead == b->ttl_dead && a->retention_ms == b->retention_ms &&
	    a->keep_done == b->keep_done && a->max_size == b->max_size &&
	    a->sync == b->sync && a->max_length == b->max_length &&
	    a->overflow_drop == b->overflow_drop &&
	    a->min_free == b->min_free && a->min_free_pct == b->min_free_pct &&
	    a->coalesce_claimed == b->coalesce_claimed;
}

static int
roundtrip(const char *name, struct mq_name *n)
{
	char out[MQ_NAME_MAX + 1];

	if (mq_name_parse(name, n) < 0)
		return 0;
	if (mq_name_format(out, sizeof(out), n) < 0)
		return 0;
	return strcmp(out, name) == 0;
}

static void
test_names(void)
{
	struct mq_name n;
	char buf[400], out[MQ_NAME_MAX + 1];
	const char *id = "1700000000.123456.P42Q0R00ff.host";

	CHECK(roundtrip(id, &n) && strcmp(n.id, id) == 0 &&
	    n.expires == 0 && n.deliveries == 0 && !n.owner[0] &&
	    !n.token[0] && !n.reason[0]);
	snprintf(buf, sizeof(buf), "%s,t1700003600", id);
	CHECK(roundtrip(buf, &n) && n.expires == 1700003600 &&
	    strcmp(n.id, id) == 0);
	snprintf(buf, sizeof(buf), "%s,d3", id);
	CHECK(roundtrip(buf, &n) && n.deliveries == 3);
	snprintf(buf, sizeof(buf), "%s,t17,d2,o0123456789ab-99,cdeadbeef", id);
	CHECK(roundtrip(buf, &n) && n.expires == 17 && n.deliveries == 2 &&
	    strcmp(n.owner, "0123456789ab-99") == 0 &&
	    strcmp(n.token, "deadbeef") == 0 && strcmp(n.id, id) == 0);
	snprintf(buf, sizeof(buf), "%s,d5,rmaxdeliveries", id);
	CHECK(roundtrip(buf, &n) && n.deliveries == 5 &&
	    strcmp(n.reason, "maxdeliveries") == 0);
	snprintf(buf, sizeof(buf), "%s,t17,d2,kuser-42,o0123456789ab-9,c1f", id);
	CHECK(roundtrip(buf, &n) && strcmp(n.key, "user-42") == 0 &&
	    n.deliveries == 2 && strcmp(n.token, "1f") == 0);
	/* The level: one digit right after the id; the default has none. */
	snprintf(buf, sizeof(buf), "%s,p0,t17,d2", id);
	CHECK(roundtrip(buf, &n) && n.level == '0' && mq_level(&n) == 0 &&
	    n.expires == 17 && strcmp(n.id, id) == 0);
	CHECK(roundtrip(id, &n) && n.level == 0 &&
	    mq_level(&n) == MQ_LEVEL_DEFAULT);
	CHECK(roundtrip("x,p5", &n) && strcmp(n.id, "x,p5") == 0 &&
	    mq_level(&n) == MQ_LEVEL_DEFAULT);
	CHECK(roundtrip("x,p01", &n) && strcmp(n.id, "x,p01") == 0);
	CHECK(roundtrip("x,t5,p1", &n) && strcmp(n.id, "x,t5") == 0 &&
	    n.level == '1');
	/* A scan's look at a level: the same as the parser's. */
	CHECK(mq_level_of("x") == MQ_LEVEL_DEFAULT &&
	    mq_level_of("x,t5") == MQ_LEVEL_DEFAULT &&
	    mq_level_of("x,p0,t5,d2") == 0 &&
	    mq_level_of("1.M4.host,S=2,p3") == 3 &&
	    mq_level_of("x,p5") == MQ_LEVEL_DEFAULT &&
	    mq_level_of("x,p3,t5,p2") == 2 &&
	    mq_level_of("x,pp") == MQ_LEVEL_DEFAULT);
	/* Claim order: the level first, then the name. */
	CHECK(mq_level_namecmp("2,p1", "1") < 0 &&
	    mq_level_namecmp("1,p9", "2") > 0 &&
	    mq_level_namecmp("1,p3", "2,p3") < 0 &&
	    mq_level_namecmp("1", "2") < 0);
	CHECK(mq_level_parse("0") == 0 && mq_level_parse("9") == 9 &&
	    mq_level_parse("10") < 0 && mq_level_parse("") < 0 &&
	    mq_level_parse("-1") < 0);
	CHECK(mq_name_parse("x,kuser/1", &n) < 0);
	CHECK(mq_name_parse("x,k,d1", &n) == 0 && strcmp(n.id, "x,k") == 0);
	CHECK(mq_key_valid("a.b_c-1") && !mq_key_valid("") &&
	    !mq_key_valid(".x") && !mq_key_valid("-x") &&
	    !mq_key_valid("a b") && !mq_key_valid("a/b"));
	snprintf(buf, sizeof(buf), "%s,d1,c00000001", id);
	CHECK(roundtrip(buf, &n) && strcmp(n.token, "00000001") == 0);

	/* Foreign names keep their commas; fields after them still parse. */
	CHECK(roundtrip("123.M4P5.host,S=99", &n) &&
	    strcmp(n.id, "123.M4P5.host,S=99") == 0 && n.deliveries == 0);
	CHECK(roundtrip("123.M4P5.host,S=99,d2,cabc", &n) &&
	    strcmp(n.id, "123.M4P5.host,S=99") == 0 && n.deliveries == 2 &&
	    strcmp(n.token, "abc") == 0);
	CHECK(roundtrip("123.M4P5.host,S=99:2,FS", &n) &&
	    strcmp(n.id, "123.M4P5.host,S=99:2,FS") == 0);
	/* Out of order or malformed fields belong to the id. */
	CHECK(mq_name_parse("x,d1,t5", &n) == 0 && strcmp(n.id, "x,d1") == 0 &&
	    n.expires == 5 && n.deliveries == 0);
	CHECK(mq_name_parse("x,dabc", &n) == 0 && strcmp(n.id, "x,dabc") == 0);
	CHECK(mq_name_parse("x,cXYZ", &n) == 0 && strcmp(n.id, "x,cXYZ") == 0);
	CHECK(mq_name_parse("x,o12-", &n) == 0 && strcmp(n.id, "x,o12-") == 0);
	CHECK(mq_name_parse("x,o-12", &n) == 0 && strcmp(n.id, "x,o-12") == 0);
	CHECK(mq_name_parse("x,", &n) == 0 && strcmp(n.id, "x,") == 0);
	CHECK(mq_name_parse("x,d", &n) == 0 && strcmp(n.id, "x,d") == 0);
	CHECK(mq_name_parse("x,d1234567890123456789", &n) == 0 &&
	    n.deliveries == 0);
	CHECK(mq_name_parse("x,c1,c2", &n) == 0 && strcmp(n.id, "x,c1") == 0);
	/* A field is read only as it is written: zero and leading zeros not
	 * (found by tests/fuzz/fuzz_name.c: "x,d0" lost its ",d0"). */
	CHECK(roundtrip("x,t0", &n) && strcmp(n.id, "x,t0") == 0 &&
	    n.expires == 0);
	CHECK(roundtrip("x,d0", &n) && strcmp(n.id, "x,d0") == 0);
	CHECK(roundtrip("x,d01", &n) && strcmp(n.id, "x,d01") == 0);
	CHECK(roundtrip("x,t0,d2", &n) && strcmp(n.id, "x,t0") == 0 &&
	    n.deliveries == 2);

	/* Unsafe names are refused by both the check and the parser. */
	{
		static const char *bad[] = { "", ".x", "..", ".", "-x", "a/b",
			"a\nb", "a b", "a\tb", "a\x7f", "caf\xc3\xa9", "/x" };
		size_t i;
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			CHECK(!mq_name_safe(bad[i]));
			CHECK(mq_name_parse(bad[i], &n) < 0 && errno == EINVAL);
		}
	}
	memset(buf, 'a', 256);
	buf[256] = '\0';
	CHECK(!mq_name_safe(buf));
	CHECK(mq_name_parse(buf, &n) < 0);
	buf[255] = '\0';
	CHECK(mq_name_safe(buf));
	CHECK(mq_name_parse(buf, &n) == 0 && strlen(n.id) == 255);
	CHECK(mq_name_safe("x") && mq_name_safe("a.b-c_d,e=f~"));

	/* A name that would exceed 255 is refused by the formatter. */
	memset(&n, 0, sizeof(n));
	memset(n.id, 'a', 250);
	n.deliveries = 123456;
	CHECK(mq_name_format(out, sizeof(out), &n) < 0 &&
	    errno == ENAMETOOLONG);
	n.deliveries = 1;
	CHECK(mq_name_format(out, sizeof(out), &n) == 0 &&
	    strlen(out) == 253);
	CHECK(mq_name_format(out, 10, &n) < 0);
}

static void
test_ids(void)
{
	enum { N = 200000 };
	char (*ids)[MQ_NAME_MAX + 1];
	size_t i, len0;
	int unique = 1, ordered = 1, samelen = 1, safe = 1;

	if ((ids = calloc(N, sizeof(*ids))) == NULL) {
		CHECK(!"calloc");
		return;
	}
	for (i = 0; i < N; i++)
		if (mq_new_id(ids[i], sizeof(ids[i])) < 0)
			break;
	CHECK(i == N);
	len0 = strlen(ids[0]);
	for (i = 1; i < N; i++) {
		/* In one process, ids must sort in creation order. */
		if (strcmp(ids[i - 1], ids[i]) >= 0) {
			if (ordered)
				printf("  order: %s !< %s\n", ids[i - 1], ids[i]);
			ordered = 0;
		}
		if (strcmp(ids[i - 1], ids[i]) == 0)
			unique = 0;
		/* The time part is fixed width: 10 + . + 6 digits + . */
		if (strspn(ids[i], "0123456789") != 10 || ids[i][10] != '.' ||
		    strspn(ids[i] + 11, "0123456789") != 6 ||
		    ids[i][17] != '.')
			samelen = 0;
		if (!mq_name_safe(ids[i]))
			safe = 0;
	}
	CHECK(len0 > 18);
	CHECK(ordered);
	CHECK(unique);
	CHECK(samelen);
	CHECK(safe);
	{
		/* A parsed id is the whole id: no field is peeled off it. */
		struct mq_name n;
		CHECK(mq_name_parse(ids[0], &n) == 0 &&
		    strcmp(n.id, ids[0]) == 0);
	}
	CHECK(mq_new_id(ids[0], 10) < 0 && errno == ENAMETOOLONG);
	free(ids);
}

static void
test_sanitize(void)
{
	char w[MQ_FIELD_MAX + 1], big[300];

	mq_sanitize_word(w, sizeof(w), "maxdeliveries");
	CHECK(strcmp(w, "maxdeliveries") == 0);
	mq_sanitize_word(w, sizeof(w), "bad input/../x y,z\n");
	CHECK(strcmp(w, "bad-input-..-x-y-z-") == 0);
	mq_sanitize_word(w, sizeof(w), "");
	CHECK(strcmp(w, "unknown") == 0);
	mq_sanitize_word(w, sizeof(w), "caf\xc3\xa9");
	CHECK(strcmp(w, "caf--") == 0);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	mq_sanitize_word(w, sizeof(w), big);
	CHECK(strlen(w) == MQ_FIELD_MAX);
	/* A bigger buffer still gets at most MQ_FIELD_MAX. */
	mq_sanitize_word(big, sizeof(big), big);
	CHECK(strlen(big) == MQ_FIELD_MAX);
	mq_sanitize_word(w, 4, "abcdef");
	CHECK(strcmp(w, "abc") == 0);
	/* The result is a valid r field. */
	{
		struct mq_name n;
		char name[MQ_NAME_MAX + 1];
		mq_sanitize_word(w, sizeof(w), "a,b/c");
		snprintf(name, sizeof(name), "id,r%s", w);
		CHECK(mq_name_parse(name, &n) == 0 &&
		    strcmp(n.reason, "a-b-c") == 0 && strcmp(n.id, "id") == 0);
	}
}

static char dir[] = "/tmp/mqunitXXXXXX";
static int dfd = -1;

/* Write text as dir/config and parse it. */
static int
conf(const char *text, struct mq_config *c, char *err, size_t errlen)
{
	int fd;

	unlinkat(dfd, "config", 0);
	if (text != NULL) {
		fd = openat(dfd, "config", O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || mq_write_all(fd, text, strlen(text)) < 0)
			return -2;
		close(fd);
	}
	err[0] = '\0';
	return mq_config_read(dfd, c, err, errlen);
}

static void
test_config(void)
{
	struct mq_config c, d;
	char err[256];

	if (mkdtemp(dir) == NULL ||
	    (dfd = open(dir, O_RDONLY | O_DIRECTORY)) < 0) {
		CHECK(!"mkdtemp");
		return;
	}
	mq_config_defaults(&d);
	CHECK(d.timeout_ms == 30000 && d.max_deliveries == 5 &&
	    d.ttl_ms == 0 && d.ttl_dead == 0 &&
	    d.retention_ms == 7LL * 86400000 && d.keep_done == 1 &&
	    d.max_size == 10LL << 20 && d.sync == 1);

	/* No file: the defaults. */
	memset(&c, 0xff, sizeof(c));
	CHECK(conf(NULL, &c, err, sizeof(err)) == 0 &&
	    same(&c, &d));
	/* The default file written by -c reads as the defaults. */
	CHECK(mq_config_write_default(dfd, 0600) == 0);
	memset(&c, 0xff, sizeof(c));
	CHECK(mq_config_read(dfd, &c, err, sizeof(err)) == 0 &&
	    same(&c, &d));
	/* Writing it again over an existing one is not an error. */
	CHECK(mq_config_write_default(dfd, 0600) == 0);
	CHECK(faccessat(dfd, "config.tmp", F_OK, 0) < 0);

	CHECK(conf("", &c, err, sizeof(err)) == 0 &&
	    same(&c, &d));
	CHECK(conf("# only a comment\n\n   \t\n", &c, err, sizeof(err)) == 0 &&
	    same(&c, &d));
	CHECK(conf("timeout = 5m\n"
		   "max_deliveries = 0\n"
		   "ttl = 1h\n"
		   "expired = dead\n"
		   "retention = 0\n"
		   "keep_done = no\n"
		   "max_size = 64k\n"
		   "sync = no\n", &c, err, sizeof(err)) == 0);
	CHECK(c.timeout_ms == 300000 && c.max_deliveries == 0 &&
	    c.ttl_ms == 3600000 && c.ttl_dead == 1 && c.retention_ms == 0 &&
	    c.keep_done == 0 && c.max_size == 65536 && c.sync == 0);
	CHECK(conf("expired = delete\nkeep_done = yes\nsync = yes\n"
		   "max_deliveries = 1000000\n", &c, err, sizeof(err)) == 0 &&
	    c.ttl_dead == 0 && c.keep_done == 1 && c.sync == 1 &&
	    c.max_deliveries == 1000000);
	/* Blanks, tabs, CRLF and trailing comments around the = . */
	CHECK(conf("\ttimeout=10s# c\r\n  max_size\t =  1M   \n", &c, err,
	    sizeof(err)) == 0 && c.timeout_ms == 10000 &&
	    c.max_size == 1048576);
	/* The last line may lack its newline. */
	CHECK(conf("timeout = 7s", &c, err, sizeof(err)) == 0 &&
	    c.timeout_ms == 7000);

	CHECK(conf("timout = 5s\n", &c, err, sizeof(err)) < 0 &&
	    errno == EINVAL && strstr(err, "config:1: timout: unknown") != NULL);
	CHECK(conf("\n# x\ntimeout = soon\n", &c, err, sizeof(err)) < 0 &&
	    errno == EINVAL &&
	    strstr(err, "config:3: timeout: bad value") != NULL);
	CHECK(conf("timeout\n", &c, err, sizeof(err)) < 0 &&
	    strstr(err, "config:1: expected key = value") != NULL);
	CHECK(conf("timeout =\n", &c, err, sizeof(err)) < 0);
	CHECK(conf("= 5s\n", &c, err, sizeof(err)) < 0);
	CHECK(conf("max_deliveries = -1\n", &c, err, sizeof(err)) < 0);
	CHECK(conf("max_deliveries = 1000001\n", &c, err, sizeof(err)) < 0);
	CHECK(conf("max_deliveries = 5x\n", &c, err, sizeof(err)) < 0);
	CHECK(conf("keep_done = true\n", &c, err, sizeof(err)) < 0);
	CHECK(conf("sync = YES\n", &c, err, sizeof(err)) < 0);
	CHECK(conf("expired = later\n", &c, err, sizeof(err)) < 0);
	CHECK(conf("max_size = 1T\n", &c, err, sizeof(err)) < 0);
	CHECK(conf("ttl = -5s\n", &c, err, sizeof(err)) < 0);
	CHECK(conf("retention = 1y\n", &c, err, sizeof(err)) < 0);
	CHECK(conf("Timeout = 5s\n", &c, err, sizeof(err)) < 0);
	/* Flow control and coalescing (limit.c, key.c). */
	CHECK(conf("max_length = 1000\noverflow = drop-oldest\n"
		   "min_free = 64M\ncoalesce = claimed\n", &c, err,
	    sizeof(err)) == 0 && c.max_length == 1000 && c.overflow_drop == 1 &&
	    c.min_free == 64LL << 20 && c.min_free_pct == 0 &&
	    c.coalesce_claimed == 1);
	CHECK(conf("min_free = 5%\noverflow = refuse\ncoalesce = waiting\n",
	    &c, err, sizeof(err)) == 0 && c.min_free_pct == 5 &&
	    c.min_free == 0 && c.overflow_drop == 0 && c.coalesce_claimed == 0);
	CHECK(conf("min_free = 100%\n", &c, err, sizeof(err)) < 0);
	CHECK(conf("min_free = 5%%\n", &c, err, sizeof(err)) < 0);
	CHECK(conf("min_free = %\n", &c, err, sizeof(err)) < 0);
	CHECK(conf("overflow = drop\n", &c, err, sizeof(err)) < 0);
	CHECK(conf("coalesce = always\n", &c, err, sizeof(err)) < 0);
	CHECK(conf("max_length = -1\n", &c, err, sizeof(err)) < 0);
	/* A claim with no time at all could never be acknowledged. */
	CHECK(conf("timeout = 0\n", &c, err, sizeof(err)) < 0);

	/* A config that is not a regular file is refused, not followed. */
	unlinkat(dfd, "config", 0);
	CHECK(symlinkat("/etc/passwd", dfd, "config") == 0);
	CHECK(mq_config_read(dfd, &c, err, sizeof(err)) < 0);
	unlinkat(dfd, "config", 0);
	CHECK(mkfifoat(dfd, "config", 0600) == 0);
	CHECK(mq_config_read(dfd, &c, err, sizeof(err)) < 0 ||
	    same(&c, &d));
	unlinkat(dfd, "config", 0);
	unlinkat(dfd, "config.tmp", 0);
	close(dfd);
	rmdir(dir);
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_duration();
	test_size();
	test_names();
	test_ids();
	test_sanitize();
	test_config();
	return check_done("test_lib");
}
