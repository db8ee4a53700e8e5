/*
** pad.c: constant padding of the map's borders.
*/
#include <stdio.h>

#include "ops/op.h"

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
    return FCN_OK;
}

static int pad_infer(const node *n, const shape *const *in, shape *out,
                     char *msg, size_t msz)
{
    const pad_param *p = n->param;
    *out = *in[0];
    out->h = in[0]->h + p->pt + p->pb;
    out->w = in[0]->w + p->pl + p->pr;
    if (out->h < 1 || out->w < 1 || out->h > MEM_MAX_DIM ||
        out->w > MEM_MAX_DIM) {
        snprintf(msg, msz, "padding gives a %dx%d map", out->h, out->w);
        return 0;
    }
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
    .forward = pad_forward,
};
