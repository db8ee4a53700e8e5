/*
** cli_opt.h: the command-line conventions the three front ends share
** (docs/cli.md): getopt_long's errors as one line, --version, `-` for
** standard input, lists of input paths, per-input output names, the
** progress line on stderr. Public API only, as cli.h.
*/
#ifndef FCN_CLI_OPT_H
#define FCN_CLI_OPT_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>

#include "fcn.h"
#include "heatmap.h"

typedef struct cli_paths cli_paths;  /* below */

/* ---- options ---- */

/* The one-line message for what getopt_long returned as c ('?' or ':',
** with opterr = 0 and an optstring starting with ':'): "PROG: option
** '--out' needs a value" or "PROG: unknown option '--x' (PROG --help
** lists them)". Returns 2, the exit status of a usage error. */
int cli_opt_error(const char *prog, int c, char **argv);
/* "PROG 0.1.0" (fcn_version()) on stdout. */
void cli_print_version(const char *prog);
/* "PROG: --OPT needs WHAT (got 'VALUE')" on stderr; returns 1. */
int cli_bad(const char *prog, const char *opt, const char *what,
            const char *value);
/* --mem-limit's value: a size from 64K to 1T; 0, or 1 after the message. */
int cli_mem_limit(const char *prog, const char *v, size_t *out);

/* The options every front end shares, and those of the preprocessing
** (fcn-run, fcn-detect), for their getopt_long tables. */
enum {
    CLI_O_VERSION = 1000, CLI_O_PROGRESS, CLI_O_MEAN, CLI_O_STD, CLI_O_SCALE,
    CLI_O_BGR, CLI_O_RGB, CLI_O_CMAP, CLI_O_RANGE, CLI_O_PRECISION,
    CLI_O_STRIDE_DIV
};
#define CLI_COMMON_OPTIONS                                                  \
    {"help", no_argument, 0, 'h'}, {"version", no_argument, 0, CLI_O_VERSION}, \
    {"precision", required_argument, 0, CLI_O_PRECISION},                   \
    {"stride-divisor", required_argument, 0, CLI_O_STRIDE_DIV}
/* --precision's line of the usage texts */
#define CLI_PRECISION_USAGE                                                 \
    "  --precision P  fp32 (the default) or bf16: weights and GEMM inputs\n" \
    "                 rounded to bfloat16, float32 sums (AVX512_BF16 only)\n"
/* --stride-divisor's */
#define CLI_STRIDE_DIVISOR_USAGE                                            \
    "  --stride-divisor K  a score map K times finer than the network's\n"   \
    "                 stride (1..64; K divides it): cells stride/K apart,\n"  \
    "                 each the classifier on its window (docs/engine.md)\n"
#define CLI_RUN_OPTIONS                                                     \
    {"quiet", no_argument, 0, 'q'},                                         \
    {"progress", no_argument, 0, CLI_O_PROGRESS},                           \
    {"mean", required_argument, 0, CLI_O_MEAN},                             \
    {"std", required_argument, 0, CLI_O_STD},                               \
    {"scale", required_argument, 0, CLI_O_SCALE},                           \
    {"bgr", no_argument, 0, CLI_O_BGR}, {"rgb", no_argument, 0, CLI_O_RGB}, \
    {"cmap", required_argument, 0, CLI_O_CMAP},                             \
    {"range", required_argument, 0, CLI_O_RANGE}

/* ---- preprocessing overrides: --mean, --std, --scale, --bgr, --rgb ---- */

#define CLI_PREP_MAX 16
typedef struct cli_prep {
    float mean[CLI_PREP_MAX], std[CLI_PREP_MAX], scale;
    int n_mean, n_std;
    const char *color;
} cli_prep;

/* "--mean A,B,C" (opt "mean"), "--std A,B,C" (each > 0), "--scale S"
** (finite, not 0): 0, or 1 after "PROG: --OPT needs ..." on stderr. */
int cli_prep_option(cli_prep *p, const char *prog, const char *opt,
                    const char *v);

/* What the options of CLI_RUN_OPTIONS set. */
typedef struct cli_common {
    int quiet, progress, cmap;
    fcn_precision precision;  /* --precision */
    int stride_divisor;       /* --stride-divisor (0: none) */
    heat_range range;
    cli_prep prep;
} cli_common;

/* The options of CLI_COMMON_OPTIONS and CLI_RUN_OPTIONS into c: as
** cli_option_fn, or CLI_NOT_SHARED when o is not one of them. */
#define CLI_NOT_SHARED (-1000)
int cli_shared_option(const char *prog, const char *usage, cli_common *c,
                      int o, const char *v);
