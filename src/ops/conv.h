/*
** conv.h: the Conv op's parameters and plan, for the ops that become
** convolutions at load (Dense) and for the Conv tests.
*/
#ifndef FCN_OPS_CONV_H
#define FCN_OPS_CONV_H

#include "kernels/conv.h"
#include "kernels/winograd.h"
#include "ops/op.h"

typedef struct conv_param {
    kconv k;                /* what the kernels read */
    int flip;               /* trained as true convolution: flip kernels */
    fcn_winograd winograd;  /* the load option: which windows use it */
    const float *w_file, *b_file;  /* as read, until the conversion */
    float *weight_buf;      /* owned weights, where they had to change */
    float *bias_buf, *packed, *wino;  /* owned */
    uint16_t *packed_bf16;  /* owned (FCN_PRECISION_BF16) */
} conv_param;

typedef enum conv_path { CONV_GEMM, CONV_DEPTHWISE, CONV_WINOGRAD } conv_path;

typedef struct conv_plan {
    conv_path path;
    cg_plan cg;       /* CONV_GEMM */
    wino_plan wino;   /* CONV_WINOGRAD */
} conv_plan;

/* Make n a convolution with unit strides and no padding: cout filters of
** cin x kh x kw at weight (owned: weight_buf, or NULL when weight lies in
** the file) and the owned bias (cout floats). NULL on OOM. */
conv_param *conv_become(node *n, arena *ar, int cin, int cout, int kh,
                        int kw, const float *weight, float *weight_buf,
                        float *bias);

/* The kernel choice for n's whole output map of out_h x out_w, planned
** for `threads` threads (what plan stores in op_plan for that window). */
void conv_plan_window(const node *n, int out_h, int out_w, int threads,
                      conv_plan *p);

#endif
