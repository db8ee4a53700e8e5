/*
** pad.c: constant padding of the map's borders.
*/
#include <stdio.h>

#include "ops/op.h"

/* The most a Pad op adds on one side: the largest kernel a model.bin can
** hold (a Conv weight's kh, kw). A Pad stands for the padding of the
** window op after it; anything wider only adds cells that see nothing
** but the padding value (docs/model-format.md, "Limits and validation"). */
#define PAD_MAX 4096

typedef struct pad_param {
    int pt, pl, pb, pr;
    float value;
} pad_param;

static fcn_status pad_parse(op_parse *c, node *n)
{
    pad_param *p = n->param;
    int v[4] = {0, 0, 0, 0};
    attr_ints(c, "pad", 4, v, 1);
    *p = (pad_param){v[0], v[1], v[2], v[3], attr_float(c, "value", 0.0f)};
    if (c->st)
        return c->st;
    for (int i = 0; i < 4; i++)
        if (v[i] < 0 || v[i] > PAD_MAX)
            return op_fail(c, FCN_ERR_FORMAT, "padding %d,%d,%d,%d (top, "
                           "left, bottom, right): each must be 0 to %d",
                           v[0], v[1], v[2], v[3], PAD_MAX);
    return FCN_OK;
}

static int pad_infer(const node *n, const shape *const *in, shape *out,
                     char *msg, size_t msz)
{
    const pad_param *p = n->param;
    const int64_t h = (int64_t)in[0]->h + p->pt + p->pb,
                  w = (int64_t)in[0]->w + p->pl + p->pr;
    if (h > MEM_MAX_DIM || w > MEM_MAX_DIM) {
        snprintf(msg, msz, "padding gives a %lldx%lld map (at most %d a "
                 "side)", (long long)h, (long long)w, MEM_MAX_DIM);
        return 0;
    }
    *out = (shape){in[0]->c, (int)h, (int)w};
    return 1;
}

/* Output o reads input o - (leading padding). */
static void pad_window(const node *n, int axis, int *k, int *s, int *d,
                       int *p)
{
    const pad_param *q = n->param;
    *k = *s = *d = 1;
    *p = axis ? q->pl : q->pt;
}

/* Padding of a map `dense` times denser (pads have stride 1: f is 1). */
static void pad_densify(node *n, int axis, int dense, int f)
{
    (void)f;
    pad_param *q = n->param;
    *(axis ? &q->pl : &q->pt) *= dense;
    *(axis ? &q->pr : &q->pb) *= dense;
}

static void pad_forward(const node *n, const op_run *r, par *pr)
{
    const pad_param *p = n->param;
    const view *in = &r->in[0], *out = r->out;
    int64_t c0, c1;
    par_range(pr, out->c, &c0, &c1);
    for (int c = (int)c0; c < c1; c++)
        for (int y = 0; y < out->h; y++) {
            float *d = view_row(out, c, y);
            int iy = out->y0 + y - p->pt;
            for (int i = 0; i < out->w; i++) {
                int ix = out->x0 + i - p->pl;
                d[i] = iy >= 0 && iy < in->H && ix >= 0 && ix < in->W
                           ? in->p[(int64_t)c * in->ps +
                                   (int64_t)(iy - in->y0) * in->rs + ix - in->x0]
                           : p->value;
            }
        }
}

const op_def op_pad = {
    .min_in = 1, .max_in = 1, .param_size = sizeof(pad_param),
    .parse = pad_parse, .infer = pad_infer, .window = pad_window,
    .densify = pad_densify,
    .forward = pad_forward,
};
