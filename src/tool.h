/*
 * tool.h: the tool layer, shared by the tools' main()s and linked into each
 * tool, never into libmq.a (the library never prints and never exits).
 * Here: the exit statuses, the one ranking of them, the mapping of an
 * errno to one, and the habits every tool shares (start, operands, error
 * messages, stdout checked before exit).
 */
#ifndef TOOL_H
#define TOOL_H

#include "mq.h"

/* Exit statuses: one table for every tool (mq(7)). */
#define MQ_EXIT_OK 0	   /* success */
#define MQ_EXIT_EMPTY 1	   /* nothing to do: no message, wait ran out */
#define MQ_EXIT_USAGE 2	   /* bad options or operands */
#define MQ_EXIT_STALE 3	   /* a claim that has moved on */
#define MQ_EXIT_UNSURE 4   /* enqueued, but maybe not durable (ids given) */
#define MQ_EXIT_REFUSED 5  /* refused: queue full, or below min_free */
#define MQ_EXIT_PAUSED 6   /* the queue is paused: nothing claimed */
#define MQ_EXIT_DEAD 7	   /* waited for: ended as a dead letter */
#define MQ_EXIT_EXPIRED 8  /* waited for: expired (TTL) */
#define MQ_EXIT_GONE 9	   /* waited for: purged or moved away */
#define MQ_EXIT_PERM 100   /* permanent error: retrying will not help */
#define MQ_EXIT_TEMP 111   /* temporary failure: try again later */

/* tool.c */
int mq_exitcode(int err);
int mq_exit_worse(int a, int b);
int mq_end_status(const struct mq_ended *);
void mq_tool_init(void);
void mq_tool_signals(void (*)(int));
void mq_tool_operands(int argc, char **argv, void (*)(const char *),
    const char *what);
void mq_tool_tally(int code);
int mq_tool_exit(void);
int mq_tool_show_as(struct mq_queue *, const char *shown);
const char *mq_tool_path(char *);
int mq_tool_open_error(struct mq_queue *, const char *path);
int mq_tool_error(struct mq_queue *, const char *what);
void mq_tool_skipped(struct mq_queue *, enum mq_dir, const char *,
    const char *);
void mq_tool_fault(struct mq_queue *, const struct mq_fault *);
int mq_tool_flush(void);
int mq_tool_answer(void);
int mq_tool_admin_options(int, char **, struct mq_admin *, int *verbose,
    const char *verb, void (*usage)(void));

#endif
