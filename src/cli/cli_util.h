/*
** cli_util.h: small helpers shared by the command-line front ends.
*/
#ifndef FCN_CLI_UTIL_H
#define FCN_CLI_UTIL_H

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

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
