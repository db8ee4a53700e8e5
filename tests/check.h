/*
** check.h: a minimal test harness. CHECK records a pass or a failure with
** its message; check_done() prints "N passed, N failed" and gives the exit
** status. (check.c; one set of counters per test program.)
*/
#ifndef FCN_CHECK_H
#define FCN_CHECK_H

#include <stddef.h>

extern int check_pass, check_fail;

void check_(int ok, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define CHECK(cond, ...) check_((cond) != 0, __FILE__, __LINE__, __VA_ARGS__)

int check_done(void);

/* Monotonic seconds, and this process's peak resident set in KB: for the
** bounds the robustness tests put on hostile inputs. */
double check_now(void);
long check_peak_rss_kb(void);

/* The whole of a file, malloc'd (NULL if it cannot be read); *n its size. */
unsigned char *check_read_file(const char *path, size_t *n);

#endif
