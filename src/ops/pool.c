/*
** pool.c: pooling: MaxPool and AvgPool windows, and the global pools.
**
** At load (docs/conversion.md) a global pool becomes a pool with the
** trained map's window and stride 1, so every score-map cell equals the
** classifier on its crop (or, with FCN_GAP_LOCAL, nothing: the finer
** per-location map); a MaxPool/AvgPool whose window covers the whole
** trained map is a global pool in disguise and is converted the same way.
*/
#include <math.h>
#include <stdio.h>

#include "ops/op.h"

typedef struct pool_param {
    win2d win;              /* dilation 1 */
    int ceil_mode, count_include_pad;
} pool_param;

static fcn_status pool_parse(op_parse *c, node *n)
{
    pool_param *p = n->param;
    attr_window(c, &p->win, 0);
    p->win.dh = p->win.dw = 1;
    attr_ints(c, "ceil_mode", 1, &p->ceil_mode, 0);
    p->count_include_pad = 1;
    if (n->op == OP_AVGPOOL)
        attr_ints(c, "count_include_pad", 1, &p->count_include_pad, 0);
    return FCN_OK;
}

static int pool_infer(const node *n, const shape *const *in, shape *out,
                      char *msg, size_t msz)
{
    const pool_param *p = n->param;
    const win2d *w = &p->win;
    const shape a = *in[0];
    *out = a;
    out->h = win_out(a.h, w->kh, w->sh, 1, w->pt, w->pb, p->ceil_mode);
    out->w = win_out(a.w, w->kw, w->sw, 1, w->pl, w->pr, p->ceil_mode);
    if (out->h < 1 || out->w < 1) {
        snprintf(msg, msz, "%dx%d window does not fit its %dx%d input "
                 "(padding %d,%d,%d,%d)", w->kh, w->kw, a.h, a.w, w->pt,
                 w->pl, w->pb, w->pr);
        return 0;
    }
    return 1;
}

static void pool_window(const node *n, int axis, int *k, int *s, int *d,
                        int *p)
{
    win2d_axis(&((const pool_param *)n->param)->win, axis, k, s, d, p);
}

/* A global pool (or one in disguise) as a window of the trained map with
** stride 1, or removed (per location, or a map of one pixel). */
static fcn_status global_to_window(const op_convert *c, node *n, int max)
{
    pool_param *p = n->param;
    const shape in = c->in[0];
    if (c->opt->gap_mode == FCN_GAP_LOCAL || (in.h == 1 && in.w == 1)) {
        n->alias = 1;
        return FCN_OK;
    }
    n->label = max ? "global max pool as window" : "global avg pool as window";
    n->op = max ? OP_MAXPOOL : OP_AVGPOOL;
    p->win = (win2d){in.h, in.w, 1, 1, 1, 1, 0, 0, 0, 0};
    p->ceil_mode = 0;
    p->count_include_pad = 1;
    return FCN_OK;
}

/* A window covering the whole trained map is a global pool. */
static fcn_status pool_to_fcn(const op_convert *c, node *n)
{
    const pool_param *p = n->param;
    const win2d *w = &p->win;
    const shape in = c->in[0], out = c->out;
    if (out.h == 1 && out.w == 1 && w->kh == in.h && w->kw == in.w &&
        !w->pt && !w->pl && !w->pb && !w->pr && (in.h > 1 || in.w > 1))
        return global_to_window(c, n, n->op == OP_MAXPOOL);
    return FCN_OK;
}

/* Max over whole windows inside the map, for one output row: one pass per
** window element across the row (the same comparisons as the general loop,
** so the same result, NaN included). Returns the columns done, [*a, *b). */
static void max_row(const pool_param *p, const view *in, const view *out,
                    const float *x, int ha, int hb, float *y, int *a, int *b)
{
    const int sw = p->win.sw, kw = p->win.kw, W = in->W;
    int oxa = 0, oxb;
    while (oxa < out->w && (out->x0 + oxa) * sw - p->win.pl < 0)
        oxa++;
    oxb = oxa;
    while (oxb < out->w && (out->x0 + oxb) * sw - p->win.pl + kw <= W)
        oxb++;
    for (int ox = oxa; ox < oxb; ox++)
        y[ox] = -INFINITY;
    for (int yy = ha; yy < hb; yy++) {
        const float *row = x + (int64_t)(yy - in->y0) * in->rs - in->x0 +
                           (int64_t)out->x0 * sw - p->win.pl;
        for (int kx = 0; kx < kw; kx++)
            for (int ox = oxa; ox < oxb; ox++) {
                float v = row[ox * sw + kx];
                y[ox] = v > y[ox] ? v : y[ox];
            }
    }
    *a = oxa;
    *b = oxb;
}

