/*
** err.c: the thread-local error message, the public status strings and
** the version string.
*/
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

#define ERR_MAX 512

static _Thread_local char last_error[ERR_MAX];

fcn_status err_set(fcn_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return st;
}

fcn_status err_wrap(fcn_status st, const char *fmt, ...)
{
    char msg[ERR_MAX];
    memcpy(msg, last_error, sizeof msg);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof last_error)
        snprintf(last_error + n, sizeof last_error - (size_t)n, "%s", msg);
    return st;
}

const char *fcn_version(void)
{
    return FCN_VERSION_STRING;
}

const char *fcn_last_error(void)
{
    return last_error[0] ? last_error : "no error";
}

const char *fcn_status_string(fcn_status st)
{
    switch (st) {
    case FCN_OK: return "ok";
    case FCN_ERR_IO: return "i/o error";
    case FCN_ERR_FORMAT: return "invalid file";
    case FCN_ERR_UNSUPPORTED: return "unsupported";
    case FCN_ERR_SHAPE: return "shape error";
    case FCN_ERR_NOMEM: return "out of memory";
    case FCN_ERR_ARG: return "invalid argument";
    }
    return "unknown status";
}
