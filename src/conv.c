/*
** conv.c: convolution as im2col + SGEMM over tiles of output columns.
**
** The output (Cout x N, N = out_h*out_w) is cut into tiles of `tile`
** columns. For each tile, im2col writes a K x tile matrix into a workspace
** (never the whole image), SGEMM multiplies the Cout x K weights by it, and
** bias and activation are applied to the tile while it is in cache.
** 1x1 stride-1 unpadded convs skip im2col: the input already is K x N.
**
** Two schedules, chosen from the shape alone (so results do not depend on
** the thread count):
**   tiles   many tiles: each thread takes whole tiles (im2col + GEMM).
**   shared  few tiles (small maps, e.g. a dense head): tiles run one after
**           another; threads split the im2col by channel, then the GEMM
**           into fixed blocks of output channels.
** BLAS is always called from inside the parallel region, one thread each.
*/
/* im2col copies pieces of at most 16 floats: keep them plain loops rather
** than memcpy/memset calls */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-tree-loop-distribute-patterns")
#endif
#include <cblas.h>
#include <omp.h>
#include <string.h>

#include "internal.h"

#define TILE_BYTES (512 * 1024) /* im2col tile budget: half of a 1 MiB L2 */
#define TILE_MIN 64
#define TILE_MAX 4096
#define PANEL_TILE 256         /* output columns per tile, gemm_panels */
#define MBLOCK 48               /* output channels per GEMM block (shared);
                                   a multiple of GEMM_MR */
#define WINO_MIN_BLOCKS 16

static int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

/* One input channel per output channel: the direct depthwise loop. */
static int is_depthwise(const node *n)
{
    return n->groups > 1 && n->groups == n->cin && n->cout == n->cin;
}

void conv_plan_window(const node *n, int out_h, int out_w, int threads,
                      conv_plan *p)
{
    memset(p, 0, sizeof *p);
    p->out_h = out_h;
    p->out_w = out_w;
    p->N = (int64_t)out_h * out_w;
    p->K = (int64_t)(n->cin / n->groups) * n->kh * n->kw;
    p->depthwise = is_depthwise(n);
    /* Winograd where it measured faster (docs/engine.md): with enough 4x4
    ** blocks to amortise reading its 36/9 = 4x larger weights (on a 7x7
    ** map, 4 blocks, im2col was 1.25x faster; from 14x14 on Winograd was
    ** about 2x faster on the packed path). On the OpenBLAS path, 64 -> 64
    ** channels only on maps up to 128x128 (at 224x224 im2col was 1.4x
    ** faster there). */
    int64_t blocks = (int64_t)((out_h + 3) / 4) * ((out_w + 3) / 4);
    if (n->wino && (!n->wino_auto ||
                    (blocks >= WINO_MIN_BLOCKS &&
                     (n->wino_packed || n->cin + n->cout >= 192 ||
                      blocks <= 1024)))) {
        p->winograd = 1;
        p->ws_floats = winograd_ws(n, out_h, out_w, threads);
        return;
    }
    p->panels = n->packed != NULL; /* never set for depthwise convs */
    p->direct = !p->panels && n->kh == 1 && n->kw == 1 && n->sh == 1 &&
                n->sw == 1 && !n->pt && !n->pl && !n->pb && !n->pr;
    int64_t t;
    if (p->panels) {
        /* gemm_panels streams the tile's K rows in slices (L2), so the
        ** tile is sized for reuse of the weights: equal tiles of about
        ** PANEL_TILE columns, in whole panels */
        int64_t k = (p->N + PANEL_TILE - 1) / PANEL_TILE;
        t = round_up((p->N + k - 1) / k, GEMM_NR);
    } else {
        t = TILE_BYTES / (p->K * (int64_t)sizeof(float));
        t = t / 16 * 16;
        if (t < TILE_MIN)
            t = TILE_MIN;
        if (t > TILE_MAX)
            t = TILE_MAX;
    }
    if (t > p->N)
        t = p->N;
    p->tile = (int)t;
    p->n_tiles = (int)((p->N + t - 1) / t);
    /* shared also where a tile's im2col exceeds 8 MB (huge K, e.g. a
    ** dense head on a large image): one workspace, not one per thread */
    p->shared = p->n_tiles < 4 ||
                (p->panels && p->K * round_up(p->tile, GEMM_NR) > (2 << 20));
    /* direct convs still get a workspace: a window whose input is stored
    ** wider than the output (tiled runs) goes through im2col */
    p->ws_floats = p->depthwise ? 0
                   : (size_t)p->K * round_up(p->tile, GEMM_NR) *
                     (p->shared ? 1 : threads);
}

