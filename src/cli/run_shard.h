/*
** run_shard.h: fcn-run --shard I/N --out-dir DIR and --plan N
** (run_shard.c; the files: shard.h, docs/scale-out.md). The split depends
** on the command line alone: one input's map (or its --cells) in N bands of
** cell rows, or input k of several in part k mod N.
*/
#ifndef FCN_CLI_RUN_SHARD_H
#define FCN_CLI_RUN_SHARD_H

#include "run_args.h"
#include "run_json.h"
#include "shard.h"

typedef struct rsh_state {
    const args *a;
    const fcn_model *m;
    sh_manifest man;       /* this part's: resumed entries, then new ones */
    int cells_mode;        /* one input in bands; else whole inputs */
    fcn_region band;       /* cells mode: this part's cells of the map */
    int units, done_before, ran;
} rsh_state;

/* The part's job and manifest in a->out_dir (made if absent): a manifest
** of the same job is resumed, one of another job refused; in cells mode
** the band (*band: the cells to run). 0 after a message on stderr. */
int rsh_begin(rsh_state *s, const args *a, const fcn_model *m,
              fcn_region *band);
/* The output name (within out_dir) of input k: the band's file in cells
** mode, else the input's own; 0 if it does not fit. */
int rsh_output(const rsh_state *s, int k, char *out, size_t n);
/* Input k of the inputs belongs to this part. */
int rsh_mine(const rsh_state *s, int k);
/* Its output is in the manifest and checks out: skip it. */
int rsh_done(rsh_state *s, int k);
/* A unit that ran (x: its input, written to x->out): its entry into the
** manifest, rewritten; 0 with err set. */
int rsh_record(rsh_state *s, const rj_input *x, char *err, size_t errlen);
/* The manifest, complete if every unit has its entry; "fcn-run: part I/N:
** ..." on stderr. Returns the exit status (failed: units that failed). */
int rsh_end(rsh_state *s, int failed);
/* --plan N: the parts as JSON on stdout; the exit status. */
int rsh_plan(const args *a, const fcn_model *m);

#endif
