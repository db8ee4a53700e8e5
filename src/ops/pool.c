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
#include <string.h>

#include "ops/op.h"

typedef struct pool_param {
    win2d win;              /* dilation 1 but after the a-trous rewrite
                               (fcn_options.stride_divisor) */
    int ceil_mode, count_include_pad;
    /* ceil mode after the a-trous rewrite: the stride and kernel as the
    ** network had them, in this map's pixels (0: not rewritten) */
    int ceil_s[2], ceil_k[2];
    int c;                  /* channels (set at load; 0: unknown) */
} pool_param;

static fcn_status pool_parse(op_parse *c, node *n)
{
    pool_param *p = n->param;
    attr_window(c, &p->win, 0);
    p->win.dh = p->win.dw = 1;
    p->ceil_mode = attr_flag(c, "ceil_mode", 0);
    p->count_include_pad = 1;
    if (n->op == OP_AVGPOOL)
        p->count_include_pad = attr_flag(c, "count_include_pad", 1);
    return c->st;
}

/* Outputs along an axis of n inputs of a ceil-mode pool made denser (the
** a-trous rewrite): those of the network's ceil mode on every phase of
** the map, interleaved. Output v starts at v*s - pa (s, pa, pb as
** rewritten); it exists when the network's pool on the phase it reads
** would have it: a start before the input's end plus the leading
** padding, and before its end plus both paddings plus (stride - kernel)
** as the network had them (ceil_s, ceil_k, in this map's pixels). */
static int ceil_out(const pool_param *p, int axis, int n)
{
    int k, s, d, pa;
    win2d_axis(&p->win, axis, &k, &s, &d, &pa);
    const int64_t pb = axis ? p->win.pr : p->win.pb,
                  e1 = (int64_t)n + pa,
                  e2 = (int64_t)n + pa + pb + p->ceil_s[axis] -
                       p->ceil_k[axis],
                  e = e1 < e2 ? e1 : e2;  /* v*s < e */
    return e <= 0 ? 0 : (int)((e + s - 1) / s);
}

static int pool_infer(const node *n, const shape *const *in, shape *out,
                      char *msg, size_t msz)
{
    const pool_param *p = n->param;
    const win2d *w = &p->win;
    const shape a = *in[0];
    *out = a;
    out->h = p->ceil_s[0] ? ceil_out(p, 0, a.h)
                          : win_out(a.h, w->kh, w->sh, w->dh, w->pt, w->pb,
                                    p->ceil_mode);
    out->w = p->ceil_s[1] ? ceil_out(p, 1, a.w)
                          : win_out(a.w, w->kw, w->sw, w->dw, w->pl, w->pr,
                                    p->ceil_mode);
    if (out->h < 1 || out->w < 1) {
        snprintf(msg, msz, "%lldx%lld window does not fit its %dx%d input "
                 "(padding %d,%d,%d,%d)", (long long)(w->kh - 1) * w->dh + 1,
                 (long long)(w->kw - 1) * w->dw + 1, a.h, a.w, w->pt, w->pl,
                 w->pb, w->pr);
        return 0;
    }
    return 1;
}

static void pool_window(const node *n, int axis, int *k, int *s, int *d,
                        int *p)
{
    win2d_axis(&((const pool_param *)n->param)->win, axis, k, s, d, p);
}

static void pool_densify(node *n, int axis, int dense, int f)
{
    pool_param *p = n->param;
    int k, s, d, pa;
    win2d_axis(&p->win, axis, &k, &s, &d, &pa);
    if (p->ceil_mode && s > 1) {  /* pools have dilation 1 until now */
        p->ceil_s[axis] = s * dense;
        p->ceil_k[axis] = k * dense;
    }
    win2d_densify(&p->win, axis, dense, f);
}

