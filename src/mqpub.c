/*
 * mqpub: publish a message to every queue subscribed to a topic.
 *
 *	mqpub [-cqS] [-G group] [-i id] [-p level] topic [file]
 *	mqpub -a [-c] topic queue ...
 *	mqpub -d topic queue ...
 *
 * A topic is a directory; its subscribers are symbolic links in
 * TOPIC/subscribers/ to ordinary queues (ls -l shows them), made by -a and
 * removed by -d.  A publication (standard input, or the file) is stored
 * once in the topic, then copied (or reflinked) into each subscriber's
 * queue as the message ID.NAME; the id is printed as soon as the
 * publication is stored, before the fan-out.  A subscriber
 * that cannot take it (removed, unwritable, full) is named on standard
 * error and the others still get it; "mqpub -i ID topic" later completes
 * the fan-out, giving no subscriber a second copy (topic.c, publish.c).
 * With -G, each copy joins that ordered group of its queue (group.c); with
 * -p, every copy has that level (naming.c).
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

static void __dead2
usage(void)
{
	fprintf(stderr, "usage: mqpub [-cqS] [-G group] [-i id] [-p level] topic "
	    "[file]\n"
	    "       mqpub -a [-c] topic queue ...\n"
	    "       mqpub -d topic queue ...\n");
	exit(MQ_EXIT_USAGE);
}

static struct mq_topic T;
static int adding;

static int
topic_error(const char *what)
{
	int e = errno;

	if (T.errobj[0])
		warnx("%s/%s%s%s: %s", T.path, T.errobj, what ? ": " : "",
		    what ? what : "", strerror(e));
	else
		warnx("%s%s%s: %s", T.path, what ? ": " : "", what ? what : "",
		    strerror(e));
	return mq_exitcode(e);
}

/* -a, -d: one queue. */
static void
subscription(const char *queue)
{
	char name[MQ_FIELD_MAX + 1];
	int r;

	T.errobj[0] = '\0';
	if (adding)
		r = mq_topic_subscribe(&T, queue, name, sizeof(name));
	else
		r = mq_topic_unsubscribe(&T, queue, name, sizeof(name));
	if (r == 0)
		return;
	if (errno == EEXIST)
		warnx("%s/subscribers/%s: subscribes another queue", T.path,
		    name);
	else if (errno == ENOENT && !adding)
		warnx("%s: %s: not subscribed", T.path, queue);
	else if (errno == EINVAL && adding)
		warnx("%s: not a queue, or its name is not a word "
		    "([A-Za-z0-9._-])", queue);
	else {
		mq_tool_tally(topic_error(queue));
		return;
	}
	mq_tool_tally(MQ_EXIT_PERM);
}

/* One subscriber that did not get it: say which and why; its status. */
static int
report(const struct mq_sub *s)
{
	const char *q = s->queue;

	switch (s->state) {
	case MQ_SUB_DELIVERED:
	case MQ_SUB_ALREADY:
		return MQ_EXIT_OK;
	case MQ_SUB_REFUSED:
		warnx("%s/subscribers/%s: %s: %s: not delivered", T.path,
		    s->name, q, s->refused == MQ_REFUSED_FULL ?
		    "full (max_length)" : "file system below min_free");
		return MQ_EXIT_REFUSED;
	case MQ_SUB_UNSURE:
		warnx("%s/subscribers/%s: %s/%s: %s: delivered, maybe not "
		    "durable", T.path, s->name, q, s->errobj, strerror(s->err));
		return MQ_EXIT_UNSURE;
	case MQ_SUB_FAILED:
		break;
	}
	warnx("%s/subscribers/%s: %s%s%s: %s: not delivered", T.path, s->name,
	    q, s->errobj[0] ? "/" : "", s->errobj, strerror(s->err));
	return mq_exitcode(s->err);
}

static char pid[MQ_ID_MAX + 1];
static int quiet;

/* Stored in the topic: its id now, so a publisher killed later knows it. */
static void
stored(const char *id)
{
	strlcpy(pid, id, sizeof(pid));
	if (!quiet && printf("%s\n", id) < 0)
		return;
	mq_tool_flush();
}

static void
publish(const char *id, const char *file, int nosync)
{
	struct mq_sub *subs;
	size_t n, i, missed = 0;
	int fd = 0, r;

	if (file && (fd = open(file, O_RDONLY | O_CLOEXEC)) < 0)
		err(mq_exitcode(errno), "%s", file);
	if (mq_publish(&T, id, fd, nosync, stored, &subs, &n) < 0) {
		mq_tool_tally(topic_error(NULL));
		return;
	}
	for (i = 0; i < n; i++) {
		r = report(&subs[i]);
		if (r != MQ_EXIT_OK && r != MQ_EXIT_UNSURE)
			missed++;
		mq_tool_tally(r);
	}
	if (missed)
		warnx("%s: %zu of %zu subscribers missed %s; \"mqpub -i %s %s\" "
		    "retries them", T.path, missed, n, pid, pid, T.path);
	free(subs);
}

int
main(int argc, char *argv[])
{
	const char *id = NULL, *group = NULL;
	int c, create = 0, nosync = 0, mode = 0, level = MQ_LEVEL_DEFAULT;

	while ((c = getopt(argc, argv, "acdG:i:p:qS")) != -1) {
		switch (c) {
		case 'a':
		case 'd':
			if (mode && mode != c)
				usage();
			mode = c;
			break;
		case 'c':
			create = 1;
			break;
		case 'G':
			if (!mq_key_valid(optarg))
				errx(MQ_EXIT_USAGE, "-G %s: bad key "
				    "([A-Za-z0-9._-], at most %d, not starting "
				    "with . or -)", optarg, MQ_FIELD_MAX);
			group = optarg;
			break;
		case 'i':
			if (!mq_pub_id_valid(optarg))
				errx(MQ_EXIT_USAGE, "-i %s: bad id", optarg);
			id = optarg;
			break;
		case 'p':
			if ((level = mq_level_parse(optarg)) < 0)
				errx(MQ_EXIT_USAGE, "-p %s: bad level (0, the "
				    "most urgent, to 9; default %d)", optarg,
				    MQ_LEVEL_DEFAULT);
			break;
		case 'q':
			quiet = 1;
			break;
		case 'S':
			nosync = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || (mode && (argc < 2 || id || group || quiet ||
	    level != MQ_LEVEL_DEFAULT ||
	    nosync)) ||
	    (mode == 'd' && create) || (!mode && argc > 2))
		usage();

	mq_tool_init();
	if (mq_topic_open(&T, mq_tool_path(argv[0]), create) < 0) {
		if (errno == ENOENT && T.errobj[0] == '\0')
			errx(MQ_EXIT_PERM, "%s: no such topic (mqpub -c "
			    "creates one)", argv[0]);
		exit(topic_error(NULL));
	}
	adding = mode == 'a';
	T.group = group;
	if (level != MQ_LEVEL_DEFAULT)
		T.level = (char)('0' + level);
	if (mode)
		mq_tool_operands(argc - 1, argv + 1, subscription, "queue");
	else
		publish(id, argc > 1 ? argv[1] : NULL, nosync);
	mq_topic_close(&T);
	return mq_tool_exit();
}
