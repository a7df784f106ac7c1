/*
 * level.c: priorities.  A message has a level from 0 (the most urgent) to
 * 9, as nice(1) and beanstalkd: a smaller number runs sooner.  Ten levels
 * are one digit in a name, enough to say "page someone" from "nightly
 * report", and few enough that a claimer can keep one list per level.  The
 * default is 5, the middle, so that work can be put both ahead of the
 * routine (0-4) and behind it (6-9).
 *
 * The level is the p field of the name, right after the id (naming.c).  A
 * message of the default level carries no field: every name written before
 * levels existed, and every maildir writer's, is of the default level, and
 * nothing about them changes.  Claims take the most urgent visible message
 * first, FIFO within a level (claim.c, index.c, worker.c).
 */
#include <errno.h>

#include "mq-internal.h"

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