/* A global pool (or one in disguise) as a window of the trained map with
** stride 1, or removed (per location, or a map of one pixel). */
static fcn_status global_to_window(const op_convert *c, node *n, int max)
{
    pool_param *p = n->param;
    const shape in = c->in[0];
    p->c = in.c;
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
    pool_param *p = n->param;
    const win2d *w = &p->win;
    const shape in = c->in[0], out = c->out;
    p->c = in.c;  /* for the work estimate of plan */
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

/* Taps i of [0, k) of a dilated window from u (step d) with u + i*d in
** [0, end): *i0 .. *i1 - 1. */
static void taps(int64_t u, int k, int d, int64_t end, int *i0, int *i1)
{
    int64_t a = u < 0 ? (-u + d - 1) / d : 0,
            b = end > u ? (end - u + d - 1) / d : 0;
    *i0 = (int)(a < k ? a : k);
    *i1 = (int)(b < k ? b : k);
}

/* A dilated pool (after the a-trous rewrite): the direct loop over the
** taps, in row-major order as the loops above (the same max, NaN
** included); the average counts the taps inside the map, or with
** count_include_pad those inside the padded map. */
static void pool_dilated(const pool_param *p, int max, const view *in,
                         const view *out, par *pr)
{
    const win2d *w = &p->win;
    int64_t c0, c1;
    par_range(pr, out->c, &c0, &c1);
    for (int c = (int)c0; c < c1; c++)
        for (int oy = 0; oy < out->h; oy++) {
            const int64_t h0 = (int64_t)(out->y0 + oy) * w->sh - w->pt;
            int ya, yb, yp, xa, xb, xp, t;
            taps(h0, w->kh, w->dh, in->H, &ya, &yb);
            taps(h0, w->kh, w->dh, (int64_t)in->H + w->pb, &t, &yp);
            float *y = view_row(out, c, oy);
            for (int ox = 0; ox < out->w; ox++) {
                const int64_t w0 = (int64_t)(out->x0 + ox) * w->sw - w->pl;
                taps(w0, w->kw, w->dw, in->W, &xa, &xb);
                taps(w0, w->kw, w->dw, (int64_t)in->W + w->pr, &t, &xp);
                float r = max ? -INFINITY : 0.0f;
                for (int ky = ya; ky < yb; ky++) {
                    const float *row = in->p + (int64_t)c * in->ps +
                                       (h0 + (int64_t)ky * w->dh - in->y0) *
                                           in->rs + w0 - in->x0;
                    for (int kx = xa; kx < xb; kx++) {
                        const float v = row[(int64_t)kx * w->dw];
                        r = max ? (v > r ? v : r) : r + v;
                    }
                }
                if (!max) {
                    const int cnt = p->count_include_pad ? yp * xp
                                                         : (yb - ya) * (xb - xa);
                    r = cnt > 0 ? r / (float)cnt : 0.0f;
                }
                y[ox] = r;
            }
        }
}

/* ---- large windows: separable, work independent of the window ----
**
** Above POOL_BIG_TAPS taps a window is pooled as a pass along each input
** row (into R: one value per input row and output column) and a pass down
** the columns of R. Each pass is van Herk / Gil-Werman's: the axis is cut
** into blocks of k (the window's size) on the map's grid (block j starts at
** j*k - pad), so a window (at most k long) meets at most two blocks and is
** the suffix S of the first (computed backwards, up front) and the prefix P
** of the second (running forwards): a few operations per element and pass,
** whatever the window. Max is exact and ties resolve as in the direct loop
** (the first in row-major order: S keeps the earlier of equals, P only a
** larger value, S wins ties; NaN is skipped), so results equal the direct
** loop's bit for bit, +0/-0 included. Sums are in double over at most two
** blocks next to the window: they differ from the direct float sum by
** rounding only, and as the blocks sit on the map's grid every output is
** summed in the same order whatever the tiling or the thread count. Pools
** of up to 64 taps (2x2, 3x3, a 7x7 global pool) keep the direct loop. */

#define POOL_BIG_TAPS 64
#define POOL_LANES 64   /* columns of R per block of the column pass */

typedef struct pool_plan {
    int big, threads;
    int64_t rows, cols, out_w;   /* what the workspace holds */
    size_t per_thread;           /* floats of one thread's workspace */
} pool_plan;

/* One axis of a window op's output window: outputs o0 .. o0+n-1 (of the
** whole map), window k, stride s, padding p before, map size N; [A, B):
** the inputs they read. */
typedef struct axis1 {
    int64_t o0, A, B;
    int n, k, s, p, N;
} axis1;

static axis1 axis_make(int o0, int n, int k, int s, int p, int N)
{
    axis1 g = {o0, 0, 0, n, k, s, p, N};
    int64_t u0 = (int64_t)o0 * s - p, u1 = (int64_t)(o0 + n - 1) * s - p + k;
    g.A = u0 < 0 ? 0 : u0;
    g.B = u1 < N ? u1 : N;
    return g;
}

/* Output j's inputs [*a, *b), clipped to the map. */
static void axis_win(const axis1 *g, int j, int64_t *a, int64_t *b)
{
    int64_t u = (g->o0 + j) * g->s - g->p;
    *a = u < 0 ? 0 : u;
    *b = u + g->k < g->N ? u + g->k : g->N;
}

/* Start of the block of input i (i >= 0, so i + p >= 0). */
static int64_t axis_block(const axis1 *g, int64_t i)
{
    return (i + g->p) / g->k * g->k - g->p;
}

/* How window [a, b) is made: 2: S[a] then P[b-1] (it meets two blocks);
** 1: P[b-1] (it begins its block, or the map); 0: S[a] (it ends its block
** or the map: a window of k that begins neither inside a block ends it). */
static int axis_case(const axis1 *g, int64_t a, int64_t b)
{
    int64_t bs = axis_block(g, a);
    if (axis_block(g, b - 1) != bs)
        return 2;
    return a == (bs > 0 ? bs : 0) ? 1 : 0;
}

/* Divisor of output j along the axis: with count_include_pad the window
** clipped to the padded map (pe: padding after), else to the map. */
static double axis_count(const axis1 *g, int j, int pe, int cip)
{
    int64_t u = (g->o0 + j) * g->s - g->p, a, b;
    if (cip) {
        b = u + g->k < (int64_t)g->N + pe ? u + g->k : (int64_t)g->N + pe;
        return (double)(b - u);
    }
    axis_win(g, j, &a, &b);
    return (double)(b - a);
}

/* Row pass of max: x[i - A] is input i of the row; y[j] output j; s: B - A
** floats. */
static void max_line(const axis1 *g, const float *x, float *s, float *y)
{
    const int64_t A = g->A, B = g->B;
    for (int64_t e = B; e > A;) {
        int64_t lo = axis_block(g, e - 1);
        lo = lo > A ? lo : A;
        float m = -INFINITY;
        for (int64_t i = e - 1; i >= lo; i--) {
            m = x[i - A] >= m ? x[i - A] : m;
            s[i - A] = m;
        }
        e = lo;
    }
    int64_t i = A, nb = axis_block(g, A) + g->k;
    float P = -INFINITY;
    for (int j = 0; j < g->n; j++) {
        int64_t a, b;
        axis_win(g, j, &a, &b);
        for (; i < b; i++) {
            if (i == nb) {
                P = -INFINITY;
                nb += g->k;
            }
            P = x[i - A] > P ? x[i - A] : P;
        }
        if (a >= b) {
            y[j] = -INFINITY;
            continue;
        }
        const int c = axis_case(g, a, b);
        const float S = s[a - A];
        y[j] = c == 2 ? (P > S ? P : S) : c == 1 ? P : S;
    }
}

/* Row pass of sums, in double. */
static void sum_line(const axis1 *g, const float *x, double *s, double *y)
{
    const int64_t A = g->A, B = g->B;
    for (int64_t e = B; e > A;) {
        int64_t lo = axis_block(g, e - 1);
        lo = lo > A ? lo : A;
        double m = 0.0;
        for (int64_t i = e - 1; i >= lo; i--) {
            m += x[i - A];
            s[i - A] = m;
        }
        e = lo;
    }
    int64_t i = A, nb = axis_block(g, A) + g->k;
    double P = 0.0;
    for (int j = 0; j < g->n; j++) {
        int64_t a, b;
        axis_win(g, j, &a, &b);
        for (; i < b; i++) {
            if (i == nb) {
                P = 0.0;
                nb += g->k;
            }
            P += x[i - A];
        }
        if (a >= b) {
            y[j] = 0.0;
            continue;
        }
        const int c = axis_case(g, a, b);
        const double S = s[a - A];
        y[j] = c == 2 ? S + P : c == 1 ? P : S;
    }
}

/* Column pass of max over lanes [l0, l0 + nl) of R (rows B - A, ow
** apart): S (rows x nl) up front, P running; output row j at y(j) + l0. */
static void max_cols(const axis1 *g, const float *R, int64_t ow, int l0,
                     int nl, float *S, const view *out, int c)
{
    const int64_t A = g->A, B = g->B;
    for (int64_t e = B; e > A;) {
        int64_t lo = axis_block(g, e - 1);
        lo = lo > A ? lo : A;
        memcpy(S + (e - 1 - A) * nl, R + (e - 1 - A) * ow + l0,
               sizeof(float) * nl);
        for (int64_t i = e - 2; i >= lo; i--) {
            const float *r = R + (i - A) * ow + l0, *t = S + (i + 1 - A) * nl;
            float *d = S + (i - A) * nl;
            for (int l = 0; l < nl; l++)
                d[l] = r[l] >= t[l] ? r[l] : t[l];
        }
        e = lo;
    }
    float P[POOL_LANES];
    int64_t i = A, nb = axis_block(g, A) + g->k;
    for (int j = 0; j < g->n; j++) {
        int64_t a, b;
        axis_win(g, j, &a, &b);
        for (; i < b; i++) {
            const float *r = R + (i - A) * ow + l0;
            if (i == A || i == nb) {
                memcpy(P, r, sizeof(float) * nl);
                nb += i == nb ? g->k : 0;
                continue;
            }
            for (int l = 0; l < nl; l++)
                P[l] = r[l] > P[l] ? r[l] : P[l];
        }
        float *y = view_row(out, c, j) + l0;
        if (a >= b) {
            for (int l = 0; l < nl; l++)
                y[l] = -INFINITY;
            continue;
        }
        const int k = axis_case(g, a, b);
        const float *s = S + (a - A) * nl;
        for (int l = 0; l < nl; l++)
            y[l] = k == 2 ? (P[l] > s[l] ? P[l] : s[l]) : k == 1 ? P[l] : s[l];
    }
}

/* Column pass of sums, then the division: cw[l] is lane l's divisor along
** the row, the row's own along the column (pe: padding after). */
static void sum_cols(const axis1 *g, const double *R, int64_t ow, int l0,
                     int nl, double *S, const double *cw, int pe, int cip,
                     const view *out, int c)
{
    const int64_t A = g->A, B = g->B;
    for (int64_t e = B; e > A;) {
        int64_t lo = axis_block(g, e - 1);
        lo = lo > A ? lo : A;
        memcpy(S + (e - 1 - A) * nl, R + (e - 1 - A) * ow + l0,
               sizeof(double) * nl);
        for (int64_t i = e - 2; i >= lo; i--) {
            const double *r = R + (i - A) * ow + l0, *t = S + (i + 1 - A) * nl;
            double *d = S + (i - A) * nl;
            for (int l = 0; l < nl; l++)
                d[l] = r[l] + t[l];
        }
        e = lo;
    }
    double P[POOL_LANES];
    int64_t i = A, nb = axis_block(g, A) + g->k;
    for (int j = 0; j < g->n; j++) {
        int64_t a, b;
        axis_win(g, j, &a, &b);
        for (; i < b; i++) {
            const double *r = R + (i - A) * ow + l0;
            if (i == A || i == nb) {
                memcpy(P, r, sizeof(double) * nl);
                nb += i == nb ? g->k : 0;
                continue;
            }
            for (int l = 0; l < nl; l++)
                P[l] += r[l];
        }
        float *y = view_row(out, c, j) + l0;
        const double ch = axis_count(g, j, pe, cip);
        if (a >= b) {
            for (int l = 0; l < nl; l++)
                y[l] = 0.0f;
            continue;
        }
        const int k = axis_case(g, a, b);
        const double *s = S + (a - A) * nl;
        for (int l = 0; l < nl; l++) {
            double v = k == 2 ? s[l] + P[l] : k == 1 ? P[l] : s[l];
            y[l] = (float)(v / (ch * cw[l]));
        }
    }
}

/* The separable pool of one window: rows sizes checked against the plan. */
static int big_fits(const pool_plan *pp, const axis1 *gy, const axis1 *gx,
                    int out_w)
{
    return gy->B - gy->A <= pp->rows && gx->B - gx->A <= pp->cols &&
           out_w <= pp->out_w;
}

static void big_forward(const pool_param *p, int max, const pool_plan *pp,
                        const view *in, const view *out, float *ws,
                        const axis1 *gy, const axis1 *gx, par *pr)
{
    const int64_t ow = out->w, nr = gy->B - gy->A;
    const int lanes = out->w < POOL_LANES ? out->w : POOL_LANES;
    /* this thread's workspace, 64-byte aligned (16 floats of slack) */
    uintptr_t at = (uintptr_t)(ws + (size_t)pr->ith * pp->per_thread);
    float *base = (float *)((at + 63) & ~(uintptr_t)63);
    const size_t E = max ? 1 : 2;  /* floats per value */
    float *R = base, *S = R + E * nr * ow, *line = S + E * nr * lanes;
    double cw[POOL_LANES];
    int64_t c0, c1;
    par_range(pr, out->c, &c0, &c1);
    for (int c = (int)c0; c < c1; c++) {
        const float *x = in->p + (int64_t)c * in->ps;
        for (int64_t yy = gy->A; yy < gy->B; yy++) {
            const float *row = x + (yy - in->y0) * in->rs + (gx->A - in->x0);
            if (max)
                max_line(gx, row, line, R + (yy - gy->A) * ow);
            else
                sum_line(gx, row, (double *)line,
                         (double *)R + (yy - gy->A) * ow);
        }
        for (int l0 = 0; l0 < out->w; l0 += lanes) {
            const int nl = out->w - l0 < lanes ? out->w - l0 : lanes;
            if (max) {
                max_cols(gy, R, ow, l0, nl, S, out, c);
                continue;
            }
            for (int l = 0; l < nl; l++)
                cw[l] = axis_count(gx, l0 + l, p->win.pr,
                                   p->count_include_pad);
            sum_cols(gy, (const double *)R, ow, l0, nl, (double *)S, cw,
                     p->win.pb, p->count_include_pad, out, c);
        }
    }
}

/* Workspace and work of a window of out_h x out_w: the separable path
** above POOL_BIG_TAPS taps (R, S and a row of scratch per thread; rows and
** columns read at most the map's, MEM_MAX_DIM), else none. Work counts the
** direct loop's outputs, as for ops without a plan, so that the tiling of
** models with small pools stays as it was. */
static void pool_plan_op(const node *n, shape map, int out_h, int out_w,
                         int threads, op_plan *op)
{
    (void)map;
    const pool_param *p = n->param;
    const win2d *w = &p->win;
    pool_plan *pp = (pool_plan *)op->data;
    const double C = p->c > 0 ? p->c : 1;
    memset(pp, 0, sizeof *pp);
    op->ws_floats = 0;
    op->work = (double)out_h * out_w * C;
    if ((int64_t)w->kh * w->kw <= POOL_BIG_TAPS || w->dh > 1 || w->dw > 1)
        return;  /* the direct loop (dilated: docs/engine.md) */
    int64_t rows = (int64_t)(out_h - 1) * w->sh + w->kh,
            cols = (int64_t)(out_w - 1) * w->sw + w->kw;
    rows = rows < MEM_MAX_DIM ? rows : MEM_MAX_DIM;
    cols = cols < MEM_MAX_DIM ? cols : MEM_MAX_DIM;
    const int lanes = out_w < POOL_LANES ? out_w : POOL_LANES;
    const size_t E = n->op == OP_MAXPOOL ? 1 : 2;
    pp->big = 1;
    pp->threads = threads;
    pp->rows = rows;
    pp->cols = cols;
    pp->out_w = out_w;
    pp->per_thread = (E * (size_t)rows * ((size_t)out_w + lanes) +
                      E * (size_t)cols + 16 + 15) & ~(size_t)15;
    op->ws_floats = pp->per_thread * threads;
    op->work = C * ((double)rows * (3.0 * cols + 4.0 * out_w) +
                    (double)out_h * out_w);
}

static void pool_forward(const node *n, const op_run *r, par *pr)
{
    const pool_param *p = n->param;
    const win2d *w = &p->win;
    const view *in = &r->in[0], *out = r->out;
    const int H = in->H, max = n->op == OP_MAXPOOL;
    const pool_plan *pp = r->plan ? (const pool_plan *)r->plan->data : NULL;
    if (w->dh > 1 || w->dw > 1) {
        pool_dilated(p, max, in, out, pr);
        return;
    }
    if (pp && pp->big && r->ws) {
        axis1 gy = axis_make(out->y0, out->h, w->kh, w->sh, w->pt, in->H),
              gx = axis_make(out->x0, out->w, w->kw, w->sw, w->pl, in->W);
        if (big_fits(pp, &gy, &gx, out->w)) {
            /* the threads the workspace was planned for share the
            ** channels; any more wait */
            par q = *pr;
            q.nth = q.nth < pp->threads ? q.nth : pp->threads;
            if (q.ith < q.nth)
                big_forward(p, max, pp, in, out, r->ws, &gy, &gx, &q);
            return;
        }
    }
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
    if (w->dh > 1 || w->dw > 1)
        snprintf(buf, size, " %dx%d/%d dil %d", w->kh, w->kw, w->sh, w->dh);
    else
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
    .densify = pool_densify,                                                 \
    .to_fcn = pool_to_fcn, .plan = pool_plan_op, .forward = pool_forward,   \
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