int conv_pack(node *n, int release)
{
    if (!gemm_available() || is_depthwise(n))
        return 1; /* OpenBLAS path / depthwise kernel: nothing to pack */
    const int G = n->groups, M = n->cout / G;
    const int K = n->cin / G * n->kh * n->kw;
    const int64_t per = gemm_packed_floats(M, K);
    n->packed = fcn_aligned_alloc(sizeof(float) * (size_t)(per * G));
    if (!n->packed)
        return 0;
    for (int g = 0; g < G; g++)
        gemm_pack(M, K, n->weight + (int64_t)g * M * K, n->packed + g * per,
                  release);
    return 1;
}

void conv_plan_make(const node *n, int in_h, int in_w, int threads,
                    conv_plan *p)
{
    conv_plan_window(n,
                     window_out(in_h, n->kh, n->sh, n->dh, n->pt, n->pb, 0),
                     window_out(in_w, n->kw, n->sw, n->dw, n->pl, n->pr, 0),
                     threads, p);
    p->in_h = in_h;
    p->in_w = in_w;
}

void im2col_tile(const view *in, int c0, int cn, const node *n, int oy0,
                 int ox0, int out_w, int64_t n0, int nt, float *col)
{
    const int kh = n->kh, kw = n->kw, sh = n->sh, sw = n->sw;
    for (int c = c0; c < c0 + cn; c++) {
        const float *plane = in->p + (int64_t)c * in->ps;
        for (int ky = 0; ky < kh; ky++)
            for (int kx = 0; kx < kw; kx++) {
                float *row = col + ((int64_t)((c - c0) * kh + ky) * kw + kx) * nt;
                int64_t p = n0;
                int j = 0;
                while (j < nt) {
                    int ly = (int)(p / out_w), lx = (int)(p % out_w);
                    int run = out_w - lx;
                    if (run > nt - j)
                        run = nt - j;
                    int iy = (oy0 + ly) * sh - n->pt + ky * n->dh;
                    if (iy < 0 || iy >= in->H) {
                        memset(row + j, 0, sizeof(float) * run);
                    } else {
                        const float *src = plane + (int64_t)(iy - in->y0) * in->rs
                                           - in->x0;
                        int ix = (ox0 + lx) * sw - n->pl + kx * n->dw;
                        if (sw == 1 && ix >= 0 && ix + run <= in->W) {
                            memcpy(row + j, src + ix, sizeof(float) * run);
                        } else {
                            for (int r = 0; r < run; r++, ix += sw)
                                row[j + r] = ix >= 0 && ix < in->W ? src[ix]
                                                                   : 0.0f;
                        }
                    }
                    j += run;
                    p += run;
                }
            }
    }
}

/* Columns [q, q+len) of one row of the panels: every sw-th float from s,
** or zeros (s NULL). Pieces are at most 16 floats: plain loops, not
** memcpy/memset calls. */
static inline void panel_put(float *row, int64_t pstride, int q,
                             const float *s, int sw, int len)
{
    while (len > 0) {
        int off = q % GEMM_NR, l = GEMM_NR - off < len ? GEMM_NR - off : len;
        float *d = row + (q / GEMM_NR) * pstride + off;
        if (!s) {
            for (int i = 0; i < l; i++)
                d[i] = 0.0f;
        } else if (sw == 1) {
            for (int i = 0; i < l; i++)
                d[i] = s[i];
            s += l;
        } else {
            for (int i = 0; i < l; i++)
                d[i] = s[i * sw];
            s += l * sw;
        }
        q += l;
        len -= l;
    }
}

