/*
** cli_util.h: small helpers shared by the command-line front ends.
*/
#ifndef FCN_CLI_UTIL_H
#define FCN_CLI_UTIL_H

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "fcn.h"

/* The model's label of class c, or "class c" in buf. */
static inline const char *class_label(const fcn_model *m, int c, char *buf,
                                      size_t n)
{
    const char *l = fcn_model_label(m, c);
    if (l)
        return l;
    snprintf(buf, n, "class %d", c);
    return buf;
}

/* A whole decimal number in [lo, hi]; 0 if s is anything else. */
static inline int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return 0;
    *out = v;
    return 1;
}

/* A number in [lo, hi]; 0 if s is anything else. */
static inline int parse_double(const char *s, double lo, double hi,
                               double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return 0;
    *out = v;
    return 1;
}

/* "512M", "2G", "65536", "1.5G" -> bytes; 0 on a bad or zero size. */
static inline int parse_size(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !(v > 0))
        return 0;
    switch (toupper((unsigned char)*end)) {
    case 'K': v *= 1024.0; end++; break;
    case 'M': v *= 1024.0 * 1024; end++; break;
    case 'G': v *= 1024.0 * 1024 * 1024; end++; break;
    default: break;
    }
    if (toupper((unsigned char)*end) == 'B' || toupper((unsigned char)*end) == 'I')
        end++;
    if (*end || v > 1e15)
        return 0;
    *out = (size_t)v;
    return 1;
}

#endif
