/*
** im2col.c: the columns of a convolution's GEMM, for a block of output
** pixels, as rows (for OpenBLAS) or as panels (for gemm_panels).
*/
/* im2col copies pieces of at most 16 floats: keep them plain loops rather
** than memcpy/memset calls */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-tree-loop-distribute-patterns")
#endif
#include <string.h>

#include "kernels/conv.h"
#include "kernels/gemm.h"

void im2col_rows(const view *in, int c0, int cn, const win2d *w, int oy0,
                 int ox0, int out_w, int64_t n0, int nt, float *col)
{
    const int kh = w->kh, kw = w->kw, sh = w->sh, sw = w->sw;
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
                    int iy = (oy0 + ly) * sh - w->pt + ky * w->dh;
                    if (iy < 0 || iy >= in->H) {
                        memset(row + j, 0, sizeof(float) * run);
                    } else {
                        const float *src = plane + (int64_t)(iy - in->y0) * in->rs
                                           - in->x0;
                        int ix = (ox0 + lx) * sw - w->pl + kx * w->dw;
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

/* One row of input pixels for output columns [j, j+run) of the block:
** [0, lo) left of the map, [hi, run) right of it, zeros there. */
static void panel_row(float *row, int64_t pstride, int j, const float *src,
                      int ix, int sw, int W, int run)
{
    int lo, hi;
    if (sw == 1) {
        lo = ix < 0 ? -ix : 0;
        hi = W - ix;
    } else {
        lo = ix < 0 ? (-ix + sw - 1) / sw : 0;
        hi = ix < W ? (W - ix + sw - 1) / sw : 0;
    }
    if (lo > run)
        lo = run;
    if (hi > run)
        hi = run;
    if (hi < lo)
        hi = lo;
    panel_put(row, pstride, j, NULL, 1, lo);
    panel_put(row, pstride, j + lo, src + ix + lo * sw, sw, hi - lo);
    panel_put(row, pstride, j + hi, NULL, 1, run - hi);
}

void im2col_panels(const view *in, int c0, int cn, const win2d *w, int oy0,
                   int ox0, int out_w, int64_t n0, int nt, int64_t pstride,
                   float *col)
{
    const int kh = w->kh, kw = w->kw, sh = w->sh, sw = w->sw;
    const int tail = nt % GEMM_NR;
    const int ly0 = (int)(n0 / out_w), lx0 = (int)(n0 % out_w);
    for (int c = c0; c < c0 + cn; c++) {
        const float *plane = in->p + (int64_t)c * in->ps;
        for (int ky = 0; ky < kh; ky++)
            for (int kx = 0; kx < kw; kx++) {
                float *row = col + ((int64_t)((c - c0) * kh + ky) * kw + kx) *
                                   GEMM_NR;
                const int xoff = ox0 * sw - w->pl + kx * w->dw;
                int j = 0, ly = ly0, lx = lx0;
                while (j < nt) {
                    int run = out_w - lx;
                    if (run > nt - j)
                        run = nt - j;
                    int iy = (oy0 + ly) * sh - w->pt + ky * w->dh;
                    if (iy < 0 || iy >= in->H)
                        panel_put(row, pstride, j, NULL, 1, run);
                    else
                        panel_row(row, pstride, j, plane +
                                  (int64_t)(iy - in->y0) * in->rs - in->x0,
                                  xoff + lx * sw, sw, in->W, run);
                    j += run;
                    lx = 0;
                    ly++;
                }
                if (tail) /* columns past nt in the last panel */
                    panel_put(row, pstride, nt, NULL, 1, GEMM_NR - tail);
            }
    }
}
