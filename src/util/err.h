/*
** err.h: the library's error reporting. Every failure returns an
** fcn_status and leaves a one-line message in a thread-local buffer that
** fcn_last_error() returns (include/fcn.h).
*/
#ifndef FCN_UTIL_ERR_H
#define FCN_UTIL_ERR_H

#include "fcn.h"

/* Format the thread-local message and return st. */
fcn_status err_set(fcn_status st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Put "<prefix>" (formatted) in front of the current message; returns st.
** For callers that add context: "model.bin: ", "at the trained size ...". */
fcn_status err_wrap(fcn_status st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
