/*
** session.c: sessions (one input size: a plan and its memory) and the run:
** the library's one parallel region per run (par_run), in which every
** thread walks the bands, strips and nodes of the plan, computing its
** share of each node, with a barrier after each.
*/
#include <limits.h>
#include <string.h>

#include "core/session.h"
#include "fcn_stream.h"
#include "kernels/blas.h"
#include "util/err.h"

#define DEFAULT_MEM_LIMIT ((size_t)512 << 20)
#define MAX_THREADS 1024

struct fcn_session {
    const fcn_model *m;
    int h, w, threads;
    plan p;
    double *seconds;      /* per node, last run, summed over tiles */
    float *scores;        /* classes x out_h x out_w */
    float *mem;           /* arena: activations, then workspace */
    int owns_memory;
    void (*progress)(void *ud, int done, int total);
    void *progress_ud;
};

void fcn_session_free(fcn_session *s)
{
    if (!s)
        return;
    plan_free(&s->p);
    mem_free(s->seconds);
    if (s->owns_memory) {
        mem_free(s->scores);
        mem_free(s->mem);
    }
    mem_free(s);
}

int fcn_default_threads(void) { return par_default_threads(); }

/* session_plan for the cells of a region (NULL: the whole map). */
static fcn_status plan_cells(const fcn_model *m, int height, int width,
                             const fcn_region *cells,
                             const fcn_session_options *opt,
                             fcn_session **out)
{
    if (!out)
        return err_set(FCN_ERR_ARG, "fcn_session_create: out is NULL");
    *out = NULL;
    if (!m)
        return err_set(FCN_ERR_ARG, "fcn_session_create: model is NULL");
    fcn_session_options o = {0};
    if (opt)
        o = *opt;
    if (o.threads <= 0)
        o.threads = par_default_threads();
    if (o.threads > MAX_THREADS || o.tile < 0)
        return err_set(FCN_ERR_ARG, "%d threads, tile %d: impossible",
                       o.threads, o.tile);
    fcn_session *s = mem_calloc(1, sizeof *s);
    if (!s)
        return err_set(FCN_ERR_NOMEM, "out of memory");
    *s = (fcn_session){m,    height, width, o.threads,  {0},
                       NULL, NULL,   NULL,  0,          o.progress,
                       o.progress_ud};
    s->seconds = mem_calloc((size_t)m->n_nodes, sizeof(double));
    fcn_status st = s->seconds ? FCN_OK
                               : err_set(FCN_ERR_NOMEM, "out of memory");
    if (!st && !cells)  /* the whole image's tensors, as a whole plan may
                           hold them */
        st = graph_check_tensors(m, height, width);
    if (!st)
        st = plan_make(m, height, width, o.threads,
                       o.mem_limit ? o.mem_limit : DEFAULT_MEM_LIMIT, o.tile,
                       cells, &s->p);
    if (st) {
        fcn_session_free(s);
        return st;
    }
    *out = s;
    return FCN_OK;
}

fcn_status session_plan(const fcn_model *m, int height, int width,
                        const fcn_session_options *opt, fcn_session **out)
{
    return plan_cells(m, height, width, NULL, opt, out);
}

size_t session_arena_floats(const fcn_session *s)
{
    return plan_arena_bytes(&s->p, s->threads) / sizeof(float);
}

size_t session_scores_floats(const fcn_session *s)
{
    const shape o = s->p.shapes[s->m->out_tensor];
    return (size_t)o.c * s->p.ch * s->p.cw;
}

void session_bind(fcn_session *s, float *arena, float *scores)
{
    s->mem = arena;
    s->scores = scores;
}

const plan *session_get_plan(const fcn_session *s) { return &s->p; }

/* fcn_session_create for the cells of a region (NULL: the whole map). */
static fcn_status create_cells(const fcn_model *m, int height, int width,
                               const fcn_region *cells,
                               const fcn_session_options *opt,
                               fcn_session **out)
{
    if (!out)
        return err_set(FCN_ERR_ARG, "fcn_session_create: out is NULL");
    *out = NULL;
    fcn_session *s;
    fcn_status st = plan_cells(m, height, width, cells, opt, &s);
    if (st)
        return st;
    const size_t bytes = plan_arena_bytes(&s->p, s->threads),
                 nsc = session_scores_floats(s);
    s->owns_memory = 1;
    s->scores = mem_aligned(sizeof(float) * nsc);
    s->mem = mem_aligned(bytes);
    if (!s->scores || !s->mem) {
        fcn_session_free(s);
        return err_set(FCN_ERR_NOMEM, "input %dx%d: out of memory for %.1f "
                       "MB of activations and workspace and %.1f MB for the "
                       "score map", width, height, bytes / 1e6, 4e-6 * nsc);
    }
    *out = s;
    return FCN_OK;
}

