/*
** cli.c: see cli.h.
*/
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"

int cli_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return 0;
    *out = v;
    return 1;
}

int cli_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return 0;
    *out = v;
    return 1;
}

int cli_size(const char *s, size_t *out)
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

int cli_wxh(const char *s, int max, int *w, int *h)
{
    char extra;
    return sscanf(s, "%dx%d%c", w, h, &extra) == 2 && *w >= 1 && *h >= 1 &&
           *w <= max && *h <= max;
}

const char *cli_label(const fcn_model *m, int c, char *buf, size_t n)
{
    const char *l = fcn_model_label(m, c);
    if (l)
        return l;
    snprintf(buf, n, "class %d", c);
    return buf;
}

int cli_find_class(const fcn_model *m, const char *name)
{
    fcn_model_info info;
    fcn_model_get_info(m, &info);
    char lb[32];
    for (int k = 0; k < info.classes; k++)
        if (!strcmp(cli_label(m, k, lb, sizeof lb), name))
            return k;
    for (int k = 0; k < info.classes; k++)
        if (!strcasecmp(cli_label(m, k, lb, sizeof lb), name))
            return k;
    long v;
    if (cli_int(name, 0, info.classes - 1, &v))
        return (int)v;
    return -1;
}

int cli_file_open(cli_file *o, const char *path)
{
    o->path = path;
    o->f = NULL;
    if (snprintf(o->tmp, sizeof o->tmp, "%s.tmp.%ld", path, (long)getpid()) >=
        (int)sizeof o->tmp) {
        errno = ENAMETOOLONG;
        return 0;
    }
    o->f = fopen(o->tmp, "wb");
    return o->f != NULL;
}

int cli_file_commit(cli_file *o)
{
    int ok = !ferror(o->f);
    ok = !fclose(o->f) && ok;
    o->f = NULL;
    if (!ok || rename(o->tmp, o->path)) {
        int e = ok ? errno : EIO;
        unlink(o->tmp);
        errno = e;
        return 0;
    }
    return 1;
}

void cli_file_abort(cli_file *o)
{
    if (o->f)
        fclose(o->f);
    o->f = NULL;
    unlink(o->tmp);
}

void cli_json_printf(cli_json *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->n;
        int k = vsnprintf(b->s ? b->s + b->n : NULL, room, fmt, ap);
        va_end(ap);
        if (k < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t)k < room) {
            b->n += (size_t)k;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->n + (size_t)k + 1)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = 1;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

void cli_json_str(cli_json *b, const char *s)
{
    cli_json_printf(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            cli_json_printf(b, "\\%c", *p);
        else if (*p < 0x20)
            cli_json_printf(b, "\\u%04x", *p);
        else
            cli_json_printf(b, "%c", *p);
    }
    cli_json_printf(b, "\"");
}

void cli_json_free(cli_json *b)
{
    free(b->s);
    *b = (cli_json){0};
}