/* The value after an option's own (--heatmap CLASS FILE): 0, or 2 after
** "PROG: option '--OPT' needs WHAT". */
int cli_second_value(const char *prog, const char *opt, const char *what,
                     int argc, char **argv, const char **out);
/* The overrides as fcn_options.prep (pointing into p; the entries past
** those given are NaN, which the load refuses, so that too few values for
** the model's channels never pass). */
void cli_prep_apply(cli_prep *p, fcn_preprocess *out);
/* After a load that failed: 1 after a message of PROG's own when the
** reason was a --mean or --std with too few values (msg: the library's). */
int cli_prep_explain(const cli_prep *p, const char *prog, const char *msg);
/* After a load that worked: 0 after a message when --mean or --std gave
** more values than the model has channels. */
int cli_prep_check(const cli_prep *p, const char *prog, const fcn_model *m);

/* What a front end's option handler returns: 0 to go on, -1 to stop with
** exit status 0 (--help, --version), otherwise the exit status. */
typedef int (*cli_option_fn)(void *ud, int opt, const char *value, int argc,
                             char **argv);
/* getopt_long over argv (opterr off; shorts: "h", "q" where quiet may be
** NULL for a program without it), every option to fn; then the first
** operand into *first and the others into rest (NULL: none allowed). */
int cli_parse(int argc, char **argv, const char *prog,
              const struct option *opts, int has_quiet, cli_option_fn fn,
              void *ud, const char **first, cli_paths *rest);

/* ---- standard input ---- */

/* Standard input read whole (at most max bytes) into a malloc'd buffer;
** 0 with a message in err otherwise. */
int cli_stdin_read(size_t max, void **data, size_t *n, char *err,
                   size_t errlen);
/* Standard input copied whole (at most max bytes) into a private
** temporary file that is unlinked at once (in $TMPDIR, else /tmp): path
** receives "/proc/self/fd/N", readable as a file while *fd stays open,
** and nothing is left behind, on a signal or otherwise. 0 with a message
** in err otherwise. */
/* Whether path is a TIFF or BigTIFF (by its first bytes): the inputs
** fcn-run and fcn-detect stream without being asked. */
int cli_is_tiff(const char *path);
int cli_stdin_spool(size_t max, int *fd, char *path, size_t n, char *err,
                    size_t errlen);
/* msg with every occurrence of `from` replaced by `to`, into buf. */
const char *cli_msg_rename(const char *msg, const char *from, const char *to,
                           char *buf, size_t n);

/* ---- input lists and output names ---- */

struct cli_paths {
    char **v;
    int n, cap;
};

int cli_paths_add(cli_paths *p, const char *path);  /* 0: out of memory */
/* The paths listed in a file ('-': stdin), one per line, blank lines and
** '#' comments skipped; 0 after "PROG: --list FILE: REASON" on error. */
int cli_paths_read_list(cli_paths *p, const char *prog, const char *file);
void cli_paths_free(cli_paths *p);

int cli_is_dir(const char *path);
/* The name of an input's output: spec with "{}" replaced by the input's
** file name without directory and extension (its stem); or, spec an
** existing directory, spec/STEM SUFFIX EXT; otherwise spec itself. 0 if
** it does not fit in n. */
int cli_out_name(const char *spec, const char *input, const char *suffix,
                 const char *ext, char *out, size_t n);

/* 1 when the model's last converted layer is a softmax (its scores are
** probabilities), from fcn_model_summary. */
int cli_scores_are_probabilities(const fcn_model *m);

/* "PROG: OPT: the model has no class 'NAME' (classes: "A", "B", ...)". */
void cli_unknown_class(const char *prog, const fcn_model *m, const char *opt,
                       const char *name);

/* ---- progress on stderr ---- */

/* Shown when stderr is a terminal and an input has taken more than a
** second, or always when forced (--progress or FCN_PROGRESS=1; one line
** per update where stderr is not a terminal); never with --quiet. */
typedef struct cli_progress {
    const char *prog;
    int enabled, forced, tty, open;
    int idx, count;
    double t0, last;
    char name[64];
} cli_progress;

void cli_progress_init(cli_progress *p, const char *prog, int quiet,
                       int forced);
/* A new input (idx of count) named path; resets the clock. */
void cli_progress_begin(cli_progress *p, const char *path, int idx,
                        int count);
/* fcn_session_options.progress: "PROG: [i/n] NAME: tile d/t, ETA S s". */
void cli_progress_tiles(void *ud, int done, int total);
/* Ends an open progress line (before a message or at the end). */
void cli_progress_end(cli_progress *p);
double cli_now(void);  /* monotonic seconds */

#endif
