/*
** session.c: the plan for one input size, and the run loop.
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
** nothing. Padding applies only at the true border of each map; the result
** equals the untiled one (to GEMM rounding). When everything fits the
** memory limit there is a single band and strip.
**
** A tensor whose rows are needed by the next strip keeps its buffer for
** the whole band; the others share arena space by liveness (first fit).
** One allocation per session; run never allocates.
*/
#include <omp.h>
#include <string.h>

#include "internal.h"

#define DEFAULT_MEM_LIMIT ((size_t)512 << 20)

typedef struct rect {
    int y0, x0, h, w;
} rect;

struct fcn_session {
    const fcn_model *m;
    int h, w, threads;
    shape *shapes;        /* whole maps, per tensor */
    int tile_h, tile_w;   /* score-map cells per strip (once the strips
                             reach the score map), per band */
    int ystride;          /* input rows per score-map row */
    int step;             /* input rows per strip */
    int tiles_y, tiles_x; /* strips per band, bands */
    rect *cols;           /* per tensor: the current band's columns */
    rect *req;            /* per tensor: its window for the current strip */
    rect *prev;           /* per tensor: the previous strip's */
    int *have;            /* per tensor: rows [req.y0, have) are computed */
    int *rows;            /* per tensor: buffer rows (largest strip window) */
    int *wmax;            /* per tensor: widest window */
    char *keep;           /* per tensor: rows carry over to the next strip */
    size_t *cap;          /* per tensor: buffer size in floats */
    size_t *offset;       /* per tensor, in floats, into mem */
    double work;          /* planning: estimated multiply-adds per run */
    conv_plan *conv;      /* per node: plan of the first tile (for stats) */
    double *seconds;      /* per node, last run, summed over tiles */
    float *scores;        /* classes x out_h x out_w */
    float *mem;           /* arena: activations, then workspace */
    size_t arena_floats, ws_floats;
};

void fcn_session_free(fcn_session *s)
{
    if (!s)
        return;
    fcn_free(s->shapes);
    fcn_free(s->cols);
    fcn_free(s->req);
    fcn_free(s->prev);
    fcn_free(s->have);
    fcn_free(s->rows);
    fcn_free(s->wmax);
    fcn_free(s->keep);
    fcn_free(s->cap);
    fcn_free(s->offset);
    fcn_free(s->conv);
    fcn_free(s->seconds);
    fcn_free(s->scores);
    fcn_free(s->mem);
    fcn_free(s);
}

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

/* Input range one axis of a node needs for output range [o0, o1), clipped
** to the input map [0, in). */
static void need_axis(int o0, int o1, int k, int s, int d, int p, int in,
                      int *i0, int *i1)
{
    int64_t a = (int64_t)o0 * s - p, b = (int64_t)(o1 - 1) * s - p +
                                          (int64_t)(k - 1) * d + 1;
    *i0 = (int)(a < 0 ? 0 : a);
    *i1 = (int)(b > in ? in : b);
}

static rect rect_union(rect a, rect b)
{
    if (a.h <= 0 || a.w <= 0)
        return b;
    if (b.h <= 0 || b.w <= 0)
        return a;
    int y1 = a.y0 + a.h > b.y0 + b.h ? a.y0 + a.h : b.y0 + b.h;
    int x1 = a.x0 + a.w > b.x0 + b.w ? a.x0 + a.w : b.x0 + b.w;
    rect r;
    r.y0 = a.y0 < b.y0 ? a.y0 : b.y0;
    r.x0 = a.x0 < b.x0 ? a.x0 : b.x0;
    r.h = y1 - r.y0;
    r.w = x1 - r.x0;
    return r;
}

