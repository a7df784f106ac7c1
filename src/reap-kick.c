/*
 * reap-kick.c: mqreap -k, dead letters back to new/.
 *
 * An operand QUEUE/dead/NAME names one dead letter; anything else is a
 * queue, all of whose dead letters go back in id order (so that new/ gets
 * them in their arrival order).  The rule (deliveries reset, a TTL that
 * passed dropped) is fate.c's MQ_EV_KICKED.
 */
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reap.h"

static void
kick_all(struct reap *rp)
{
	struct mq_scan s;
	size_t i;

	memset(&s, 0, sizeof(s));
	if (mq_scan(&rp->q, MQ_DEAD, &s) < 0) {
		mq_tool_tally(mq_tool_error(&rp->q, NULL));
		mq_scan_free(&s);
		return;
	}
	mq_scan_sort(&s);
	for (i = 0; i < s.n && !gotstop; i++)
		mq_reap_kick(&rp->q, &rp->r, mq_scan_name(&s, i));
	mq_scan_free(&s);
}

/*
 * Is arg a dead letter?  A directory is a queue even inside a "dead"
 * directory (a queue may be called dead).  shown becomes the queue as the
 * user spelled it, for messages.
 */
static int
letter(const char *arg, char *qpath, size_t qlen, char *name, size_t nlen,
    char *shown, size_t slen)
{
	struct stat st;
	char *slash;

	if (mq_split_path(arg, MQ_DEAD, qpath, qlen, name, nlen) < 0 ||
	    (lstat(arg, &st) == 0 && S_ISDIR(st.st_mode)))
		return 0;
	/* Shown as given, less "/dead/NAME". */
	strlcpy(shown, arg, slen);
	*strrchr(shown, '/') = '\0';
	if ((slash = strrchr(shown, '/')) != NULL)
		*slash = '\0';
	else
		strlcpy(shown, ".", slen);
	if (shown[0] == '\0')
		strlcpy(shown, "/", slen);
	return 1;
}

void
kick(const char *operand)
{
	char qpath[PATH_MAX], name[MQ_NAME_MAX + 1], arg[PATH_MAX];
	char shown[PATH_MAX];
	struct reap rp;
	int one;

	reap_init(&rp);
	strlcpy(arg, operand, sizeof(arg));
	mq_tool_path(arg);
	one = letter(arg, qpath, sizeof(qpath), name, sizeof(name), shown,
	    sizeof(shown));
	if (one && !mq_name_safe(name)) {
		warnx("%s: not a dead letter", operand);
		mq_tool_tally(MQ_EXIT_PERM);
		return;
	}
	if (!one) {
		strlcpy(qpath, arg, sizeof(qpath));
		strlcpy(shown, arg, sizeof(shown));
	}
	if (mq_open(&rp.q, qpath, 0, 0) < 0) {
		mq_tool_tally(mq_tool_open_error(&rp.q, shown));
		mq_close(&rp.q);
		return;
	}
	if (mq_tool_show_as(&rp.q, shown) < 0)
		err(MQ_EXIT_TEMP, NULL);
	if (one)
		mq_reap_kick(&rp.q, &rp.r, name);
	else
		kick_all(&rp);
	if (!nflag && mq_sync(&rp.q) < 0)
		mq_tool_tally(mq_tool_error(&rp.q, NULL));
	if (sflag)
		printf("%s: %llu kicked\n", shown, rp.r.c.kicked);
	mq_close(&rp.q);
}