void im2col_panels(const view *in, int c0, int cn, const node *n, int oy0,
                   int ox0, int out_w, int64_t n0, int nt, int64_t pstride,
                   float *col)
{
    const int kh = n->kh, kw = n->kw, sh = n->sh, sw = n->sw;
    const int tail = nt % GEMM_NR;
    const int ly0 = (int)(n0 / out_w), lx0 = (int)(n0 % out_w);
    for (int c = c0; c < c0 + cn; c++) {
        const float *plane = in->p + (int64_t)c * in->ps;
        for (int ky = 0; ky < kh; ky++)
            for (int kx = 0; kx < kw; kx++) {
                float *row = col + ((int64_t)((c - c0) * kh + ky) * kw + kx) *
                                   GEMM_NR;
                const int xoff = ox0 * sw - n->pl + kx * n->dw;
                int j = 0, ly = ly0, lx = lx0;
                while (j < nt) {
                    int run = out_w - lx;
                    if (run > nt - j)
                        run = nt - j;
                    int iy = (oy0 + ly) * sh - n->pt + ky * n->dh;
                    int ix = xoff + lx * sw;
                    if (iy < 0 || iy >= in->H) {
                        panel_put(row, pstride, j, NULL, 1, run);
                    } else {
                        const float *src = plane +
                            (int64_t)(iy - in->y0) * in->rs - in->x0;
                        /* [0, lo) left of the map, [hi, run) right of it */
                        int lo, hi;
                        if (sw == 1) {
                            lo = ix < 0 ? -ix : 0;
                            hi = in->W - ix;
                        } else {
                            lo = ix < 0 ? (-ix + sw - 1) / sw : 0;
                            hi = ix < in->W ? (in->W - ix + sw - 1) / sw : 0;
                        }
                        if (lo > run)
                            lo = run;
                        if (hi > run)
                            hi = run;
                        if (hi < lo)
                            hi = lo;
                        panel_put(row, pstride, j, NULL, 1, lo);
                        panel_put(row, pstride, j + lo, src + ix + lo * sw, sw,
                                  hi - lo);
                        panel_put(row, pstride, j + hi, NULL, 1, run - hi);
                    }
                    j += run;
                    lx = 0;
                    ly++;
                }
                if (tail) /* columns past nt in the last panel */
                    panel_put(row, pstride, nt, NULL, 1, GEMM_NR - tail);
            }
    }
}

/* bias + activation on rows [m0, m0+mn) of columns [n0, n0+nt); ldc is
** the distance between output channels. */
static void epilogue(const node *n, float *out, int64_t ldc, int m0, int mn,
                     int64_t n0, int nt)
{
    for (int m = m0; m < m0 + mn; m++) {
        float *o = out + (int64_t)m * ldc + n0;
        const float b = n->bias ? n->bias[m] : 0.0f;
        for (int j = 0; j < nt; j++)
            o[j] += b;
        if (n->act.kind != ACT_NONE)
            act_apply(&n->act, o, nt);
    }
}

static void depthwise(const node *n, const view *in, const view *out,
                      int threads)
{
    const int OH = out->h, OW = out->w;
    #pragma omp parallel for num_threads(threads) schedule(static)
    for (int c = 0; c < n->cout; c++) {
        const float *x = in->p + (int64_t)c * in->ps;
        const float *k = n->weight + (int64_t)c * n->kh * n->kw;
        float *y = out->p + (int64_t)c * out->ps;
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                float s = 0.0f;
                for (int ky = 0; ky < n->kh; ky++) {
                    int iy = (out->y0 + oy) * n->sh - n->pt + ky * n->dh;
                    if (iy < 0 || iy >= in->H)
                        continue;
                    const float *row = x + (int64_t)(iy - in->y0) * in->rs - in->x0;
                    for (int kx = 0; kx < n->kw; kx++) {
                        int ix = (out->x0 + ox) * n->sw - n->pl + kx * n->dw;
                        if (ix >= 0 && ix < in->W)
                            s += row[ix] * k[ky * n->kw + kx];
                    }
                }
                y[(int64_t)oy * out->rs + ox] = s;
            }
        epilogue(n, out->p, out->ps, c, 1, 0, OH * OW);
    }
}

