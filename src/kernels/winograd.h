/*
** winograd.h: 3x3 stride-1 convolutions as Winograd F(4x4, 3x3) (Lavin &
** Gray, "Fast Algorithms for Convolutional Neural Networks"), with the
** products in the transformed domain run through the GEMM.
*/
#ifndef FCN_KERNELS_WINOGRAD_H
#define FCN_KERNELS_WINOGRAD_H

#include "kernels/conv.h"

/* 3x3, stride 1, dilation 1, one group. */
int wino_applies(const kconv *k);
/* The transformed weights of k (from k->weight), 36 x cout x cin, or each
** position packed for gemm_panels when pack (and a GEMM variant runs
** here); *packed says which. mem_free them; NULL on OOM. */
float *wino_transform(const kconv *k, int pack, int *packed);

/* The batches of a window's 4x4 blocks (on the grid of the whole map: the
** window's place on it is the view's, at run time). */
typedef struct wino_plan {
    int T;          /* the most blocks per batch (the workspace's) */
    int shared;     /* few batches: all threads on each */
} wino_plan;

/* For a window of out_h x out_w anywhere on the map; depends on the shape
** alone. */
void wino_plan_make(const kconv *k, int out_h, int out_w, wino_plan *p);
/* Workspace (floats) for `threads` threads. */
size_t wino_ws(const kconv *k, const wino_plan *p, int threads);
void wino_forward(const kconv *k, const wino_plan *p, const view *in,
                  const view *out, float *ws, par *pr);

#endif
