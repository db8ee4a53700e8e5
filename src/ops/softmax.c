/*
** softmax.c: softmax over the channels of every pixel (a classifier's
** softmax becomes one per score-map cell).
*/
#include <math.h>

#include "ops/op.h"

static void softmax_forward(const node *n, const op_run *r, par *pr)
{
    (void)n;
    const view *in = &r->in[0], *out = r->out;
    const int C = out->c;
    int64_t y0, y1;
    par_range(pr, out->h, &y0, &y1);
    for (int y = (int)y0; y < y1; y++)
        for (int i = 0; i < out->w; i++) {
            float mx = -INFINITY;
            for (int c = 0; c < C; c++) {
                float v = view_in_row(in, out, c, y)[i];
                mx = v > mx ? v : mx;
            }
            double sum = 0.0;
            for (int c = 0; c < C; c++) {
                float e = expf(view_in_row(in, out, c, y)[i] - mx);
                view_row(out, c, y)[i] = e;
                sum += e;
            }
            float inv = (float)(1.0 / sum);
            for (int c = 0; c < C; c++)
                view_row(out, c, y)[i] *= inv;
        }
}

const op_def op_softmax = {
    .min_in = 1, .max_in = 1, .infer = op_infer_same,
    .forward = softmax_forward,
};
