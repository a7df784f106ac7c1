/*
 * mqstat: what queues hold, for people, jq and Prometheus.
 *
 *	mqstat [-j | -p] [-o file] queue ...
 *	mqstat -l [-j] [-o file] [-s state[,state ...]] queue ...
 *
 * Counts by state, the age of the oldest visible message and of the oldest
 * claim, the dead letters by reason, a histogram of the waiting messages'
 * ages in qshape's buckets (the library's mq_stat, stat.c) and the hosts
 * with their heartbeats and the claims they hold (host.c); or,
 * with -l, every message (mq_peek).  Nothing is claimed, locked or changed.
 * Output is a table, JSON lines (-j), or the Prometheus text format (-p);
 * with -o it replaces file atomically (a temporary file in the same
 * directory, fsync'ed, then renamed), so that node_exporter's textfile
 * collector never reads half of it.  Queues come as operands or, with none,
 * one per line on standard input.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

enum fmt { TABLE, JSON, PROM };

struct qstat {
	char *path;
	int ok;
	struct mq_stats s;
	struct mq_host *hosts;	/* that keep heartbeats or hold claims */
	size_t nhosts;
};

static enum fmt fmt = TABLE;
static int lflag;
static unsigned states = ~0u;	/* -l -s: list these only */
static const char *ofile;
static FILE *out;
static long long now;
static struct qstat *qs;
static size_t nq;

static void __dead2
usage(void)
{
	fprintf(stderr, "usage: mqstat [-j | -p] [-o file] queue ...\n"
	    "       mqstat -l [-j] [-o file] [-s state[,state ...]] "
	    "queue ...\n");
	exit(MQ_EXIT_USAGE);
}

/* A JSON string: quotes, backslashes and control characters escaped. */
static void
jstr(const char *s)
{
	putc('"', out);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(out, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(out, "\\u%04x", (unsigned char)*s);
		else
			putc(*s, out);
	}
	putc('"', out);
}

/* A Prometheus label value: backslash, quote and newline escaped. */
static void
plabel(const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(out, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", out);
		else
			putc(*s, out);
	}
}

/* Seconds since t (ms), or -1 for none. */
static double
age_s(long long t)
{
	if (t == 0)
		return -1;
	return now > t ? (now - t) / 1000.0 : 0;
}

/* "45s", "12m", "3h", "9d", "-" for none: an age for people. */
static const char *
human(double s)
{
	static char buf[16];

	if (s < 0)
		return "-";
	if (s < 120)
		snprintf(buf, sizeof(buf), "%.0fs", s);
	else if (s < 7200)
		snprintf(buf, sizeof(buf), "%.0fm", s / 60);
	else if (s < 172800)
		snprintf(buf, sizeof(buf), "%.0fh", s / 3600);
	else
		snprintf(buf, sizeof(buf), "%.0fd", s / 86400);
	return buf;
}

/* A long name has a line of its own: the figures stay aligned. */
static void
name_col(const char *path)
{
	if (strlen(path) > 12)
		fprintf(out, "%s\n%-12s", path, "");
	else
		fprintf(out, "%-12s", path);
}

static void
table_counts(void)
{
	struct mq_stats *s;
	size_t i, j;

	fprintf(out, "%-12s %7s %7s %7s %7s %7s %7s %4s %6s %6s\n", "queue",
	    "visible", "delayed", "flight", "expired", "done", "dead", "tmp",
	    "oldest", "claim");
	for (i = 0; i < nq; i++) {
		if (!qs[i].ok)
			continue;
		s = &qs[i].s;
		name_col(qs[i].path);
		for (j = 0; j < MQ_ST_TMP; j++)
			fprintf(out, " %7llu", s->n[j]);
		fprintf(out, " %4llu", s->n[MQ_ST_TMP]);
		fprintf(out, " %6s", human(age_s(s->oldest_visible)));
		fprintf(out, " %6s\n", human(age_s(s->oldest_claim)));
	}
}