fcn_status fcn_session_create(const fcn_model *m, int height, int width,
                              const fcn_session_options *opt,
                              fcn_session **out)
{
    return create_cells(m, height, width, NULL, opt, out);
}

fcn_status fcn_session_create_region(const fcn_model *m, int image_h,
                                     int image_w, const fcn_region *cells,
                                     const fcn_session_options *opt,
                                     fcn_session **out)
{
    if (!cells) {
        if (out)
            *out = NULL;
        return err_set(FCN_ERR_ARG, "fcn_session_create_region: cells is "
                       "NULL");
    }
    return create_cells(m, image_h, image_w, cells, opt, out);
}

void fcn_session_input_window(const fcn_session *s, int *y0, int *x0, int *h,
                              int *w)
{
    *y0 = s->p.in_y0;
    *x0 = s->p.in_x0;
    *h = s->p.in_h;
    *w = s->p.in_w;
}

/* The scores are the planned cells; the geometry's offsets are theirs. */
void fcn_session_shape(const fcn_session *s, fcn_scores *sc)
{
    shape o = s->p.shapes[s->m->out_tensor];
    sc->data = s->scores;
    sc->classes = o.c;
    sc->out_h = s->p.ch;
    sc->out_w = s->p.cw;
    sc->geom = s->m->geom;
    sc->geom.offset_h += s->p.cy0 * sc->geom.stride_h;
    sc->geom.offset_w += s->p.cx0 * sc->geom.stride_w;
}

size_t fcn_session_arena_bytes(const fcn_session *s)
{
    return plan_arena_bytes(&s->p, s->threads);
}

void fcn_session_tiles(const fcn_session *s, int *tile_h, int *tile_w,
                       int *n_tiles)
{
    int oh = s->p.ch;
    *tile_h = s->p.tile_h < oh ? s->p.tile_h : oh;
    *tile_w = s->p.tile_w;
    /* forced tiles of one cell can make more than an int holds */
    const int64_t n = (int64_t)s->p.tiles_y * s->p.tiles_x;
    *n_tiles = n > INT_MAX ? INT_MAX : (int)n;
}

int fcn_session_layers(const fcn_session *s, fcn_layer_stats *out, int max)
{
    const fcn_model *m = s->m;
    for (int i = 0; i < m->n_nodes && out && i < max; i++) {
        const node *n = &m->nodes[i];
        const op_def *d = op_get(n->op);
        shape is = s->p.shapes[n->in[0]], os = s->p.shapes[n->out];
        fcn_layer_stats *l = &out[i];
        memset(l, 0, sizeof *l);
        l->name = n->name;
        l->op = n->label;
        l->in_c = is.c;
        l->in_h = is.h;
        l->in_w = is.w;
        l->out_c = os.c;
        l->out_h = os.h;
        l->out_w = os.w;
        l->seconds = s->seconds[i];
        if (d->stats)
            d->stats(n, is, l);
        if (d->plan)
            l->im2col_bytes = sizeof(float) * s->p.stats_ws[i];
    }
    return m->n_nodes;
}

/* ---- run ---- */

typedef struct run_ctx {
    fcn_session *s;
    const void *src;  /* the float input, or the fcn_image */
    int image;
    int oy, ox;       /* the image's first row and column: 0, or the input
                         window's (fcn_session_run_window) */
} run_ctx;

/* Tensor t's buffer in the current band and strip: rows [r->y0, r->y0 +
** buf_rows[t]) of the band's columns, planes buf_rows[t] * w apart. */
static view arena_view(const fcn_session *s, int t, const plan_col *c,
                       const plan_row *r)
{
    const shape sh = s->p.shapes[t];
    view v = {s->mem + s->p.offset[t], sh.c, r->y0, c->x0, r->h, c->w, sh.h,
              sh.w, c->w, (int64_t)s->p.buf_rows[t] * c->w};
    return v;
}

