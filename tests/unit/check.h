/*
 * check.h: the one harness of the C unit tests.  CHECK(cond) counts a
 * pass or prints the failed condition with its place; check_done() prints
 * "NAME: N passed, N failed" (the line CI reads) and gives the exit status.
 */
#ifndef CHECK_H
#define CHECK_H

#include <stdio.h>

static int check_passed, check_failed;

#define CHECK(cond) check((cond), #cond, __FILE__, __LINE__)

static inline void
check(int ok, const char *what, const char *file, int line)
{
	if (ok) {
		check_passed++;
		return;
	}
	check_failed++;
	printf("FAIL %s:%d: %s\n", file, line, what);
}

static inline int
check_done(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
	return check_failed ? 1 : 0;
}

#endif