static void
table_ages(void)
{
	struct mq_stats *s;
	size_t i;
	int b;

	fprintf(out, "\nwaiting messages by age in minutes (as qshape)\n");
	fprintf(out, "%-12s %6s", "queue", "T");
	for (b = 0; b < MQ_AGE_BUCKETS - 1; b++)
		fprintf(out, " %5lld", mq_age_bounds[b] / 60);
	fprintf(out, " %5lld+\n", mq_age_bounds[MQ_AGE_BUCKETS - 2] / 60);
	for (i = 0; i < nq; i++) {
		if (!qs[i].ok)
			continue;
		s = &qs[i].s;
		name_col(qs[i].path);
		fprintf(out, " %6llu",
		    s->n[MQ_ST_VISIBLE] + s->n[MQ_ST_DELAYED]);
		for (b = 0; b < MQ_AGE_BUCKETS; b++)
			fprintf(out, " %5llu", s->age[b]);
		putc('\n', out);
	}
}

/*
 * The paused queues, the ordered groups held and the messages waiting
 * behind them, the waiting messages by level, then the dead letters by
 * reason, if any.
 */
static void
table_notes(void)
{
	size_t i, j;
	int any, b;

	for (i = 0, any = 0; i < nq; i++)
		if (qs[i].ok && qs[i].s.paused)
			fprintf(out, "%s%s", any++ ? " " : "\npaused: ",
			    qs[i].path);
	if (any)
		putc('\n', out);
	for (i = 0, any = 0; i < nq; i++) {
		if (!qs[i].ok || (qs[i].s.groups | qs[i].s.behind) == 0)
			continue;
		if (!any++)
			fprintf(out, "\nordered groups\n");
		fprintf(out, "%s: %llu held, %llu waiting behind\n",
		    qs[i].path, qs[i].s.groups, qs[i].s.behind);
	}
	for (i = 0, any = 0; i < nq; i++) {
		/* Only where a level other than the default waits. */
		if (!qs[i].ok || qs[i].s.level[MQ_LEVEL_DEFAULT] ==
		    qs[i].s.n[MQ_ST_VISIBLE] + qs[i].s.n[MQ_ST_DELAYED])
			continue;
		if (!any++)
			fprintf(out, "\nwaiting by level (0 the most urgent)\n");
		fprintf(out, "%s:", qs[i].path);
		for (j = 0, b = 0; j < MQ_LEVELS; j++)
			if (qs[i].s.level[j])
				fprintf(out, "%s %zu %llu", b++ ? "," : "", j,
				    qs[i].s.level[j]);
		putc('\n', out);
	}
	for (i = 0, any = 0; i < nq; i++) {
		if (!qs[i].ok || qs[i].s.ndead == 0)
			continue;
		if (!any++)
			fprintf(out, "\ndead letters by reason\n");
		fprintf(out, "%s:", qs[i].path);
		for (j = 0; j < qs[i].s.ndead; j++)
			fprintf(out, "%s %s %llu", j ? "," : "",
			    qs[i].s.dead[j].reason, qs[i].s.dead[j].n);
		putc('\n', out);
	}
}

/* A host as a word: alive, silent, or none (no heartbeat kept). */
static const char *
host_state(const struct mq_host *h)
{
	return h->beat == 0 ? "none" : h->silent ? "silent" : "alive";
}

/* The hosts of the queues: their heartbeats and the claims they hold. */
static void
table_hosts(void)
{
	const struct mq_host *h;
	size_t i, j;
	int any = 0;

	for (i = 0; i < nq; i++)
		for (j = 0; qs[i].ok && j < qs[i].nhosts; j++) {
			h = &qs[i].hosts[j];
			if (!any++)
				fprintf(out, "\nhosts\n%-12s %-16s %-12s %6s "
				    "%6s %7s\n", "queue", "host", "tag",
				    "state", "beat", "claims");
			name_col(qs[i].path);
			fprintf(out, " %-16s %-12s %6s %6s %7llu\n",
			    h->name[0] ? h->name : "-", h->tag,
			    host_state(h), human(age_s(h->beat)), h->claims);
		}
}