/* Window of every tensor that output window `o` needs (full receptive
** field, the union where a tensor feeds several layers; w == 0: not
** needed). Used for the columns of a band and for the row stride. */
static void need_rects(const fcn_session *s, rect o, rect *req)
{
    const fcn_model *m = s->m;
    memset(req, 0, sizeof(rect) * m->n_tensors);
    req[m->out_tensor] = o;
    for (int i = m->n_nodes - 1; i >= 0; i--) {
        const node *n = &m->nodes[i];
        rect r = req[n->out];
        if (r.h <= 0 || r.w <= 0)
            continue;  /* nothing downstream needs it */
        for (int j = 0; j < n->n_in; j++) {
            shape is = s->shapes[n->in[j]];
            rect q = r;
            if (n->op == OP_CONV || n->op == OP_MAXPOOL ||
                n->op == OP_AVGPOOL || n->op == OP_PAD) {
                int y0, y1, x0, x1, k, st, d, p;
                win_geom(n, 0, &k, &st, &d, &p);
                need_axis(r.y0, r.y0 + r.h, k, st, d, p, is.h, &y0, &y1);
                win_geom(n, 1, &k, &st, &d, &p);
                need_axis(r.x0, r.x0 + r.w, k, st, d, p, is.w, &x0, &x1);
                q = (rect){y0, x0, y1 - y0, x1 - x0};
            }
            if (q.h > 0 && q.w > 0)
                req[n->in[j]] = rect_union(req[n->in[j]], q);
        }
    }
}

/* Columns each tensor computes in band tx of tw score-map columns (x0, w;
** w == 0: not needed in this band). */
static void band_cols(const fcn_session *s, int tw, int tx, rect *cols)
{
    const shape out = s->shapes[s->m->out_tensor];
    int x0 = tx * tw;
    need_rects(s, (rect){0, x0, out.h, out.w - x0 < tw ? out.w - x0 : tw},
               cols);
}

