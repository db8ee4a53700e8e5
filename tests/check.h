/*
** check.h: a minimal test harness. CHECK records a pass or a failure with
** its message; check_done() prints "N passed, N failed" and gives the exit
** status.
*/
#ifndef FCN_CHECK_H
#define FCN_CHECK_H

#include <stdarg.h>
#include <stdio.h>

static int check_pass, check_fail;

static void check_(int ok, const char *file, int line, const char *fmt, ...)
{
    if (ok) {
        check_pass++;
        return;
    }
    check_fail++;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

#define CHECK(cond, ...) check_((cond) != 0, __FILE__, __LINE__, __VA_ARGS__)

static int check_done(void)
{
    printf("%d passed, %d failed\n", check_pass, check_fail);
    return check_fail ? 1 : 0;
}

#endif
