/*
** view.h: tensors as the kernels see them, and window arithmetic.
**
** Glossary: tensors are C x H x W float32 (batch 1), written c, h, w;
** output sizes out_h, out_w. Convolution as GEMM: M = output channels (per
** group), K = input channels (per group) x kh x kw, N = output pixels.
**
** Networks run on parts of large images: each layer computes a window of
** its output map from windows of its inputs, and padding applies only at
** the whole map's border. A view is such a window: rows [y0, y0+h) and
** columns [x0, x0+w) of a C x H x W map, stored at p with row stride rs
** and plane stride ps (in floats).
*/
#ifndef FCN_KERNELS_VIEW_H
#define FCN_KERNELS_VIEW_H

#include <stdint.h>

typedef struct shape {
    int c, h, w;
} shape;

typedef struct view {
    float *p;
    int c, y0, x0, h, w;
    int H, W;
    int64_t rs, ps;
} view;

/* The whole of a contiguous C x H x W tensor. */
static inline view view_full(const float *p, shape s)
{
    view v = {(float *)p, s.c, 0, 0, s.h, s.w, s.h, s.w, s.w,
              (int64_t)s.h * s.w};
    return v;
}

/* Row r (of the window) of channel c of in, at the columns of out's
** window; and row r of channel c of out. */
static inline const float *view_in_row(const view *in, const view *out,
                                       int c, int r)
{
    return in->p + (int64_t)c * in->ps +
           (int64_t)(out->y0 + r - in->y0) * in->rs + (out->x0 - in->x0);
}

static inline float *view_row(const view *out, int c, int r)
{
    return out->p + (int64_t)c * out->ps + (int64_t)r * out->rs;
}

/* A 2-D window: kernel, stride, dilation, padding (top, left, bottom,
** right). Output pixel (oy, ox) reads input rows oy*sh - pt + ky*dh. */
typedef struct win2d {
    int kh, kw, sh, sw, dh, dw;
    int pt, pl, pb, pr;
} win2d;

/* Output size of a window op along one axis; < 1 when it does not fit. */
int win_out(int in, int k, int s, int d, int pa, int pb, int ceil_mode);

#endif