static int64_t floordiv(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* Output rows [0, end) of node n that rows [0, avail) of an input of
** in_h rows allow (out_h rows in all). */
static int rows_computable(const node *n, int avail, int in_h, int out_h)
{
    if (avail >= in_h)
        return out_h;
    int k, st, d, p;
    win_geom(n, 0, &k, &st, &d, &p);
    int64_t o = floordiv((int64_t)avail + p - (int64_t)(k - 1) * d - 1, st) + 1;
    return (int)(o < 0 ? 0 : o > out_h ? out_h : o);
}

/* First input row (of in_h) that output row o of node n reads. */
static int first_row_read(const node *n, int o, int in_h)
{
    int k, st, d, p;
    win_geom(n, 0, &k, &st, &d, &p);
    int64_t a = (int64_t)o * st - p;
    return (int)(a < 0 ? 0 : a > in_h ? in_h : a);
}

/* Windows of every tensor for the strip that brings the input to row y
** (rows [0, y) available), in a band of columns `cols`, after the previous
** strip's windows `prev` (zero at the start of the band). The strips are
** pushed from the input: every layer computes all the rows its inputs
** allow, and a tensor keeps only the rows that its readers still need
** (from the first row their next output row reads) and its new rows. So a
** strip holds, per tensor, about its share of the strip's input rows plus
** the kernel's halo, never the receptive field of the score rows. */
static void strip_rects(const fcn_session *s, int y, const rect *cols,
                        const rect *prev, rect *req)
{
    const fcn_model *m = s->m;
    const int nt = m->n_tensors;
    /* req[t].h holds the end first: rows [0, end) computed after it */
    for (int t = 0; t < nt; t++) {
        int pe = prev[t].y0 + prev[t].h;
        req[t] = (rect){pe, cols[t].x0, pe, cols[t].w};
    }
    if (cols[0].w > 0 && y > req[0].h)
        req[0].h = y < s->shapes[0].h ? y : s->shapes[0].h;
    for (int i = 0; i < m->n_nodes; i++) {
        const node *n = &m->nodes[i];
        const int t = n->out;
        if (cols[t].w <= 0)
            continue;
        int e = s->shapes[t].h;
        for (int j = 0; j < n->n_in; j++) {
            int u = n->in[j], hu = s->shapes[u].h;
            int c = rows_computable(n, cols[u].w > 0 ? req[u].h : hu, hu,
                                    s->shapes[t].h);
            if (c < e)
                e = c;
        }
        if (e > req[t].h)
            req[t].h = e;
    }
    /* keep what the readers' next rows read */
    for (int i = 0; i < m->n_nodes; i++) {
        const node *n = &m->nodes[i];
        const int t = n->out;
        int pe = prev[t].y0 + prev[t].h;
        if (cols[t].w <= 0 || pe >= s->shapes[t].h)
            continue;  /* not needed, or done */
        for (int j = 0; j < n->n_in; j++) {
            int u = n->in[j];
            if (cols[u].w <= 0)
                continue;
            int f = first_row_read(n, pe, s->shapes[u].h);
            if (f < req[u].y0)
                req[u].y0 = f;
        }
    }
    for (int t = 0; t < nt; t++) {
        if (cols[t].w <= 0)
            req[t] = (rect){0, 0, 0, 0};
        else
            req[t].h -= req[t].y0;
    }
}

/* Work estimate of a conv computing an h x w window: multiply-adds,
** Winograd's counted at half (measured: VGG-16 256->256 at 56^2, 25.4 vs
** 51.4 ms) on whole 4x4 blocks; `p` gets the plan. */
static double conv_work(const node *n, int h, int w, conv_plan *p)
{
    conv_plan_window(n, h, w, 1, p);
    if (p->winograd)
        return 0.5 * ((h + 3) & ~3) * (double)((w + 3) & ~3) * n->cout *
               (double)p->K;
    return (double)h * w * n->cout * (double)p->K;
}

/* Plan bands of tw score-map columns and strips of `step` input rows:
** per-tensor buffers, which tensors carry rows between strips, the arena
** layout, workspace (for one thread) and the estimated work. Returns the
** bytes of arena + one thread's workspace, or 0 on OOM. */
static size_t plan_tiles(fcn_session *s, int step, int tw)
{
    const fcn_model *m = s->m;
    const shape out = s->shapes[m->out_tensor];
    const int nt = m->n_tensors, H = s->shapes[0].h;
    s->step = step;
    s->tile_w = tw;
    s->tiles_y = (H + step - 1) / step;
    s->tiles_x = (out.w + tw - 1) / tw;
    memset(s->rows, 0, sizeof(int) * nt);
    memset(s->wmax, 0, sizeof(int) * nt);
    memset(s->keep, 0, (size_t)nt);
    memset(s->conv, 0, sizeof(conv_plan) * m->n_nodes);
    s->ws_floats = 0;
    s->work = 0;
    for (int tx = 0; tx < s->tiles_x; tx++) {
        band_cols(s, tw, tx, s->cols);
        memset(s->prev, 0, sizeof(rect) * nt);
        for (int ty = 0; ty < s->tiles_y; ty++) {
            strip_rects(s, (ty + 1) * step, s->cols, s->prev, s->req);
            for (int t = 0; t < nt; t++) {
                rect r = s->req[t], q = s->prev[t];
                if (r.h > s->rows[t])
                    s->rows[t] = r.h;
                if (r.w > s->wmax[t])
                    s->wmax[t] = r.w;
                if (r.h > 0 && r.y0 < q.y0 + q.h)
                    s->keep[t] = 1;
            }
            for (int i = 0; i < m->n_nodes; i++) {
                const node *n = &m->nodes[i];
                rect r = s->req[n->out], q = s->prev[n->out];
                int nr = r.y0 + r.h - (q.y0 + q.h);
                if (r.h <= 0 || r.w <= 0 || nr <= 0)
                    continue;
                double cells = (double)nr * r.w * s->shapes[n->out].c;
                if (n->op == OP_CONV) {
                    conv_plan p;
                    cells = conv_work(n, nr, r.w, &p);
                    if (!s->conv[i].N)
                        s->conv[i] = p;
                    if (p.ws_floats > s->ws_floats)
                        s->ws_floats = p.ws_floats;
                }
                /* plus a fixed cost per layer call (threads, small GEMMs),
                ** so that a choice between equal work takes fewer strips */
                s->work += cells + 1e6;
            }
            memcpy(s->prev, s->req, sizeof(rect) * nt);
        }
    }
    for (int t = 0; t < nt; t++)
        s->cap[t] = round16((size_t)s->shapes[t].c * s->rows[t] * s->wmax[t]);
    /* Layout: tensors that carry rows live through the whole band; the
    ** others from their producer to their last reader. The input slot
    ** (images are preprocessed into it) counts as produced first. */
    int *first = fcn_malloc(sizeof(int) * nt), *last = fcn_malloc(sizeof(int) * nt),
        *order = fcn_malloc(sizeof(int) * nt), *live = fcn_malloc(sizeof(int) * nt);
    if (!first || !last || !order || !live) {
        fcn_free(first); fcn_free(last); fcn_free(order); fcn_free(live);
        return 0;
    }
    for (int t = 0; t < nt; t++) {
        first[t] = t - 1;
        last[t] = t - 1;
    }
    for (int i = 0; i < m->n_nodes; i++)
        for (int j = 0; j < m->nodes[i].n_in; j++)
            if (last[m->nodes[i].in[j]] < i)
                last[m->nodes[i].in[j]] = i;
    last[m->out_tensor] = m->n_nodes;
    for (int t = 0; t < nt; t++)
        if (s->keep[t] || t == m->out_tensor) {
            first[t] = -2;
            last[t] = m->n_nodes;
        }
    /* place long-lived tensors first, then in order of birth */
    int k = 0;
    for (int t = 0; t < nt; t++)
        if (first[t] == -2)
            order[k++] = t;
    for (int t = 0; t < nt; t++)
        if (first[t] != -2)
            order[k++] = t;
    size_t top = 0;
    for (int a = 0; a < nt; a++) {
        int t = order[a], n_live = 0;
        for (int b = 0; b < a; b++) {  /* placed tensors whose life overlaps */
            int u = order[b];
            if (first[u] <= last[t] && first[t] <= last[u])
                live[n_live++] = u;
        }
        size_t need = s->cap[t], best = (size_t)-1;
        for (int c = -1; c < n_live; c++) {
            size_t o = c < 0 ? 0 : s->offset[live[c]] + s->cap[live[c]];
            int ok = 1;
            for (int q = 0; q < n_live && ok; q++) {
                size_t lo = s->offset[live[q]], hi = lo + s->cap[live[q]];
                ok = o + need <= lo || o >= hi;
            }
            if (ok && o < best)
                best = o;
        }
        s->offset[t] = best;
        if (best + need > top)
            top = best + need;
    }
    fcn_free(first); fcn_free(last); fcn_free(order); fcn_free(live);
    s->arena_floats = top;
    return (top + round16(s->ws_floats)) * sizeof(float);
}

/* Input rows per strip of th score-map rows. */
static int strip_step(const fcn_session *s, int th)
{
    const int H = s->shapes[0].h;
    return (int64_t)th * s->ystride < H ? th * s->ystride : H;
}

/* Strips for bands of tw cells that fit `limit`: the tallest (th score-map
** rows, th * row stride input rows) or, of the few just below it, the one
** with the least estimated work (Winograd's 4x4 blocks align better on
** some heights). Returns th, 0 if none fits; leaves its plan in s. */
static int fit_strips(fcn_session *s, int tw, size_t limit)
{
    const int H = s->shapes[0].h;
    int top = (H + s->ystride - 1) / s->ystride;
    size_t b = plan_tiles(s, H, tw);
    if (b && b <= limit)
        return top;
    int lo = 0, hi = top - 1;
    while (lo < hi) {
        int mid = lo + (hi - lo + 1) / 2;
        b = plan_tiles(s, strip_step(s, mid), tw);
        if (b && b <= limit)
            lo = mid;
        else
            hi = mid - 1;
    }
    if (lo <= 0)
        return 0;
    int best = lo;
    double best_work = 0;
    for (int th = lo; th >= 1 && th > lo - 4; th--) {
        b = plan_tiles(s, strip_step(s, th), tw);
        if (b && b <= limit && (th == lo || s->work < best_work * 0.999)) {
            best = th;
            best_work = s->work;
        }
    }
    plan_tiles(s, strip_step(s, best), tw);
    return best;
}

fcn_status fcn_session_create(const fcn_model *m, int height, int width,
                              const fcn_session_options *opt,
                              fcn_session **out)
{
    if (!out)
        return fcn_error(FCN_ERR_ARG, "fcn_session_create: out is NULL");
    *out = NULL;
    if (!m)
        return fcn_error(FCN_ERR_ARG, "fcn_session_create: model is NULL");
    fcn_session_options o = {0};
    if (opt)
        o = *opt;
    if (o.threads <= 0)
        o.threads = omp_get_max_threads();
    if (o.threads > 1024 || o.tile < 0)
        return fcn_error(FCN_ERR_ARG, "%d threads, tile %d: impossible",
                         o.threads, o.tile);
    size_t limit = o.mem_limit ? o.mem_limit : DEFAULT_MEM_LIMIT;
    fcn_session *s = fcn_calloc(1, sizeof *s);
    if (!s)
        return fcn_error(FCN_ERR_NOMEM, "out of memory");
    s->m = m;
    s->h = height;
    s->w = width;
    s->threads = o.threads;
    int nt = m->n_tensors;
    s->shapes = fcn_malloc(sizeof(shape) * nt);
    s->cols = fcn_malloc(sizeof(rect) * nt);
    s->req = fcn_malloc(sizeof(rect) * nt);
    s->prev = fcn_malloc(sizeof(rect) * nt);
    s->have = fcn_malloc(sizeof(int) * nt);
    s->rows = fcn_calloc(nt, sizeof(int));
    s->wmax = fcn_calloc(nt, sizeof(int));
    s->keep = fcn_calloc(nt, 1);
    s->cap = fcn_calloc(nt, sizeof(size_t));
    s->offset = fcn_calloc(nt, sizeof(size_t));
    s->conv = fcn_calloc(m->n_nodes, sizeof(conv_plan));
    s->seconds = fcn_calloc(m->n_nodes, sizeof(double));
    fcn_status st;
    if (!s->shapes || !s->cols || !s->req || !s->prev || !s->have || !s->rows ||
        !s->wmax || !s->keep || !s->cap || !s->offset || !s->conv ||
        !s->seconds) {
        st = fcn_error(FCN_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if ((st = graph_infer(m, height, width, s->shapes)))
        goto fail;
    shape os = s->shapes[m->out_tensor];
    if ((double)os.c * os.h * os.w > (double)((size_t)1 << 34)) {
        st = fcn_error(FCN_ERR_NOMEM, "input %dx%d: a score map of %dx%dx%d "
                       "is too large", width, height, os.c, os.h, os.w);
        goto fail;
    }
    /* Pick the band width (k bands) and strip height that fit the limit
    ** with the least work: strips cost nothing extra, bands recompute their
    ** column halo. Planned with one thread's workspace, so that the choice
    ** (and the result) does not depend on the thread count. */
    /* input rows per score-map row: the score map's row stride */
    s->ystride = m->geom.stride_h < 1 ? 1
                 : m->geom.stride_h > s->shapes[0].h ? s->shapes[0].h
                 : m->geom.stride_h;
    size_t bytes;
    if (o.tile) {
        s->tile_h = o.tile;
        bytes = plan_tiles(s, strip_step(s, o.tile),
                           o.tile < os.w ? o.tile : os.w);
    } else {
        static const int bands[] = {1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64};
        int best_tw = 0, best_th = 0, last_tw = 0;
        double best_work = 0;
        for (size_t k = 0; k < sizeof bands / sizeof bands[0]; k++) {
            int tw = (os.w + bands[k] - 1) / bands[k];
            if (tw == last_tw)
                continue;
            last_tw = tw;
            int th = fit_strips(s, tw, limit);
            if (th > 0 && (!best_tw || s->work < best_work * 0.999)) {
                best_tw = tw;
                best_th = th;
                best_work = s->work;
            }
            if (th > 0 && s->tiles_y == 1)
                break;  /* narrower bands only add halo work */
        }
        if (!best_tw) {
            st = fcn_error(FCN_ERR_NOMEM, "memory limit %.0f MB is too "
                           "small for a %dx%d input: even a strip of one "
                           "score-map cell does not fit", limit / 1e6, width,
                           height);
            goto fail;
        }
        s->tile_h = best_th;
        bytes = plan_tiles(s, strip_step(s, best_th), best_tw);
    }
    if (bytes)  /* the other threads' workspace */
        bytes += (size_t)(s->threads - 1) * s->ws_floats * sizeof(float);
    if (!bytes) {
        st = fcn_error(FCN_ERR_NOMEM, "out of memory planning the session");
        goto fail;
    }
    s->scores = fcn_aligned_alloc(sizeof(float) * os.c * os.h * os.w);
    s->mem = fcn_aligned_alloc(bytes);
    if (!s->scores || !s->mem) {
        st = fcn_error(FCN_ERR_NOMEM, "input %dx%d: cannot allocate %.1f MB "
                       "for activations and workspace and %.1f MB for the "
                       "score map", width, height, bytes / 1e6,
                       4e-6 * os.c * os.h * os.w);
        goto fail;
    }
    *out = s;
    return FCN_OK;
fail:
    fcn_session_free(s);
    return st;
}

void fcn_session_shape(const fcn_session *s, fcn_scores *sc)
{
    shape o = s->shapes[s->m->out_tensor];
    sc->data = s->scores;
    sc->classes = o.c;
    sc->out_h = o.h;
    sc->out_w = o.w;
    sc->geom = s->m->geom;
}

size_t fcn_session_arena_bytes(const fcn_session *s)
{
    return (s->arena_floats + round16(s->ws_floats) +
            (size_t)(s->threads - 1) * s->ws_floats) * sizeof(float);
}

void fcn_session_tiles(const fcn_session *s, int *tile_h, int *tile_w,
                       int *n_tiles)
{
    int oh = s->shapes[s->m->out_tensor].h;
    *tile_h = s->tile_h < oh ? s->tile_h : oh;
    *tile_w = s->tile_w;
    *n_tiles = s->tiles_y * s->tiles_x;
}

/* Tensor t's buffer holds rows [req.y0, req.y0 + rows[t]) of the strip's
** columns, planes rows[t] * w apart. */
static view arena_view(const fcn_session *s, int t)
{
    rect r = s->req[t];
    shape sh = s->shapes[t];
    view v = {s->mem + s->offset[t], sh.c, r.y0, r.x0, r.h, r.w, sh.h, sh.w,
              r.w, (int64_t)s->rows[t] * r.w};
    return v;
}

/* Before tensor t gets the strip's new rows: move the rows it keeps (those
** of the previous strip that this strip's window still covers) to the top
** of each plane. The band is fixed, so the columns are the same. Returns
** the first row to compute. */
static int keep_rows(fcn_session *s, int t)
{
    rect r = s->req[t];
    const int old_y0 = s->prev[t].y0;
    int done = s->have[t];
    if (done <= r.y0)
        return r.y0;
    if (r.y0 > old_y0) {
        view v = arena_view(s, t);
        size_t n = (size_t)(done - r.y0) * r.w;
        for (int c = 0; c < v.c; c++)
            memmove(v.p + c * v.ps,
                    v.p + c * v.ps + (int64_t)(r.y0 - old_y0) * r.w,
                    n * sizeof(float));
    }
    return done;
}

/* Compute the current strip: for each layer the rows of its window not
** computed yet. */
static void run_strip(fcn_session *s, const void *src, int image)
{
    const fcn_model *m = s->m;
    const int T = s->threads;
    float *ws = s->mem + s->arena_floats;
    view in0;
    if (image) {  /* the input slot: keep rows, preprocess the new ones */
        int r0 = keep_rows(s, 0);
        in0 = arena_view(s, 0);
        rect r = s->req[0];
        if (r.y0 + r.h > r0) {
            view nv = in0;
            nv.p += (int64_t)(r0 - r.y0) * r.w;
            image_preprocess(m, src, r0, r.x0, r.y0 + r.h - r0, r.w, nv.p,
                             nv.ps);
        }
        s->have[0] = r.y0 + r.h;
    } else {      /* a float input is read in place */
        rect r = s->req[0];
        const shape sh = s->shapes[0];
        in0 = (view){(float *)src + (int64_t)r.y0 * sh.w + r.x0, sh.c, r.y0,
                     r.x0, r.h, r.w, sh.h, sh.w, sh.w, (int64_t)sh.h * sh.w};
    }
    for (int i = 0; i < m->n_nodes; i++) {
        const node *n = &m->nodes[i];
        const int t = n->out;
        rect r = s->req[t];
        if (r.h <= 0 || r.w <= 0)
            continue;
        int r0 = keep_rows(s, t);
        s->have[t] = r.y0 + r.h;
        if (r0 >= r.y0 + r.h)
            continue;
        view in[FCN_MAX_INPUTS];
        for (int j = 0; j < n->n_in; j++)
            in[j] = n->in[j] == 0 ? in0 : arena_view(s, n->in[j]);
        view y = arena_view(s, t);  /* the new rows only */
        y.p += (int64_t)(r0 - r.y0) * r.w;
        y.h = r.y0 + r.h - r0;
        y.y0 = r0;
        double t0 = omp_get_wtime();
        switch (n->op) {
        case OP_CONV: {
            conv_plan p;
            conv_plan_window(n, y.h, y.w, T, &p);
            conv_forward(n, &p, &in[0], &y, ws, T);
            break;
        }
        case OP_MAXPOOL:
        case OP_AVGPOOL:
            pool_forward(n, n->op == OP_MAXPOOL, &in[0], &y, T);
            break;
        case OP_ACT:
            act_forward(&n->act, &in[0], &y, T);
            break;
        case OP_BN:
            bn_forward(n, &in[0], &y, T);
            break;
        case OP_LRN:
            lrn_forward(n, &in[0], &y, T);
            break;
        case OP_ADD:
            add_forward(&n->act, in, n->n_in, &y, T);
            break;
        case OP_CONCAT:
            for (int j = 0, c0 = 0; j < n->n_in; c0 += in[j].c, j++)
                copy_window(&in[j], &y, c0, T);
            break;
        case OP_PAD:
            pad_forward(n, &in[0], &y, T);
            break;
        case OP_SOFTMAX:
            softmax_forward(&in[0], &y, T);
            break;
        case OP_DENSE:
        case OP_FLATTEN:
        case OP_GAP:
        case OP_GMP:
        case OP_IDENTITY:
            break;  /* converted away at load */
        }
        s->seconds[i] += omp_get_wtime() - t0;
        if (t == m->out_tensor) {  /* the new cells into the score map */
            shape os = s->shapes[t];
            view whole = {s->scores + (int64_t)y.y0 * os.w + y.x0, os.c,
                          y.y0, y.x0, y.h, y.w, os.h, os.w, os.w,
                          (int64_t)os.h * os.w};
            copy_window(&y, &whole, 0, T);
        }
    }
}

static fcn_status run(fcn_session *s, const void *src, int image,
                      fcn_scores *out)
{
    const fcn_model *m = s->m;
    /* OpenMP OpenBLAS sizes its own team from this ICV when it is called
    ** outside an active parallel region: keep it at ours. */
    int saved = omp_get_max_threads();
    omp_set_num_threads(s->threads);
    memset(s->seconds, 0, sizeof(double) * m->n_nodes);
    for (int tx = 0; tx < s->tiles_x; tx++) {
        band_cols(s, s->tile_w, tx, s->cols);
        for (int t = 0; t < m->n_tensors; t++) {
            s->have[t] = 0;
            s->prev[t] = (rect){0, 0, 0, 0};
        }
        for (int ty = 0; ty < s->tiles_y; ty++) {
            strip_rects(s, (ty + 1) * s->step, s->cols, s->prev, s->req);
            run_strip(s, src, image);
            memcpy(s->prev, s->req, sizeof(rect) * m->n_tensors);
        }
    }
    omp_set_num_threads(saved);
    if (out)
        fcn_session_shape(s, out);
    return FCN_OK;
}

fcn_status fcn_session_run(fcn_session *s, const float *input, fcn_scores *out)
{
    if (!s || !input)
        return fcn_error(FCN_ERR_ARG, "fcn_session_run: NULL argument");
    return run(s, input, 0, out);
}

fcn_status fcn_session_run_image(fcn_session *s, const fcn_image *img,
                                 fcn_scores *out)
{
    if (!s || !img || !img->pixels)
        return fcn_error(FCN_ERR_ARG, "fcn_session_run_image: NULL argument");
    if (img->h != s->h || img->w != s->w || img->c != s->m->in_c)
        return fcn_error(FCN_ERR_ARG, "image %dx%dx%d does not match the "
                         "session's %dx%dx%d (WxHxC)", img->w, img->h, img->c,
                         s->w, s->h, s->m->in_c);
    return run(s, img, 1, out);
}

int fcn_session_layers(const fcn_session *s, fcn_layer_stats *out, int max)
{
    const fcn_model *m = s->m;
    for (int i = 0; i < m->n_nodes && out && i < max; i++) {
        const node *n = &m->nodes[i];
        shape is = s->shapes[n->in[0]], os = s->shapes[n->out];
        fcn_layer_stats *l = &out[i];
        memset(l, 0, sizeof *l);
        l->name = n->name;
        l->op = n->opname;
        l->in_c = is.c; l->in_h = is.h; l->in_w = is.w;
        l->out_c = os.c; l->out_h = os.h; l->out_w = os.w;
        l->seconds = s->seconds[i];
        if (n->op == OP_CONV || n->op == OP_MAXPOOL || n->op == OP_AVGPOOL) {
            l->kh = n->kh; l->kw = n->kw;
            l->stride_h = n->sh; l->stride_w = n->sw;
            l->groups = n->op == OP_CONV ? n->groups : 1;
        }
        if (n->op == OP_CONV) {
            conv_plan whole;
            conv_plan_make(n, is.h, is.w, s->threads, &whole);
            l->gemm_m = n->cout / n->groups;
            l->gemm_n = whole.N;
            l->gemm_k = whole.K;
            l->flops = 2.0 * n->cout * (double)whole.N * whole.K;
            l->im2col_bytes = 4.0 * s->conv[i].ws_floats;
        }
    }
    return m->n_nodes;
}
