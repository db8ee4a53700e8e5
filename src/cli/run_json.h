/*
** run_json.h: what fcn-run writes about a score map: the JSON of one input
** (--json), the geometry sidecar (OUT.npy.json next to OUT.npy), the map
** as .npy on standard output, the best cell of every class, and the text
** summary's tables of classes. docs/cli.md describes the formats.
*/
#ifndef FCN_CLI_RUN_JSON_H
#define FCN_CLI_RUN_JSON_H

#include "cli.h"

/* The best cell of a class over the map. */
typedef struct rj_rank {
    int cls;
    float score;
    int y, x;
} rj_rank;

/* best[C]: every class's best cell, best first (NULL on out of memory:
** free() it). */
rj_rank *rj_best_cells(const fcn_scores *sc);
int rj_is_background(const fcn_model *m, int c);
/* Best first (ties: the lower class first). */
void rj_rank_sort(rj_rank *r, int n);

/* The text summary's tables on stdout: the five best classes over the
** map (background left out) with their best cell and its window; the top
** k classes of every cell. 1 on out of memory. */
int rj_print_top_classes(const fcn_model *m, const fcn_scores *sc);
/* The summary's "geometry" line. */
void rj_print_geometry(const fcn_geometry *g);
/* The first table from best cells already ranked (best[classes]), cells
** placed with g. */
void rj_print_ranks(const fcn_model *m, const fcn_geometry *g, int classes,
                    const rj_rank *best);
int rj_print_top_per_cell(const fcn_model *m, const fcn_scores *sc, int top);

/* One input's run, as the JSON and the sidecar describe it. */
typedef struct rj_input {
    const char *model_path;
    const fcn_model *m;
    const char *path;          /* as the user gave it ("-": stdin) */
    int w, h, c, is_npy;       /* the input as run */
    int resize_w, resize_h;    /* --resize (0: none) */
    const char *fit;           /* --fit: "stretch", "crop", "shorter" */
    const fcn_scores *sc;
    int tiles, threads;
    double t_load, t_decode, t_plan, t_run;  /* seconds */
    const char *out, *heatmap; /* files written (NULL: none; "-": stdout) */
    /* streamed (run_stream.h): the region of the map (NULL: not streamed;
    ** sc->data is then NULL), its blocks, the pyramid level, and the best
    ** cells found block by block, ranked */
    const fcn_region *cells;
    int blocks, level;
    const rj_rank *best;
    int georef;                /* --out FILE.tif written as a GeoTIFF */
} rj_input;

/* The JSON object of one input into b. */
void rj_input_json(cli_json *b, const rj_input *x);
/* The object of an input that failed: its path and the message. */
void rj_error_json(cli_json *b, const char *path, const char *msg);
/* The sidecar of npy_path (X.npy -> X.npy.json), written whole; 0 with
** a one-line message in err otherwise. */
int rj_write_sidecar(const char *npy_path, const rj_input *x, char *err,
                     size_t errlen);
/* The sidecar's path for npy_path (X.npy.json); 0 if too long. */
int rj_sidecar_path(const char *npy_path, char *out, size_t n);
/* The score map as a .npy on f (version 1.0, '<f4', C order); 0 on a
** failed write. */
int rj_npy_stream(FILE *f, const fcn_scores *sc);

#endif
