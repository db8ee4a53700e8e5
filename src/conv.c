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
#include <cblas.h>
#include <omp.h>
#include <string.h>

#include "internal.h"

#define TILE_BYTES (512 * 1024) /* im2col tile budget: half of a 1 MiB L2 */
#define TILE_MIN 64
#define TILE_MAX 4096
#define MBLOCK 64               /* output channels per GEMM block (shared) */

void conv_plan_make(const node *n, int in_h, int in_w, int threads,
                    conv_plan *p)
{
    memset(p, 0, sizeof *p);
    p->in_h = in_h;
    p->in_w = in_w;
    p->out_h = window_out(in_h, n->kh, n->sh, n->dh, n->pt, n->pb, 0);
    p->out_w = window_out(in_w, n->kw, n->sw, n->dw, n->pl, n->pr, 0);
    p->N = (int64_t)p->out_h * p->out_w;
    p->K = (int64_t)(n->cin / n->groups) * n->kh * n->kw;
    p->depthwise = n->groups > 1 && n->groups == n->cin && n->cout == n->cin;
    p->direct = n->kh == 1 && n->kw == 1 && n->sh == 1 && n->sw == 1 &&
                !n->pt && !n->pl && !n->pb && !n->pr;
    int64_t t = TILE_BYTES / (p->K * (int64_t)sizeof(float));
    t = t / 16 * 16;
    if (t < TILE_MIN)
        t = TILE_MIN;
    if (t > TILE_MAX)
        t = TILE_MAX;
    if (t > p->N)
        t = p->N;
    p->tile = (int)t;
    p->n_tiles = (int)((p->N + t - 1) / t);
    p->shared = p->n_tiles < 4;
    if (p->depthwise || p->direct)
        p->ws_floats = 0;
    else
        p->ws_floats = (size_t)p->K * p->tile * (p->shared ? 1 : threads);
}

void im2col_tile(const float *in, int c0, int cn, int h, int w, int kh,
                 int kw, int sh, int sw, int pt, int pl, int dh, int dw,
                 int out_w, int64_t n0, int nt, float *col)
{
    for (int c = c0; c < c0 + cn; c++) {
        const float *plane = in + (int64_t)c * h * w;
        for (int ky = 0; ky < kh; ky++)
            for (int kx = 0; kx < kw; kx++) {
                float *row = col + ((int64_t)((c - c0) * kh + ky) * kw + kx) * nt;
                int64_t p = n0;
                int j = 0;
                while (j < nt) {
                    int oy = (int)(p / out_w), ox = (int)(p % out_w);
                    int run = out_w - ox;
                    if (run > nt - j)
                        run = nt - j;
                    int iy = oy * sh - pt + ky * dh;
                    if (iy < 0 || iy >= h) {
                        memset(row + j, 0, sizeof(float) * run);
                    } else {
                        const float *src = plane + (int64_t)iy * w;
                        int ix = ox * sw - pl + kx * dw;
                        if (sw == 1 && ix >= 0 && ix + run <= w) {
                            memcpy(row + j, src + ix, sizeof(float) * run);
                        } else {
                            for (int r = 0; r < run; r++, ix += sw)
                                row[j + r] = ix >= 0 && ix < w ? src[ix] : 0.0f;
                        }
                    }
                    j += run;
                    p += run;
                }
            }
    }
}

/* bias + activation on rows [m0, m0+mn) of columns [n0, n0+nt). */
static void epilogue(const node *n, float *out, int64_t N, int m0, int mn,
                     int64_t n0, int nt)
{
    for (int m = m0; m < m0 + mn; m++) {
        float *o = out + (int64_t)m * N + n0;
        const float b = n->bias ? n->bias[m] : 0.0f;
        for (int j = 0; j < nt; j++)
            o[j] += b;
        if (n->act.kind != ACT_NONE)
            act_apply(&n->act, o, nt);
    }
}

