/*
** run_args.h: fcn-run's command line (run_args.c): the options, their
** checks, and what they ask for.
*/
#ifndef FCN_CLI_RUN_ARGS_H
#define FCN_CLI_RUN_ARGS_H

#include "cli.h"
#include "cli_opt.h"
#include "fcn.h"
#include "run_tiff.h"

#define PROG "fcn-run"

typedef struct args {
    const char *model, *out, *json, *heat_class, *heat_out;
    cli_paths inputs;
    int listed, list_stdin, top, threads, rw, rh, layers, tile;
    int stream, level;  /* --stream, --level; --cells (cells.height > 0): */
    fcn_region cells;
    fcn_fit fit;
    cli_common com;  /* --quiet, --progress, --cmap, --range, --mean, ... */
    size_t mem_limit;
    fcn_options opt;
    rt_opts tiff;    /* --out FILE.tif: --classes, --tiff-mode */
    /* --shard I/N (shard_n > 0), --out-dir, --plan N (docs/scale-out.md) */
    int shard_i, shard_n, plan_n;
    const char *out_dir;
} args;

/* Parse argv into *a (zeroed by the caller). 0: run; -1: done (--help,
** --version), exit 0; otherwise the exit status, the message printed. */
int run_parse_args(int argc, char **argv, args *a);
/* "fcn-run: MSG" on stderr; 1. */
int run_fail(const char *msg);
/* s ends with suf, case-insensitively. */
int run_ends_with(const char *s, const char *suf);

#endif
