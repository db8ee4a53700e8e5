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

/* fcn_output_* (include/fcn.h): a temporary beside `path`, written through
** f; commit checks every write and renames it over path; abort (or a
** failed commit) removes it. A path that exists and is not a regular file
** is refused. */
typedef struct cli_file {
    FILE *f;
    fcn_output *o;
} cli_file;

int cli_file_open(cli_file *o, const char *path);  /* 0: fcn_last_error() */
int cli_file_commit(cli_file *o);                  /* 0: fcn_last_error() */
void cli_file_abort(cli_file *o);

/* ---- signals and standard output ---- */

/* SIGINT, SIGTERM, SIGHUP and SIGPIPE remove the temporaries of the outputs
** still open, then end the process by the same signal, as if uncaught (a
** SIGPIPE from `| head` stays the quiet end it always is). A signal ignored
** at start (nohup, a background job) stays ignored. */
void cli_signals(void);
/* The exit status: rc, or 1 after "PROG: writing standard output: REASON"
** when stdout could not be flushed or closed (a full disk, an I/O error). */
int cli_exit(const char *prog, int rc);

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
