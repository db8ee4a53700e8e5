/*
** conv.h: convolution kernels. A kconv describes one convolution as the
** kernels need it; the Conv op (src/ops/conv.c) builds it at load and
** chooses, per output window, which kernel runs it:
**   cg_*   im2col + GEMM over blocks of output columns (convgemm.c), on
**          fcn's packed-weight GEMM (gemm.h) or OpenBLAS (blas.h);
**   dw_*   the direct depthwise loop (depthwise.c);
**   wino_* Winograd F(4x4, 3x3) (winograd.h).
** Every kernel computes the window of the output view from the input view
** (which covers every input pixel inside the map that the window reads),
** adds the bias, applies the fused activation, and takes (ith, nth).
*/
#ifndef FCN_KERNELS_CONV_H
#define FCN_KERNELS_CONV_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/act.h"
#include "kernels/view.h"
#include "util/par.h"

typedef struct kconv {
    win2d win;
    int cin, cout, groups;
    const float *weight;  /* cout x (cin/groups) x kh x kw, row-major; NULL
                             where only the packed copy is kept */
    const float *packed;  /* gemm_pack'ed, per group; NULL: OpenBLAS path */
    const uint16_t *packed_bf16; /* gemm_bf16_pack'ed instead of packed
                             (FCN_PRECISION_BF16), per group; else NULL */
    const float *wino;    /* Winograd weights (winograd.h); NULL: none */
    int wino_packed;      /* wino holds each position packed for gemm.c */
    const float *bias;    /* cout */
    act_param act;
} kconv;

/* ---- im2col + GEMM (convgemm.c, im2col.c) ---- */

typedef struct cg_plan {
    int64_t K, N;      /* per group; N = out_h * out_w of the window */
    int block;         /* output columns per block (the GEMM's N block) */
    int n_blocks;
    int shared;        /* 1: blocks one after another, threads split each
                          block's im2col by channel and its GEMM by rows;
                          0: each thread takes whole blocks */
    int direct;        /* 1x1 stride 1 unpadded on the OpenBLAS path: the
                          input rows are the K x N matrix, when the input
                          window is the output's, stored contiguously */
    int panels;        /* packed path: im2col into panels + gemm_panels;
                          else im2col rows + OpenBLAS */
    int mblock;        /* shared: output channels per GEMM row block */
    int bf16;          /* panels on the bf16 kernel (gemm_bf16.h): the
                          im2col panels converted in place */
    size_t ws_floats;  /* workspace for `threads` threads */
} cg_plan;

/* Plan an out_h x out_w output window; depends on the shape alone (and
** the thread count only through ws_floats), so results do not depend on
** the thread count. */
void cg_plan_make(const kconv *k, int out_h, int out_w, int threads,
                  cg_plan *p);
/* out's rows must be contiguous (rs == w). ws: p->ws_floats floats. */
void cg_forward(const kconv *k, const cg_plan *p, const view *in,
                const view *out, float *ws, par *pr);
/* bias + activation on rows (channels) [m0, m0+mn) of columns
** [n0, n0+nt) of out, ldc floats between channels */
void cg_epilogue(const kconv *k, float *out, int64_t ldc, int m0, int mn,
                 int64_t n0, int nt);

/* im2col of output pixels [n0, n0+nt) of an output window (row-major,
** out_w wide, top-left at (oy0, ox0) of the output map) for channels
** [c0, c0+cn) of in, into col (K x nt, row-major). */
void im2col_rows(const view *in, int c0, int cn, const win2d *w, int oy0,
                 int ox0, int out_w, int64_t n0, int nt, float *col);
/* The same into the column panels gemm_panels reads: row k of the block's
** column q at col[(q / GEMM_NR) * pstride + k * GEMM_NR + q % GEMM_NR],
** for rows k from 0 (channel c0) on; columns past nt in the last panel are
** zeroed. pstride = K * GEMM_NR for the whole K. */
void im2col_panels(const view *in, int c0, int cn, const win2d *w, int oy0,
                   int ox0, int out_w, int64_t n0, int nt, int64_t pstride,
                   float *col);

/* ---- depthwise (depthwise.c) ---- */

/* One input channel per output channel, one group each. */
int dw_applies(const kconv *k);
void dw_forward(const kconv *k, const view *in, const view *out, par *pr);

#endif
