/*
** add.c: the elementwise sum of two or more tensors of one shape, with an
** activation fused at load (ResNet's ReLU after each residual sum).
*/
#include <stdio.h>
#include <string.h>

#include "ops/op.h"

static int add_infer(const node *n, const shape *const *in, shape *out,
                     char *msg, size_t msz)
{
    const shape a = *in[0];
    for (int i = 1; i < n->n_in; i++) {
        const shape b = *in[i];
        if (b.h != a.h || b.w != a.w || b.c != a.c) {
            snprintf(msg, msz, "input %d is %dx%dx%d, input 0 is %dx%dx%d",
                     i, b.c, b.h, b.w, a.c, a.h, a.w);
            return 0;
        }
    }
    *out = a;
    return 1;
}

static fcn_status add_fuse(node *n, const node *next, int *done)
{
    act_param *act = n->param;
    const op_def *d = op_get(next->op);
    *done = 0;
    if (act->kind == ACT_NONE && d->as_act) {
        *act = *d->as_act(next);
        *done = 1;
    }
    return FCN_OK;
}

static void add_forward(const node *n, const op_run *r, par *pr)
{
    const act_param *act = n->param;
    const view *out = r->out;
    int64_t c0, c1;
    par_range(pr, out->c, &c0, &c1);
    for (int c = (int)c0; c < c1; c++)
        for (int y = 0; y < out->h; y++) {
            float *d = view_row(out, c, y);
            memcpy(d, view_in_row(&r->in[0], out, c, y),
                   sizeof(float) * out->w);
            for (int j = 1; j < n->n_in; j++) {
                const float *x = view_in_row(&r->in[j], out, c, y);
                for (int i = 0; i < out->w; i++)
                    d[i] += x[i];
            }
            if (act->kind != ACT_NONE)
                act_apply(act, d, out->w);
        }
}

static void add_describe(const node *n, char *buf, size_t size)
{
    const act_param *act = n->param;
    snprintf(buf, size, "%s", act->kind != ACT_NONE ? " +act" : "");
}

const op_def op_add = {
    .min_in = 2, .max_in = 0, .param_size = sizeof(act_param),
    .infer = add_infer, .fuse = add_fuse,
    .forward = add_forward, .describe = add_describe,
};
