/*
** cli.h: what the command-line front ends share: argument parsing, class
** labels, files written whole or not at all, and one JSON writer. Only
** the public API (include/) is used here and in the front ends.
*/
#ifndef FCN_CLI_H
#define FCN_CLI_H

#include <limits.h>
#include <stddef.h>
#include <stdio.h>

#include "fcn.h"

/* ---- arguments ---- */

/* A whole decimal number in [lo, hi]; 0 if s is anything else. */
int cli_int(const char *s, long lo, long hi, long *out);
/* A number in [lo, hi]; 0 if s is anything else. */
int cli_double(const char *s, double lo, double hi, double *out);
/* "512M", "2G", "65536", "1.5G" -> bytes; 0 on a bad or zero size. */
int cli_size(const char *s, size_t *out);
/* "WxH" with both in [1, max]. */
int cli_wxh(const char *s, int max, int *w, int *h);

/* The model's label of class c, or "class c" in buf. */
const char *cli_label(const fcn_model *m, int c, char *buf, size_t n);
/* A class by label (exact, then ignoring case) or index; -1 if none. */
int cli_find_class(const fcn_model *m, const char *name);

/* ---- files written whole or not at all ---- */

/* A temporary file beside `path`; commit renames it over path, after
** checking every write; abort (or a failed commit) removes it. */
typedef struct cli_file {
    FILE *f;
    const char *path;
    char tmp[PATH_MAX + 32];
} cli_file;

int cli_file_open(cli_file *o, const char *path);  /* 0: errno says why */
int cli_file_commit(cli_file *o);                  /* 0: errno says why */
void cli_file_abort(cli_file *o);

/* ---- JSON ---- */

/* A growing string; oom set (and further output dropped) on failure. */
typedef struct cli_json {
    char *s;
    size_t n, cap;
    int oom;
} cli_json;

void cli_json_printf(cli_json *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* s as a JSON string, quoted and escaped. */
void cli_json_str(cli_json *b, const char *s);
void cli_json_free(cli_json *b);

#endif
