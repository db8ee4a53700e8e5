/*
** plan.h: a session's plan for one input size, made once at session create
** and only read by run: every tensor's shape, the tiling of the score map
** into bands of columns and strips of rows, every tensor's window in each
** band and strip, every node's kernel plan for each window size it meets,
** and the arena layout.
**
** Memory is bounded by the tile, not by the photo. The score map is cut
** into bands of columns, and each band is computed in strips of rows, top
** to bottom. A band's columns are the receptive field of its score-map
** columns, propagated backwards through the graph (a window op with kernel
** k, stride s, dilation d, leading padding p needs input columns [o0*s -
** p, (o1-1)*s - p + (k-1)*d + 1), clipped to the map; the union where a
** tensor feeds several layers), so bands recompute the column halo at
** their sides. Rows are streamed from the input: a strip brings `step`
** more input rows, and every layer then computes all the rows its inputs
** allow and that it has not computed yet. A tensor's buffer holds, for the
** strip, its new rows and the rows its readers still need (from the first
** row their next output row reads: the kernel's halo, kept from the
** previous strip and moved to the top of the buffer) -- about its share of
** the step, never the receptive field of a score row. So strips recompute
** nothing. Padding applies only at the true border of each map. A node
** that computes in blocks on its map's grid (op_def.block: Winograd's 4x4)
** is given the inputs of every block its window meets, and computes a row
** only with its whole block; so every kernel computes each output from
** the same inputs in the same order whatever the window, and the result
** is the untiled one bit for bit (docs/engine.md). When everything fits the
** memory limit there is a single band and strip.
**
** A region (fcn_session_create_region) is planned the same way on the
** whole image's maps, restricted to the windows its cells need: the bands
** cut the region's columns, the strips stream the rows of its input
** window.
**
** A tensor whose rows are needed by the next strip keeps its buffer for
** the whole band; the others share arena space by liveness (first fit).
**
** Sizes: windows are kept per band (columns) and per strip (rows), never
** per tile, so a plan takes O((bands + strips) x tensors) memory. Rows
** depend on the band only through which tensors the band needs at all
** (a band whose outputs see only padding may need none of a tensor):
** bands that need the same tensors share one row schedule.
*/
#ifndef FCN_CORE_PLAN_H
#define FCN_CORE_PLAN_H

#include "core/model.h"

typedef struct plan_col {   /* a tensor in one band */
    int x0, w;              /* its columns; w 0: not needed in the band */
    int wcls;               /* a node's output: which of the node's window
                               widths (plan.node_w) */
} plan_col;

typedef struct plan_row {   /* a tensor in one strip */
    int y0, h;              /* its window: rows [y0, y0 + h) */
    int from;               /* rows [y0, from) are kept from the previous
                               strip, [from, y0 + h) are computed */
    int shift;              /* the kept rows move up this many rows */
    int hcls;               /* a node's output: which of the node's window
                               heights (plan.node_h) */
} plan_row;

typedef struct plan {
    int n_tensors, n_nodes;
    shape *shapes;          /* whole maps, per tensor */
    int *block;             /* per node: op_def.block on its map */
    int cy0, cx0, ch, cw;   /* the score-map cells computed (the region;
                               the whole map by default) */
    int in_y0, in_x0, in_h, in_w;  /* the input window they need */
    int ystride;            /* input rows per score-map row */
    int step;               /* input rows per strip */
    int tile_h, tile_w;     /* score-map cells per strip (once the strips
                               reach the score map), per band */
    int tiles_y, tiles_x;   /* strips per band, bands */
    plan_col *cols;         /* tiles_x x n_tensors */
    int *band_rows;         /* per band: its row schedule */
    int n_row_sets;
    plan_row *rows;         /* n_row_sets x tiles_y x n_tensors */
    /* per node: the window sizes it computes, and a kernel plan for each
    ** pair, planned for the session's threads: node i's plan for height
    ** class a and width class b is plans[plan_at[i] + a * n_w[i] + b] */
    int *n_h, *n_w;
    size_t *plan_at;
    int **node_h, **node_w; /* the heights and widths */
    op_plan *plans;
    size_t *stats_ws;       /* per node: workspace of its first window, one
                               thread (for fcn_session_layers) */
    /* the arena: per tensor */
    int *buf_rows;          /* buffer rows (largest strip window) */
    int *wmax;              /* widest window */
    char *keep;             /* rows carry over between strips */
    size_t *cap;            /* buffer size in floats */
    size_t *offset;         /* in floats, into the arena */
    int *first, *last;      /* lifetime in nodes (-2: the whole band) */
    size_t arena_floats;    /* activations */
    size_t ws_floats;       /* largest kernel workspace, one thread */
    double work;            /* estimated multiply-adds per run */
    /* the rest of what the memory limit counts (plan_budget_bytes) */
    size_t score_bytes;     /* the score map */
    size_t table_bytes;     /* the band and strip tables above */
} plan;

/* Plan the model for an input of height x width: threads, memory limit
** and forced tile (score-map cells; 0: choose) as in fcn_session_options;
** cells: the region of the score map to compute (NULL: all of it; outside
** the map or empty: FCN_ERR_ARG). FCN_ERR_NOMEM, before any tiling is
** tried, when the score map (the region's cells) alone exceeds the limit. */
fcn_status plan_make(const fcn_model *m, int height, int width, int threads,
                     size_t limit, int tile, const fcn_region *cells,
                     plan *p);
void plan_free(plan *p);
/* Bytes of arena (activations + every thread's workspace). */
size_t plan_arena_bytes(const plan *p, int threads);
/* What the memory limit holds: the arena with one thread's workspace,
** the score map, and the band and strip tables (each further thread's
** workspace comes on top, as fcn.h says). */
size_t plan_budget_bytes(const plan *p);

static inline const plan_col *plan_band(const plan *p, int tx)
{
    return p->cols + (size_t)tx * p->n_tensors;
}

static inline const plan_row *plan_strip(const plan *p, int tx, int ty)
{
    return p->rows + ((size_t)p->band_rows[tx] * p->tiles_y + ty) *
                         p->n_tensors;
}

/* Node i's kernel plan for its window in band tx, strip ty. */
static inline const op_plan *plan_node(const plan *p, int i,
                                       const plan_col *band,
                                       const plan_row *strip)
{
    const int t = i + 1;
    return &p->plans[p->plan_at[i] + strip[t].hcls * p->n_w[i] +
                     band[t].wcls];
}

#endif