static void
jage(const char *key, long long t)
{
	fprintf(out, ",\"%s\":", key);
	if (t == 0)
		fputs("null", out);
	else
		fprintf(out, "%.3f", age_s(t));
}

/* One object per queue; the field names are mqstat(1)'s promise. */
static void
json(const struct qstat *q)
{
	const struct mq_stats *s = &q->s;
	size_t j;
	int b;

	fputs("{\"queue\":", out);
	jstr(q->path);
	for (j = 0; j < MQ_NSTATES; j++)
		fprintf(out, ",\"%s\":%llu", mq_statenames[j], s->n[j]);
	jage("oldest_visible_age", s->oldest_visible);
	jage("oldest_claim_age", s->oldest_claim);
	fprintf(out, ",\"paused\":%s", s->paused ? "true" : "false");
	fprintf(out, ",\"groups_held\":%llu,\"group_waiting\":%llu", s->groups,
	    s->behind);
	fputs(",\"dead_reasons\":{", out);
	for (j = 0; j < s->ndead; j++)
		fprintf(out, "%s\"%s\":%llu", j ? "," : "", s->dead[j].reason,
		    s->dead[j].n);
	fputs("},\"levels\":{", out);
	for (j = 0, b = 0; j < MQ_LEVELS; j++)
		if (s->level[j])
			fprintf(out, "%s\"%zu\":%llu", b++ ? "," : "", j,
			    s->level[j]);
	fputs("},\"age_minutes\":{", out);
	for (b = 0; b < MQ_AGE_BUCKETS - 1; b++)
		fprintf(out, "%s\"%lld\":%llu", b ? "," : "",
		    mq_age_bounds[b] / 60, s->age[b]);
	fprintf(out, ",\"%lld+\":%llu}",
	    mq_age_bounds[MQ_AGE_BUCKETS - 2] / 60, s->age[MQ_AGE_BUCKETS - 1]);
	fputs(",\"hosts\":[", out);
	for (j = 0; j < q->nhosts; j++) {
		fprintf(out, "%s{\"tag\":\"%s\",\"name\":", j ? "," : "",
		    q->hosts[j].tag);
		if (q->hosts[j].name[0])
			jstr(q->hosts[j].name);
		else
			fputs("null", out);
		fprintf(out, ",\"state\":\"%s\"", host_state(&q->hosts[j]));
		jage("heartbeat_age", q->hosts[j].beat);
		fprintf(out, ",\"claims\":%llu}", q->hosts[j].claims);
	}
	fputs("]}\n", out);
}

