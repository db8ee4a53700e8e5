/*
** session.c: the plan for one input size, and the run loop.
**
** A session runs the network on spatial tiles of the score map, so that
** memory is bounded by the tile, not by the photo: for a tile of output
** cells, the window each tensor must provide is propagated backwards
** through the graph (a window op with kernel k, stride s, padding p needs
** input rows [o0*s - p, (o1-1)*s - p + k) clipped to the map), every layer
** computes just its window, and padding applies only at the true border of
** each map. The tiled score map therefore equals the untiled one. When the
** whole map fits the memory limit there is a single tile.
**
** Per tensor, the arena holds the largest window over all tiles; tensors
** share arena space by liveness (first fit). One allocation per session;
** run never allocates.
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
    int tile_h, tile_w;   /* score-map cells per tile */
    int tiles_y, tiles_x;
    rect *req;            /* per tensor: its window for the current tile */
    size_t *cap;          /* per tensor: largest window, in floats */
    size_t *offset;       /* per tensor, in floats, into mem */
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
    fcn_free(s->req);
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

/* Windows of every tensor for tile (ty, tx) of th x tw score-map cells. */
static void tile_rects(const fcn_session *s, int th, int tw, int ty, int tx,
                       rect *req)
{
    const fcn_model *m = s->m;
    const shape out = s->shapes[m->out_tensor];
    memset(req, 0, sizeof(rect) * m->n_tensors);
    rect *o = &req[m->out_tensor];
    o->y0 = ty * th;
    o->x0 = tx * tw;
    o->h = out.h - o->y0 < th ? out.h - o->y0 : th;
    o->w = out.w - o->x0 < tw ? out.w - o->x0 : tw;
    for (int i = m->n_nodes - 1; i >= 0; i--) {
        const node *n = &m->nodes[i];
        rect r = req[n->out];
        if (r.h <= 0 || r.w <= 0)
            continue;  /* nothing downstream needs it */
        for (int j = 0; j < n->n_in; j++) {
            shape is = s->shapes[n->in[j]];
            rect q = r;
            int y0, y1, x0, x1;
            if (n->op == OP_CONV || n->op == OP_MAXPOOL ||
                n->op == OP_AVGPOOL) {
                int conv = n->op == OP_CONV;
                need_axis(r.y0, r.y0 + r.h, n->kh, n->sh, conv ? n->dh : 1,
                          n->pt, is.h, &y0, &y1);
                need_axis(r.x0, r.x0 + r.w, n->kw, n->sw, conv ? n->dw : 1,
                          n->pl, is.w, &x0, &x1);
                q = (rect){y0, x0, y1 - y0, x1 - x0};
            } else if (n->op == OP_PAD) {
                need_axis(r.y0, r.y0 + r.h, 1, 1, 1, n->pt, is.h, &y0, &y1);
                need_axis(r.x0, r.x0 + r.w, 1, 1, 1, n->pl, is.w, &x0, &x1);
                q = (rect){y0, x0, y1 - y0, x1 - x0};
            }
            if (q.h > 0 && q.w > 0)
                req[n->in[j]] = rect_union(req[n->in[j]], q);
        }
    }
}