/* The input's window: the arena slot (images), or the float input in
** place (the session's input window, fcn_session_input_window). */
static view input_view(const run_ctx *c, const plan_col *col,
                       const plan_row *r)
{
    if (c->image)
        return arena_view(c->s, 0, col, r);
    const plan *p = &c->s->p;
    const shape sh = p->shapes[0];
    view v = {(float *)c->src + (int64_t)(r->y0 - p->in_y0) * p->in_w +
                  (col->x0 - p->in_x0),
              sh.c, r->y0, col->x0, r->h, col->w, sh.h, sh.w, p->in_w,
              (int64_t)p->in_h * p->in_w};
    return v;
}

/* Start of a strip: the rows each tensor keeps move to the top of its
** buffer (the band is fixed, so the columns are the same), then the
** image's new rows are preprocessed into the input slot. Returns whether
** there was anything to do (the same answer on every thread: it depends
** on the plan alone), so that the caller needs a barrier. */
static int strip_begin(const run_ctx *c, const plan_col *band,
                       const plan_row *rows, par *pr)
{
    const fcn_session *s = c->s;
    int moved = 0;
    for (int t = c->image ? 0 : 1; t < s->p.n_tensors; t++) {
        const plan_row *r = &rows[t];
        if (r->shift <= 0 || band[t].w <= 0)
            continue;
        view v = arena_view(s, t, &band[t], r);
        const size_t n = (size_t)(r->from - r->y0) * v.w;
        int64_t c0, c1;
        par_range(pr, v.c, &c0, &c1);
        for (int64_t ch = c0; ch < c1; ch++)
            memmove(v.p + ch * v.ps, v.p + ch * v.ps + (int64_t)r->shift * v.w,
                    n * sizeof(float));
        moved = 1;
    }
    const plan_row *r = &rows[0];
    if (!c->image || r->y0 + r->h <= r->from)
        return moved;
    if (moved)
        par_barrier(pr);  /* the new rows overwrite where kept rows were */
    view v = arena_view(s, 0, &band[0], r);
    int64_t a, b;
    par_range(pr, r->y0 + r->h - r->from, &a, &b);
    if (b > a)
        img_preprocess(&s->m->prep, c->src, r->from + (int)a - c->oy,
                       v.x0 - c->ox,
                       (int)(b - a), v.w,
                       v.p + ((int64_t)(r->from - r->y0) + a) * v.w, v.ps);
    return 1;
}

/* Node i's new rows of the strip, on every thread. */
static void run_node(const run_ctx *c, int i, const plan_col *band,
                     const plan_row *rows, par *pr)
{
    fcn_session *s = c->s;
    const node *n = &s->m->nodes[i];
    const op_def *d = op_get(n->op);
    const int t = n->out;
    const plan_row *r = &rows[t];
    view in[OP_MAX_INPUTS];
    for (int j = 0; j < n->n_in; j++) {
        const int u = n->in[j];
        in[j] = u == 0 ? input_view(c, &band[0], &rows[0])
                       : arena_view(s, u, &band[u], &rows[u]);
    }
    view y = arena_view(s, t, &band[t], r);  /* the new rows only */
    y.p += (int64_t)(r->from - r->y0) * y.w;
    y.h = r->y0 + r->h - r->from;
    y.y0 = r->from;
    op_run run = {in, &y, d->plan ? plan_node(&s->p, i, band, rows) : NULL,
                  s->mem + s->p.arena_floats};
    double t0 = pr->ith ? 0 : par_time();
    d->forward(n, &run, pr);
    par_barrier(pr);
    if (!pr->ith)
        s->seconds[i] += par_time() - t0;
    if (t != s->m->out_tensor)
        return;
    /* the new cells into the score map (of the planned cells) */
    const plan *p = &s->p;
    int64_t c0, c1;
    par_range(pr, p->shapes[t].c, &c0, &c1);
    for (int64_t ch = c0; ch < c1; ch++)
        for (int row = 0; row < y.h; row++)
            memcpy(s->scores + (ch * p->ch + y.y0 - p->cy0 + row) * p->cw +
                       (y.x0 - p->cx0),
                   view_row(&y, (int)ch, row), sizeof(float) * y.w);
    par_barrier(pr);
}