/* One output row of channel plane x (rows [h0, h1) of the padded window,
** [ha, hb) of them inside the map, hp its padded end). */
static void pool_row(const pool_param *p, int max, const view *in,
                     const view *out, const float *x, int h0, int hp, int ha,
                     int hb, float *y)
{
    const win2d *w = &p->win;
    const int W = in->W;
    int oxa = 0, oxb = 0;
    if (max && ha < hb)
        max_row(p, in, out, x, ha, hb, y, &oxa, &oxb);
    for (int ox = 0; ox < out->w; ox++) {
        if (ox == oxa && oxb > oxa) {
            ox = oxb - 1;
            continue;
        }
        int w0 = (out->x0 + ox) * w->sw - w->pl, w1 = w0 + w->kw;
        int wp = w1 < W + w->pr ? w1 : W + w->pr;
        int wa = w0 < 0 ? 0 : w0, wb = w1 < W ? w1 : W;
        float r;
        if (max) {
            r = -INFINITY;
            for (int yy = ha; yy < hb; yy++) {
                const float *row = x + (int64_t)(yy - in->y0) * in->rs - in->x0;
                for (int xx = wa; xx < wb; xx++)
                    r = row[xx] > r ? row[xx] : r;
            }
        } else {
            float s = 0.0f;
            for (int yy = ha; yy < hb; yy++) {
                const float *row = x + (int64_t)(yy - in->y0) * in->rs - in->x0;
                for (int xx = wa; xx < wb; xx++)
                    s += row[xx];
            }
            int cnt = p->count_include_pad ? (hp - h0) * (wp - w0)
                                           : (hb - ha) * (wb - wa);
            r = cnt > 0 ? s / (float)cnt : 0.0f;
        }
        y[ox] = r;
    }
}

static void pool_forward(const node *n, const op_run *r, par *pr)
{
    const pool_param *p = n->param;
    const win2d *w = &p->win;
    const view *in = &r->in[0], *out = r->out;
    const int H = in->H, max = n->op == OP_MAXPOOL;
    int64_t c0, c1;
    par_range(pr, out->c, &c0, &c1);
    for (int c = (int)c0; c < c1; c++) {
        const float *x = in->p + (int64_t)c * in->ps;
        for (int oy = 0; oy < out->h; oy++) {
            int h0 = (out->y0 + oy) * w->sh - w->pt, h1 = h0 + w->kh;
            int hp = h1 < H + w->pb ? h1 : H + w->pb;  /* padded end */
            int ha = h0 < 0 ? 0 : h0, hb = h1 < H ? h1 : H;
            pool_row(p, max, in, out, x, h0, hp, ha, hb, view_row(out, c, oy));
        }
    }
}

static void pool_describe(const node *n, char *buf, size_t size)
{
    const win2d *w = &((const pool_param *)n->param)->win;
    snprintf(buf, size, " %dx%d/%d", w->kh, w->kw, w->sh);
}

static void pool_stats(const node *n, shape in, fcn_layer_stats *st)
{
    (void)in;
    const win2d *w = &((const pool_param *)n->param)->win;
    st->kh = w->kh;
    st->kw = w->kw;
    st->stride_h = w->sh;
    st->stride_w = w->sw;
    st->groups = 1;
}

#define POOL_DEF                                                             \
    .min_in = 1, .max_in = 1, .param_size = sizeof(pool_param),              \
    .parse = pool_parse, .infer = pool_infer, .window = pool_window,         \
    .to_fcn = pool_to_fcn, .forward = pool_forward,                          \
    .describe = pool_describe, .stats = pool_stats

const op_def op_maxpool = {POOL_DEF};
const op_def op_avgpool = {POOL_DEF};

/* ---- global pools: always converted at load ---- */

static int gpool_infer(const node *n, const shape *const *in, shape *out,
                       char *msg, size_t msz)
{
    (void)n;
    (void)msg;
    (void)msz;
    *out = (shape){in[0]->c, 1, 1};
    return 1;
}

static fcn_status gpool_to_fcn(const op_convert *c, node *n)
{
    return global_to_window(c, n, n->op == OP_GMP);
}

#define GPOOL_DEF                                                            \
    .min_in = 1, .max_in = 1, .param_size = sizeof(pool_param),              \
    .infer = gpool_infer, .to_fcn = gpool_to_fcn

const op_def op_gap = {GPOOL_DEF};
const op_def op_gmp = {GPOOL_DEF};
