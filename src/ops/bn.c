/*
** bn.c: BatchNorm at inference: y = x * scale + shift per channel, with
** scale = gamma / sqrt(var + eps) and shift = beta - mean * scale
** computed in double at load. After a convolution it is folded into the
** convolution's weights (the conv's fuse reads as_affine).
*/
#include <math.h>
#include <stdio.h>

#include "ops/op.h"
#include "util/err.h"

typedef struct bn_param {
    int c;
    float *scale, *shift;  /* owned */
} bn_param;

static fcn_status bn_parse(op_parse *c, node *n)
{
    bn_param *p = n->param;
    float eps = attr_float(c, "eps", 1e-5f);
    const layer_weight *g = attr_weight(c, "scale", 1),
                       *b = attr_weight(c, "bias", 1),
                       *mu = attr_weight(c, "mean", 1),
                       *var = attr_weight(c, "var", 1);
    if (c->st)
        return c->st;
    int64_t cc = g->count;
    if (g->ndim != 1 || !weight_dims_are(b, 1, &cc) ||
        !weight_dims_are(mu, 1, &cc) || !weight_dims_are(var, 1, &cc) ||
        cc < 1 || cc > MEM_MAX_DIM || eps < 0)
        return op_fail(c, FCN_ERR_FORMAT, "scale, bias, mean and var must be "
                       "[C] of one size C in 1..%d (they have %lld, %lld, "
                       "%lld, %lld values), eps >= 0 (%g)", MEM_MAX_DIM,
                       (long long)g->count,
                       (long long)b->count, (long long)mu->count,
                       (long long)var->count, eps);
    p->c = (int)cc;
    p->scale = floats_copy(NULL, cc);
    p->shift = floats_copy(NULL, cc);
    if (!p->scale || !p->shift)
        return err_set(FCN_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < cc; i++) {
        double s = g->data[i] / sqrt((double)var->data[i] + eps);
        if (!(var->data[i] + eps > 0) || !isfinite(s))
            return op_fail(c, FCN_ERR_FORMAT, "channel %lld has variance %g",
                           (long long)i, var->data[i]);
        p->scale[i] = (float)s;
        p->shift[i] = (float)(b->data[i] - mu->data[i] * s);
    }
    return FCN_OK;
}

static int bn_infer(const node *n, const shape *const *in, shape *out,
                    char *msg, size_t msz)
{
    const bn_param *p = n->param;
    *out = *in[0];
    if (in[0]->c != p->c) {
        snprintf(msg, msz, "has %d channels of parameters, input has %d",
                 p->c, in[0]->c);
        return 0;
    }
    return 1;
}

static int bn_affine(const node *n, const float **scale, const float **shift)
{
    const bn_param *p = n->param;
    *scale = p->scale;
    *shift = p->shift;
    return 1;
}

static void bn_forward(const node *n, const op_run *r, par *pr)
{
    const bn_param *p = n->param;
    const view *in = &r->in[0], *out = r->out;
    int64_t c0, c1;
    par_range(pr, out->c, &c0, &c1);
    for (int c = (int)c0; c < c1; c++)
        for (int y = 0; y < out->h; y++) {
            const float *x = view_in_row(in, out, c, y);
            float *d = view_row(out, c, y);
            for (int i = 0; i < out->w; i++)
                d[i] = x[i] * p->scale[c] + p->shift[c];
        }
}

static void bn_release(node *n)
{
    bn_param *p = n->param;
    mem_free(p->scale);
    mem_free(p->shift);
    p->scale = p->shift = NULL;
}

const op_def op_bn = {
    .min_in = 1, .max_in = 1, .param_size = sizeof(bn_param),
    .parse = bn_parse, .infer = bn_infer, .as_affine = bn_affine,
    .forward = bn_forward, .release = bn_release,
};
