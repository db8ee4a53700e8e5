/*
** cli.c: see cli.h.
*/
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
    o->f = NULL;
    return fcn_output_open(path, &o->o, &o->f) == FCN_OK;
}

int cli_file_commit(cli_file *o)
{
    o->f = NULL;
    return fcn_output_commit(o->o) == FCN_OK;
}

void cli_file_abort(cli_file *o)
{
    o->f = NULL;
    fcn_output_abort(o->o);
}

/* Async-signal-safe: unlinks, then the signal again under its default
** action (SA_RESETHAND restored it; it is delivered when this returns). */
static void on_signal(int sig)
{
    fcn_output_remove_temporaries();
    raise(sig);
}

void cli_signals(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
    for (size_t k = 0; k < sizeof sigs / sizeof *sigs; k++) {
        struct sigaction sa, old;
        if (sigaction(sigs[k], NULL, &old) || old.sa_handler == SIG_IGN)
            continue;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigfillset(&sa.sa_mask); /* one handler at a time */
        sa.sa_flags = SA_RESETHAND;
        sigaction(sigs[k], &sa, NULL);
    }
}

int cli_exit(const char *prog, int rc)
{
    /* the flush reports a buffered write's error; ferror, an earlier one
    ** (errno may be gone by now); a close that finds no stdout (EBADF,
    ** nothing pending) is no loss */
    errno = 0;
    int e = fflush(stdout) ? (errno ? errno : EIO) : ferror(stdout) ? EIO : 0;
    if (fclose(stdout) && !e && errno != EBADF)
        e = errno;
    if (!e)
        return rc;
    fprintf(stderr, "%s: writing standard output: %s\n", prog, strerror(e));
    return rc ? rc : 1;
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
