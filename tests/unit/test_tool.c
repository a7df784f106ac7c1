/*
 * test_tool.c: the one exit ranking of the tools (src/tool.c) and the
 * mapping of an errno to an exit status.  Linked with the tool layer.
 */
#include <errno.h>

#include "tool.h"
#include "check.h"

int
main(void)
{
	static const int order[] = { MQ_EXIT_OK, MQ_EXIT_STALE,
		MQ_EXIT_EMPTY, MQ_EXIT_PAUSED, MQ_EXIT_REFUSED, MQ_EXIT_TEMP,
		MQ_EXIT_UNSURE, MQ_EXIT_PERM };
	size_t i, j, n = sizeof(order) / sizeof(order[0]);

	/* Each status outranks every one before it, either way round. */
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++) {
			CHECK(mq_exit_worse(order[i], order[j]) == order[j]);
			CHECK(mq_exit_worse(order[j], order[i]) == order[j]);
		}
	/* Permanent before temporary: a retry would not help. */
	CHECK(mq_exit_worse(MQ_EXIT_TEMP, MQ_EXIT_PERM) == MQ_EXIT_PERM);
	/* A stale claim is 3, wherever the library says ESTALE. */
	CHECK(mq_exitcode(ESTALE) == MQ_EXIT_STALE);
	CHECK(mq_exitcode(ENOSPC) == MQ_EXIT_TEMP);
	CHECK(mq_exitcode(EIO) == MQ_EXIT_TEMP);
	CHECK(mq_exitcode(EACCES) == MQ_EXIT_PERM);
	return check_done("test_tool");
}