static int clamp_int(int64_t n) { return n > INT_MAX ? INT_MAX : (int)n; }

static void run_team(void *ctx, par *pr)
{
    const run_ctx *c = ctx;
    const plan *p = &c->s->p;
    const int64_t total = (int64_t)p->tiles_y * p->tiles_x;
    int64_t done = 0;
    for (int tx = 0; tx < p->tiles_x; tx++) {
        const plan_col *band = plan_band(p, tx);
        for (int ty = 0; ty < p->tiles_y; ty++) {
            const plan_row *rows = plan_strip(p, tx, ty);
            if (strip_begin(c, band, rows, pr))
                par_barrier(pr);
            for (int i = 0; i < p->n_nodes; i++) {
                const plan_row *r = &rows[i + 1];
                if (r->h > 0 && band[i + 1].w > 0 && r->from < r->y0 + r->h)
                    run_node(c, i, band, rows, pr);
            }
            /* every node ends on a barrier: the tile is complete; thread 0
            ** is the thread that called the run (fcn.h) */
            done++;
            if (!pr->ith && c->s->progress)
                c->s->progress(c->s->progress_ud, clamp_int(done),
                               clamp_int(total));
        }
    }
}

static fcn_status run(fcn_session *s, const void *src, int image,
                      int window, fcn_scores *out)
{
    /* where the team's threads cannot be created, libgomp exits; where
    ** OpenBLAS cannot take its buffer per calling thread, it retries
    ** forever inside the region: both are refused here instead */
    size_t stacks = par_unmappable(s->threads);
    if (stacks)
        return err_set(FCN_ERR_NOMEM, "out of memory: a team of %d threads "
                       "needs %zu MiB more of thread stacks, which this "
                       "process cannot map (ulimit -v?); fewer threads need "
                       "less", s->threads, stacks >> 20);
    fcn_status st = s->m->blas ? blas_enter(s->threads) : FCN_OK;
    if (st)
        return st;
    memset(s->seconds, 0, sizeof(double) * s->m->n_nodes);
    run_ctx c = {s, src, image, window ? s->p.in_y0 : 0,
                 window ? s->p.in_x0 : 0};
    par_run(s->threads, run_team, &c);
    if (s->m->blas)
        blas_leave(s->threads);
    if (out)
        fcn_session_shape(s, out);
    return FCN_OK;
}

fcn_status fcn_session_run(fcn_session *s, const float *input, fcn_scores *out)
{
    if (!s || !input || !s->mem)
        return err_set(FCN_ERR_ARG, "fcn_session_run: NULL argument");
    return run(s, input, 0, 0, out);
}

/* A decoded image checked against what the session reads: h x w pixels
** of the model's channels, depth 8 or 16. */
static fcn_status image_fits(const fcn_session *s, const fcn_image *img,
                             int h, int w, const char *what)
{
    if (img->h != h || img->w != w || img->c != s->m->in_c)
        return err_set(FCN_ERR_ARG, "image %dx%dx%d does not match the "
                       "session's %s %dx%dx%d (WxHxC)", img->w, img->h,
                       img->c, what, w, h, s->m->in_c);
    if (!img_depth_ok(img))
        return err_set(FCN_ERR_ARG, "image depth %d (expected 8 or 16)",
                       img->depth);
    return FCN_OK;
}

fcn_status fcn_session_run_image(fcn_session *s, const fcn_image *img,
                                 fcn_scores *out)
{
    if (!s || !img || !img->pixels || !s->mem)
        return err_set(FCN_ERR_ARG, "fcn_session_run_image: NULL argument");
    fcn_status st = image_fits(s, img, s->h, s->w, "input");
    return st ? st : run(s, img, 1, 0, out);
}

fcn_status fcn_session_run_window(fcn_session *s, const fcn_image *window,
                                  fcn_scores *out)
{
    if (!s || !window || !window->pixels || !s->mem)
        return err_set(FCN_ERR_ARG, "fcn_session_run_window: NULL argument");
    fcn_status st = image_fits(s, window, s->p.in_h, s->p.in_w,
                               "input window");
    return st ? st : run(s, window, 1, 1, out);
}
