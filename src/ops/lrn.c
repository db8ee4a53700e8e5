/*
** lrn.c: local response normalisation across channels, as ONNX defines
** it: y = x * (bias + alpha / size * sum of x^2 over channels
** [c - (size-1)/2, c + size/2]) ^ -beta.
*/
#include <math.h>

#include "ops/op.h"

typedef struct lrn_param {
    int size;
    float alpha, beta, bias;
} lrn_param;

static fcn_status lrn_parse(op_parse *c, node *n)
{
    lrn_param *p = n->param;
    attr_ints(c, "size", 1, &p->size, 1);
    p->alpha = attr_float(c, "alpha", 1e-4f);
    p->beta = attr_float(c, "beta", 0.75f);
    p->bias = attr_float(c, "bias", 1.0f);
    if (!c->st && p->size < 1)
        return op_fail(c, FCN_ERR_FORMAT, "size %d < 1", p->size);
    return FCN_OK;
}

static void lrn_forward(const node *n, const op_run *r, par *pr)
{
    const lrn_param *p = n->param;
    const view *in = &r->in[0], *out = r->out;
    const int C = out->c, lo = (p->size - 1) / 2, hi = p->size / 2;
    const float k = p->alpha / (float)p->size;
    int64_t c0, c1;
    par_range(pr, C, &c0, &c1);
    for (int c = (int)c0; c < c1; c++) {
        int a = c - lo < 0 ? 0 : c - lo, b = c + hi >= C ? C - 1 : c + hi;
        for (int y = 0; y < out->h; y++) {
            float *d = view_row(out, c, y);
            const float *x = view_in_row(in, out, c, y);
            for (int i = 0; i < out->w; i++) {
                float sq = 0.0f;
                for (int j = a; j <= b; j++) {
                    float v = view_in_row(in, out, j, y)[i];
                    sq += v * v;
                }
                d[i] = x[i] * powf(p->bias + k * sq, -p->beta);
            }
        }
    }
}

const op_def op_lrn = {
    .min_in = 1, .max_in = 1, .param_size = sizeof(lrn_param),
    .parse = lrn_parse, .infer = op_infer_same, .forward = lrn_forward,
};