/* Plan th x tw tiles: per-tensor capacities, arena layout by liveness,
** workspace. Returns the bytes of arena + workspace, or 0 on OOM. */
static size_t plan_tiles(fcn_session *s, int th, int tw)
{
    const fcn_model *m = s->m;
    const shape out = s->shapes[m->out_tensor];
    const int nt = m->n_tensors;
    s->tile_h = th;
    s->tile_w = tw;
    s->tiles_y = (out.h + th - 1) / th;
    s->tiles_x = (out.w + tw - 1) / tw;
    memset(s->cap, 0, sizeof(size_t) * nt);
    s->ws_floats = 0;
    for (int ty = 0; ty < s->tiles_y; ty++)
        for (int tx = 0; tx < s->tiles_x; tx++) {
            tile_rects(s, th, tw, ty, tx, s->req);
            for (int t = 0; t < nt; t++) {
                size_t f = round16((size_t)s->shapes[t].c * s->req[t].h *
                                   s->req[t].w);
                if (f > s->cap[t])
                    s->cap[t] = f;
            }
            for (int i = 0; i < m->n_nodes; i++) {
                const node *n = &m->nodes[i];
                rect r = s->req[n->out];
                if (n->op != OP_CONV || r.h <= 0 || r.w <= 0)
                    continue;
                conv_plan p;
                conv_plan_window(n, r.h, r.w, s->threads, &p);
                if (ty == 0 && tx == 0)
                    s->conv[i] = p;
                if (p.ws_floats > s->ws_floats)
                    s->ws_floats = p.ws_floats;
            }
        }
    /* Liveness: a tensor is free after its last reader; the input slot
    ** (images are preprocessed into it tile by tile) lives until its last
    ** reader too. First fit among the live tensors. */
    int *last = fcn_malloc(sizeof(int) * nt), *live = fcn_malloc(sizeof(int) * nt);
    if (!last || !live) {
        fcn_free(last);
        fcn_free(live);
        return 0;
    }
    for (int t = 0; t < nt; t++)
        last[t] = t - 1;
    for (int i = 0; i < m->n_nodes; i++)
        for (int j = 0; j < m->nodes[i].n_in; j++)
            if (last[m->nodes[i].in[j]] < i)
                last[m->nodes[i].in[j]] = i;
    last[m->out_tensor] = m->n_nodes;
    int n_live = 0;
    size_t top = 0;
    for (int i = -1; i < m->n_nodes; i++) {
        int t = i < 0 ? 0 : m->nodes[i].out;
        size_t need = s->cap[t], best = (size_t)-1;
        for (int k = -1; k < n_live; k++) {
            size_t o = k < 0 ? 0 : s->offset[live[k]] + s->cap[live[k]];
            int ok = 1;
            for (int q = 0; q < n_live && ok; q++) {
                size_t a = s->offset[live[q]], b = a + s->cap[live[q]];
                ok = o + need <= a || o >= b;
            }
            if (ok && o < best)
                best = o;
        }
        s->offset[t] = best;
        if (best + need > top)
            top = best + need;
        live[n_live++] = t;
        int k = 0;
        for (int q = 0; q < n_live; q++)
            if (last[live[q]] > i)
                live[k++] = live[q];
        n_live = k;
    }
    fcn_free(last);
    fcn_free(live);
    s->arena_floats = top;
    return (top + round16(s->ws_floats)) * sizeof(float);
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
    s->req = fcn_malloc(sizeof(rect) * nt);
    s->cap = fcn_calloc(nt, sizeof(size_t));
    s->offset = fcn_calloc(nt, sizeof(size_t));
    s->conv = fcn_calloc(m->n_nodes, sizeof(conv_plan));
    s->seconds = fcn_calloc(m->n_nodes, sizeof(double));
    fcn_status st;
    if (!s->shapes || !s->req || !s->cap || !s->offset || !s->conv ||
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
    size_t bytes;
    if (o.tile) {
        bytes = plan_tiles(s, o.tile < os.h ? o.tile : os.h,
                           o.tile < os.w ? o.tile : os.w);
    } else if ((bytes = plan_tiles(s, os.h, os.w)) > limit) {
        /* the largest square tile of score-map cells that fits */
        int lo = 1, hi = os.h > os.w ? os.h : os.w;
        while (lo < hi) {
            int mid = lo + (hi - lo + 1) / 2;
            size_t b = plan_tiles(s, mid < os.h ? mid : os.h,
                                  mid < os.w ? mid : os.w);
            if (b && b <= limit)
                lo = mid;
            else
                hi = mid - 1;
        }
        bytes = plan_tiles(s, lo < os.h ? lo : os.h, lo < os.w ? lo : os.w);
        if (bytes > limit) {
            st = fcn_error(FCN_ERR_NOMEM, "memory limit %.0f MB is too small:"
                           " one score-map cell needs %.0f MB of activations "
                           "and workspace", limit / 1e6, bytes / 1e6);
            goto fail;
        }
    }
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
    return (s->arena_floats + round16(s->ws_floats)) * sizeof(float);
}

void fcn_session_tiles(const fcn_session *s, int *tile_h, int *tile_w,
                       int *n_tiles)
{
    *tile_h = s->tile_h;
    *tile_w = s->tile_w;
    *n_tiles = s->tiles_y * s->tiles_x;
}

/* The arena view of tensor t's window in the current tile. */
static view arena_view(const fcn_session *s, int t)
{
    rect r = s->req[t];
    shape sh = s->shapes[t];
    view v = {s->mem + s->offset[t], sh.c, r.y0, r.x0, r.h, r.w, sh.h, sh.w,
              r.w, (int64_t)r.h * r.w};
    return v;
}

/* Run every layer on the current tile; in0 is the input's window. */
static void run_tile(fcn_session *s, const view *in0)
{
    const fcn_model *m = s->m;
    const int T = s->threads;
    float *ws = s->mem + s->arena_floats;
    for (int i = 0; i < m->n_nodes; i++) {
        const node *n = &m->nodes[i];
        if (s->req[n->out].h <= 0 || s->req[n->out].w <= 0)
            continue;
        view in[FCN_MAX_INPUTS];
        for (int j = 0; j < n->n_in; j++)
            in[j] = n->in[j] == 0 ? *in0 : arena_view(s, n->in[j]);
        view y = arena_view(s, n->out);
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
            add_forward(in, n->n_in, &y, T);
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
    }
    /* the tile's cells into the score map */
    view o = arena_view(s, m->out_tensor);
    shape os = s->shapes[m->out_tensor];
    view whole = {s->scores + (int64_t)o.y0 * os.w + o.x0, os.c, o.y0, o.x0,
                  o.h, o.w, os.h, os.w, os.w, (int64_t)os.h * os.w};
    copy_window(&o, &whole, 0, T);
}

typedef void (*input_fn)(const fcn_session *s, const void *src, view *v);

static fcn_status run(fcn_session *s, const void *src, input_fn input,
                      fcn_scores *out)
{
    const fcn_model *m = s->m;
    /* OpenMP OpenBLAS sizes its own team from this ICV when it is called
    ** outside an active parallel region: keep it at ours. */
    int saved = omp_get_max_threads();
    omp_set_num_threads(s->threads);
    memset(s->seconds, 0, sizeof(double) * m->n_nodes);
    for (int ty = 0; ty < s->tiles_y; ty++)
        for (int tx = 0; tx < s->tiles_x; tx++) {
            tile_rects(s, s->tile_h, s->tile_w, ty, tx, s->req);
            view in0;
            input(s, src, &in0);
            run_tile(s, &in0);
        }
    omp_set_num_threads(saved);
    if (out)
        fcn_session_shape(s, out);
    return FCN_OK;
}

/* A float input: the tile's window read in place. */
static void float_input(const fcn_session *s, const void *src, view *v)
{
    rect r = s->req[0];
    const shape sh = s->shapes[0];
    *v = (view){(float *)src + (int64_t)r.y0 * sh.w + r.x0, sh.c, r.y0, r.x0,
                r.h, r.w, sh.h, sh.w, sh.w, (int64_t)sh.h * sh.w};
}

/* An 8-bit image: the tile's window preprocessed into the input slot. */
static void image_input(const fcn_session *s, const void *src, view *v)
{
    *v = arena_view(s, 0);
    image_preprocess(s->m, src, v->y0, v->x0, v->h, v->w, v->p);
}

fcn_status fcn_session_run(fcn_session *s, const float *input, fcn_scores *out)
{
    if (!s || !input)
        return fcn_error(FCN_ERR_ARG, "fcn_session_run: NULL argument");
    return run(s, input, float_input, out);
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
    return run(s, img, image_input, out);
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
