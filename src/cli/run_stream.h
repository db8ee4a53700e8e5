/*
** run_stream.h: fcn-run's streamed inputs (docs/large-images.md): the
** score map of an image, or of a region of its cells, computed block by
** block from windows of the file (include/fcn_stream.h), written in place
** into the .npy, and ranked block by block for the summary and the JSON.
*/
#ifndef FCN_CLI_RUN_STREAM_H
#define FCN_CLI_RUN_STREAM_H

#include "fcn_stream.h"
#include "run_json.h"

/* Whether path goes through the block runner: force (--stream, --cells,
** --level), or a TIFF or BigTIFF (by its first bytes). */
int rs_wanted(const char *path, int force);

/* --cells R,C,H,W: R, C >= 0, H, W > 0, each at most INT_MAX; 0 (and
** r->height 0) otherwise. */
int rs_parse_cells(const char *v, fcn_region *r);

typedef struct rs_opts {
    int threads;
    size_t mem_limit;
    const fcn_region *cells;  /* NULL: the whole map */
    int level;
    void (*progress)(void *ud, int done, int total);
    void *progress_ud;
} rs_opts;

/* The streamed map of real (the file to read) into the sink file (an
** opened .npy or TIFF sink, committed or aborted here; NULL: none),
** ranked: x's input size, region, blocks, level, timings and best (*best,
** to free()) set, and *sc its shape and geometry (data NULL). 0 with
** fcn_last_error() set on failure (no file left). */
int rs_run(const fcn_model *m, const char *real, const rs_opts *o,
           const fcn_map_sink *file, rj_input *x, fcn_scores *sc,
           fcn_region *cells, rj_rank **best);
/* The text summary of a streamed input (the map itself is not drawn). */
void rs_print_summary(const fcn_model *m, const rj_input *x);

#endif