static void
family(const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
pstart(const char *name, const struct qstat *q)
{
	fprintf(out, "%s{queue=\"", name);
	plabel(q->path);
	putc('"', out);
}

static void
prom_ages(void)
{
	unsigned long long cum;
	size_t i;
	int b;

	family("mq_oldest_visible_age_seconds", "gauge",
	    "Age of the oldest visible message since it was put (0: none).");
	for (i = 0; i < nq; i++)
		if (qs[i].ok) {
			pstart("mq_oldest_visible_age_seconds", &qs[i]);
			fprintf(out, "} %.3f\n", qs[i].s.oldest_visible ?
			    age_s(qs[i].s.oldest_visible) : 0);
		}
	family("mq_oldest_claim_age_seconds", "gauge",
	    "Age of the oldest claim since it was made or extended (0: none).");
	for (i = 0; i < nq; i++)
		if (qs[i].ok) {
			pstart("mq_oldest_claim_age_seconds", &qs[i]);
			fprintf(out, "} %.3f\n", qs[i].s.oldest_claim ?
			    age_s(qs[i].s.oldest_claim) : 0);
		}
	family("mq_waiting_age_seconds", "histogram",
	    "Ages of the waiting (visible and delayed) messages since put.");
	for (i = 0; i < nq; i++) {
		if (!qs[i].ok)
			continue;
		for (cum = 0, b = 0; b < MQ_AGE_BUCKETS; b++) {
			cum += qs[i].s.age[b];
			pstart("mq_waiting_age_seconds_bucket", &qs[i]);
			if (b < MQ_AGE_BUCKETS - 1)
				fprintf(out, ",le=\"%lld\"} %llu\n",
				    mq_age_bounds[b], cum);
			else
				fprintf(out, ",le=\"+Inf\"} %llu\n", cum);
		}
		pstart("mq_waiting_age_seconds_sum", &qs[i]);
		fprintf(out, "} %.3f\n", qs[i].s.age_sum_ms / 1000.0);
		pstart("mq_waiting_age_seconds_count", &qs[i]);
		fprintf(out, "} %llu\n", cum);
	}
}

static void
phost(const char *name, const struct qstat *q, const struct mq_host *h)
{
	pstart(name, q);
	fprintf(out, ",tag=\"%s\",host=\"", h->tag);
	plabel(h->name);
	putc('"', out);
}

static void
prom_hosts(void)
{
	const struct mq_host *h;
	size_t i, j;

	family("mq_host_alive", "gauge", "1 while the host's heartbeat is "
	    "younger than host_timeout, else 0 (none kept: 0).");
	for (i = 0; i < nq; i++)
		for (j = 0; qs[i].ok && j < qs[i].nhosts; j++) {
			h = &qs[i].hosts[j];
			phost("mq_host_alive", &qs[i], h);
			fprintf(out, "} %d\n", h->beat > 0 && !h->silent);
		}
	family("mq_host_heartbeat_age_seconds", "gauge",
	    "Age of the host's heartbeat (hosts that keep one).");
	for (i = 0; i < nq; i++)
		for (j = 0; qs[i].ok && j < qs[i].nhosts; j++) {
			h = &qs[i].hosts[j];
			if (h->beat == 0)
				continue;
			phost("mq_host_heartbeat_age_seconds", &qs[i], h);
			fprintf(out, "} %.3f\n", age_s(h->beat));
		}
	family("mq_host_claims", "gauge", "Claims the host holds.");
	for (i = 0; i < nq; i++)
		for (j = 0; qs[i].ok && j < qs[i].nhosts; j++) {
			phost("mq_host_claims", &qs[i], &qs[i].hosts[j]);
			fprintf(out, "} %llu\n", qs[i].hosts[j].claims);
		}
}

/* Every family once, every queue in it: the text format wants them so. */
static void
prom(void)
{
	size_t i, j;

	family("mq_up", "gauge", "1 if mqstat could read the queue, else 0.");
	for (i = 0; i < nq; i++) {
		pstart("mq_up", &qs[i]);
		fprintf(out, "} %d\n", qs[i].ok);
	}
	family("mq_paused", "gauge", "1 while the queue is paused, else 0.");
	for (i = 0; i < nq; i++)
		if (qs[i].ok) {
			pstart("mq_paused", &qs[i]);
			fprintf(out, "} %d\n", qs[i].s.paused);
		}
	family("mq_messages", "gauge", "Messages in the queue, by state.");
	for (i = 0; i < nq; i++)
		for (j = 0; qs[i].ok && j < MQ_NSTATES; j++) {
			pstart("mq_messages", &qs[i]);
			fprintf(out, ",state=\"%s\"} %llu\n", mq_statenames[j],
			    qs[i].s.n[j]);
		}
	family("mq_groups_held", "gauge",
	    "Ordered groups with a message in new/ or cur/ (their head).");
	for (i = 0; i < nq; i++)
		if (qs[i].ok) {
			pstart("mq_groups_held", &qs[i]);
			fprintf(out, "} %llu\n", qs[i].s.groups);
		}
	family("mq_group_waiting_messages", "gauge",
	    "Messages waiting behind the heads of ordered groups.");
	for (i = 0; i < nq; i++)
		if (qs[i].ok) {
			pstart("mq_group_waiting_messages", &qs[i]);
			fprintf(out, "} %llu\n", qs[i].s.behind);
		}
	family("mq_waiting_messages", "gauge",
	    "Messages waiting in new/ (visible or delayed), by level.");
	for (i = 0; i < nq; i++)
		for (j = 0; qs[i].ok && j < MQ_LEVELS; j++) {
			pstart("mq_waiting_messages", &qs[i]);
			fprintf(out, ",level=\"%zu\"} %llu\n", j,
			    qs[i].s.level[j]);
		}
	family("mq_dead_letters", "gauge", "Dead letters, by reason.");
	for (i = 0; i < nq; i++)
		for (j = 0; qs[i].ok && j < qs[i].s.ndead; j++) {
			pstart("mq_dead_letters", &qs[i]);
			fprintf(out, ",reason=\"%s\"} %llu\n",
			    qs[i].s.dead[j].reason, qs[i].s.dead[j].n);
		}
	prom_ages();
	prom_hosts();
}

/* Epoch milliseconds as ISO 8601 UTC, for people. */
static const char *
iso(long long ms)
{
	static char buf[32];
	time_t t = ms / 1000;
	struct tm tm;

	if (ms == 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return "-";
	return buf;
}

static void
jtime(const char *key, long long ms)
{
	fprintf(out, ",\"%s\":", key);
	if (ms == 0)
		fputs("null", out);
	else
		fprintf(out, "%lld.%03lld", ms / 1000, ms % 1000);
}

/* One line of the listing (-l): mq_peek's callback. */
static int
listed(void *ctx, const struct mq_peek *p)
{
	const char *qpath = ctx;
	char path[PATH_MAX + MQ_NAME_MAX + 8];

	if (!(states & MQ_STATE_BIT(p->state)))
		return 0;
	snprintf(path, sizeof(path), "%s/%s/%s", qpath, mq_dirnames[p->dir],
	    p->name);
	if (fmt == TABLE) {
		fprintf(out, "%-8s %3lld %-20s %8lld %s %s %s\n",
		    mq_statenames[p->state], p->n.deliveries, iso(p->at),
		    (long long)p->size, p->n.reason[0] ? p->n.reason : "-",
		    p->n.group[0] ? p->n.group : "-", path);
		return ferror(out) ? -1 : 0;
	}
	fputs("{\"queue\":", out);
	jstr(qpath);
	fputs(",\"path\":", out);
	jstr(path);
	fputs(",\"id\":", out);
	jstr(p->n.id);
	fprintf(out, ",\"state\":\"%s\",\"deliveries\":%lld",
	    mq_statenames[p->state], p->n.deliveries);
	jtime("put", p->put);
	jtime("visible_at", p->dir == MQ_NEW ? p->at : 0);
	jtime("deadline", p->dir == MQ_CUR ? p->at : 0);
	jtime("expires", p->n.expires * 1000);
	fprintf(out, ",\"size\":%lld,\"reason\":", (long long)p->size);
	if (p->n.reason[0])
		jstr(p->n.reason);
	else
		fputs("null", out);
	fputs(",\"group\":", out);
	if (p->n.group[0])
		jstr(p->n.group);
	else
		fputs("null", out);
	fputs("}\n", out);
	return ferror(out) ? -1 : 0;
}

/* One queue: listed at once (-l), or counted for the output at the end. */
static void
queue(const char *arg)
{
	struct mq_queue q;
	struct qstat *qp;
	char *path;
	int r;

	if ((qs = reallocarray(qs, nq + 1, sizeof(*qs))) == NULL ||
	    (path = strdup(arg)) == NULL)
		err(MQ_EXIT_TEMP, NULL);
	qp = &qs[nq++];
	memset(qp, 0, sizeof(*qp));
	qp->path = path;
	mq_tool_path(path);
	if (mq_open(&q, path, 0, 0) < 0) {
		mq_tool_tally(mq_tool_open_error(&q, path));
		mq_close(&q);
		return;
	}
	q.skipped = mq_tool_skipped;
	if (lflag)
		r = mq_peek(&q, now, listed, path);
	else if ((r = mq_stat(&q, now, &qp->s)) == 0)
		r = mq_hosts(&q, now, &qp->hosts, &qp->nhosts);
	if (r < 0 && q.errobj[0] == '\0' && ferror(out)) {
		warn("%s", ofile ? ofile : "stdout");
		mq_tool_tally(MQ_EXIT_TEMP);
	} else if (r < 0)
		mq_tool_tally(mq_tool_error(&q, NULL));
	else
		qp->ok = 1;
	mq_close(&q);
}

/*
 * -o: a temporary file beside file (a name the textfile collector ignores:
 * it reads *.prom only), readable by all (node_exporter runs as its own
 * user), renamed over file once complete and on disk.  The directory is
 * not synced: after a power cut a reader sees the old figures or the new,
 * and the next run (a minute later, from the timer) replaces them anyway.
 */
static char tmpname[PATH_MAX];

static void
open_out(void)
{
	char dir[PATH_MAX], base[PATH_MAX];
	int fd;

	if (ofile == NULL) {
		out = stdout;
		return;
	}
	strlcpy(dir, ofile, sizeof(dir));
	strlcpy(base, ofile, sizeof(base));
	if (snprintf(tmpname, sizeof(tmpname), "%s/.%s.XXXXXX", dirname(dir),
	    basename(base)) >= (int)sizeof(tmpname))
		errx(MQ_EXIT_PERM, "%s: name too long", ofile);
	if ((fd = mkstemp(tmpname)) < 0)
		err(mq_exitcode(errno), "%s", tmpname);
	if (fchmod(fd, 0644) < 0 || (out = fdopen(fd, "w")) == NULL) {
		warn("%s", tmpname);
		unlink(tmpname);
		exit(mq_exitcode(errno));
	}
}

static void
close_out(void)
{
	int e;

	if (ofile == NULL)
		return;
	if (fflush(out) == EOF || ferror(out) || fsync(fileno(out)) < 0 ||
	    fclose(out) == EOF || rename(tmpname, ofile) < 0) {
		e = errno;
		warn("%s", ofile);
		unlink(tmpname);
		mq_tool_tally(mq_exitcode(e));
	}
	out = stdout;
}

int
main(int argc, char *argv[])
{
	size_t i;
	int ch, sflag = 0;

	while ((ch = getopt(argc, argv, "jlo:ps:")) != -1) {
		switch (ch) {
		case 'j':
			if (fmt == PROM)
				usage();
			fmt = JSON;
			break;
		case 'l':
			lflag = 1;
			break;
		case 'o':
			ofile = optarg;
			break;
		case 's':
			if (mq_states_parse(optarg, &states) < 0)
				errx(MQ_EXIT_USAGE, "%s: not a list of states",
				    optarg);
			sflag = 1;
			break;
		case 'p':
			if (fmt == JSON)
				usage();
			fmt = PROM;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if ((lflag && fmt == PROM) || (sflag && !lflag) ||
	    (argc == 0 && isatty(STDIN_FILENO)))
		usage();

	mq_tool_init();
	now = mq_now_ms();
	open_out();
	mq_tool_operands(argc, argv, queue, "queue");
	if (!lflag && fmt == TABLE) {
		table_counts();
		table_ages();
		table_notes();
		table_hosts();
	}
	else if (!lflag && fmt == PROM)
		prom();
	else
		for (i = 0; !lflag && i < nq; i++)
			if (qs[i].ok)
				json(&qs[i]);
	close_out();
	for (i = 0; i < nq; i++) {
		mq_stat_free(&qs[i].s);
		free(qs[i].hosts);
		free(qs[i].path);
	}
	free(qs);
	return mq_tool_exit();
}