void conv_forward(const node *n, const conv_plan *p, const view *in,
                  const view *outv, float *ws, int threads)
{
    if (p->depthwise) {
        depthwise(n, in, outv, threads);
        return;
    }
    if (p->winograd) {
        winograd_forward(n, in, outv, ws, threads);
        return;
    }
    /* out's rows are contiguous (rs == w); its channels ps apart */
    float *out = outv->p;
    const int G = n->groups, M = n->cout / G, cg = n->cin / G;
    const int64_t K = p->K, N = p->N, ldc = outv->ps;
    const int oy0 = outv->y0, ox0 = outv->x0, ow = outv->w;
    /* 1x1: the input rows of the output window, stored as whole rows of
    ** the same columns, already are the K x N matrix */
    const int direct = p->direct && in->x0 == ox0 && in->w == ow &&
                       in->rs == ow && in->y0 <= oy0 &&
                       in->y0 + in->h >= oy0 + outv->h;
    const float *in_rows = in->p + (int64_t)(oy0 - in->y0) * in->rs;
    const int Mp = gemm_packed_rows(M);
    const int64_t apg = (int64_t)Mp * K; /* packed floats per group */
    if (!p->shared) {
        #pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
        for (int t = 0; t < p->n_tiles; t++) {
            int64_t n0 = (int64_t)t * p->tile;
            int nt = (int)(N - n0 < p->tile ? N - n0 : p->tile);
            float *col = ws + (size_t)omp_get_thread_num() * K * p->tile;
            for (int g = 0; g < G; g++) {
                const float *b;
                int ldb;
                if (p->panels) {
                    im2col_panels(in, g * cg, cg, n, oy0, ox0, ow, n0, nt,
                                  K * GEMM_NR, col);
                    gemm_panels(n->packed + g * apg, Mp, 0, M, nt, (int)K,
                                col, out + (int64_t)g * M * ldc + n0, ldc);
                    continue;
                }
                if (direct) {
                    b = in_rows + (int64_t)g * cg * in->ps + n0;
                    ldb = (int)in->ps;
                } else {
                    im2col_tile(in, g * cg, cg, n, oy0, ox0, ow, n0, nt, col);
                    b = col;
                    ldb = nt;
                }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, nt,
                            (int)K, 1.0f, n->weight + (int64_t)g * M * K,
                            (int)K, b, ldb, 0.0f,
                            out + (int64_t)g * M * ldc + n0, (int)ldc);
            }
            epilogue(n, out, ldc, 0, n->cout, n0, nt);
        }
        return;
    }
    /* shared: one tile at a time, all threads on it. On the packed path
    ** a block of rows walks the whole tile, so blocks are as large as load
    ** balance allows (4 per thread); its results do not depend on them. */
    int mblk = MBLOCK;
    if (p->panels) {
        mblk = (int)round_up((M + 4 * threads - 1) / (4 * threads), GEMM_MR);
        if (mblk < MBLOCK)
            mblk = MBLOCK;
    }
    const int mblocks = (M + mblk - 1) / mblk;
    #pragma omp parallel num_threads(threads)
    for (int t = 0; t < p->n_tiles; t++) {
        int64_t n0 = (int64_t)t * p->tile;
        int nt = (int)(N - n0 < p->tile ? N - n0 : p->tile);
        for (int g = 0; g < G; g++) {
            const float *b = in_rows + (int64_t)g * cg * in->ps + n0;
            int ldb = (int)in->ps;
            const int pan = p->panels;
            if (pan) {
                #pragma omp for schedule(static)
                for (int c = 0; c < cg; c++)
                    im2col_panels(in, g * cg + c, 1, n, oy0, ox0, ow, n0, nt,
                                  K * GEMM_NR,
                                  ws + (int64_t)c * n->kh * n->kw * GEMM_NR);
                b = ws;
            } else if (!direct) {
                #pragma omp for schedule(static)
                for (int c = 0; c < cg; c++)
                    im2col_tile(in, g * cg + c, 1, n, oy0, ox0, ow, n0, nt,
                                ws + (int64_t)c * n->kh * n->kw * nt);
                b = ws;
                ldb = nt;
            }
            #pragma omp for schedule(dynamic, 1)
            for (int mb = 0; mb < mblocks; mb++) {
                int m0 = mb * mblk, mn = M - m0 < mblk ? M - m0 : mblk;
                float *c = out + ((int64_t)g * M + m0) * ldc + n0;
                /* one output pixel (a dense head at its trained size):
                ** SGEMV streams the weights once, where SGEMM first copies
                ** them into its panels (2.2-4.4x slower on VGG's fc6) */
                if (pan && nt == 1)
                    gemv_panels(n->packed + g * apg, Mp, m0, mn, (int)K, b,
                                GEMM_NR, c, ldc);
                else if (pan)
                    gemm_panels(n->packed + g * apg, Mp, m0, mn, nt, (int)K, b,
                                c, ldc);
                else if (nt == 1)
                    cblas_sgemv(CblasRowMajor, CblasNoTrans, mn, (int)K, 1.0f,
                                n->weight + ((int64_t)g * M + m0) * K, (int)K,
                                b, ldb, 0.0f, c, (int)ldc);
                else
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, mn,
                                nt, (int)K, 1.0f,
                                n->weight + ((int64_t)g * M + m0) * K, (int)K,
                                b, ldb, 0.0f, c, (int)ldc);
                epilogue(n, out, ldc, g * M + m0, mn, n0, nt);
            }
        }
    }
}