static void depthwise(const node *n, const conv_plan *p, const float *in,
                      float *out, int threads)
{
    const int H = p->in_h, W = p->in_w, OH = p->out_h, OW = p->out_w;
    #pragma omp parallel for num_threads(threads) schedule(static)
    for (int c = 0; c < n->cout; c++) {
        const float *x = in + (int64_t)c * H * W;
        const float *k = n->weight + (int64_t)c * n->kh * n->kw;
        float *y = out + (int64_t)c * OH * OW;
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                float s = 0.0f;
                for (int ky = 0; ky < n->kh; ky++) {
                    int iy = oy * n->sh - n->pt + ky * n->dh;
                    if (iy < 0 || iy >= H)
                        continue;
                    for (int kx = 0; kx < n->kw; kx++) {
                        int ix = ox * n->sw - n->pl + kx * n->dw;
                        if (ix >= 0 && ix < W)
                            s += x[(int64_t)iy * W + ix] * k[ky * n->kw + kx];
                    }
                }
                y[(int64_t)oy * OW + ox] = s;
            }
        epilogue(n, out, (int64_t)OH * OW, c, 1, 0, OH * OW);
    }
}

void conv_forward(const node *n, const conv_plan *p, const float *in,
                  float *out, float *ws, int threads)
{
    if (p->depthwise) {
        depthwise(n, p, in, out, threads);
        return;
    }
    const int G = n->groups, M = n->cout / G, cg = n->cin / G;
    const int64_t K = p->K, N = p->N;
    const int64_t in_plane = (int64_t)p->in_h * p->in_w;
    if (!p->shared) {
        #pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
        for (int t = 0; t < p->n_tiles; t++) {
            int64_t n0 = (int64_t)t * p->tile;
            int nt = (int)(N - n0 < p->tile ? N - n0 : p->tile);
            float *col = p->direct ? NULL
                         : ws + (size_t)omp_get_thread_num() * K * p->tile;
            for (int g = 0; g < G; g++) {
                const float *b;
                int ldb;
                if (p->direct) {
                    b = in + (int64_t)g * cg * in_plane + n0;
                    ldb = (int)N;
                } else {
                    im2col_tile(in, g * cg, cg, p->in_h, p->in_w, n->kh, n->kw,
                                n->sh, n->sw, n->pt, n->pl, n->dh, n->dw,
                                p->out_w, n0, nt, col);
                    b = col;
                    ldb = nt;
                }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, nt,
                            (int)K, 1.0f, n->weight + (int64_t)g * M * K,
                            (int)K, b, ldb, 0.0f,
                            out + (int64_t)g * M * N + n0, (int)N);
            }
            epilogue(n, out, N, 0, n->cout, n0, nt);
        }
        return;
    }
    /* shared: one tile at a time, all threads on it */
    const int mblocks = (M + MBLOCK - 1) / MBLOCK;
    #pragma omp parallel num_threads(threads)
    for (int t = 0; t < p->n_tiles; t++) {
        int64_t n0 = (int64_t)t * p->tile;
        int nt = (int)(N - n0 < p->tile ? N - n0 : p->tile);
        for (int g = 0; g < G; g++) {
            const float *b = in + (int64_t)g * cg * in_plane + n0;
            int ldb = (int)N;
            if (!p->direct) {
                #pragma omp for schedule(static)
                for (int c = 0; c < cg; c++)
                    im2col_tile(in, g * cg + c, 1, p->in_h, p->in_w, n->kh,
                                n->kw, n->sh, n->sw, n->pt, n->pl, n->dh,
                                n->dw, p->out_w, n0, nt,
                                ws + (int64_t)c * n->kh * n->kw * nt);
                b = ws;
                ldb = nt;
            }
            #pragma omp for schedule(dynamic, 1)
            for (int mb = 0; mb < mblocks; mb++) {
                int m0 = mb * MBLOCK, mn = M - m0 < MBLOCK ? M - m0 : MBLOCK;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, mn, nt,
                            (int)K, 1.0f,
                            n->weight + ((int64_t)g * M + m0) * K, (int)K, b,
                            ldb, 0.0f, out + ((int64_t)g * M + m0) * N + n0,
                            (int)N);
                epilogue(n, out, N, g * M + m0, mn, n0, nt);
            }
        }
    }
}
