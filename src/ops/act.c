/*
** act.c: the activation ops (Relu, LeakyRelu, Clip, Sigmoid, Tanh,
** HardSwish, HardSigmoid, Mul by a constant). At load an activation after
** a convolution or a sum is fused into it (their fuse reads as_act); the
** rest run here, elementwise, split by channel.
*/
#include <math.h>
#include <string.h>

#include "ops/op.h"

static fcn_status act_parse(op_parse *c, node *n)
{
    act_param *a = n->param;
    switch (n->op) {
    case OP_RELU: a->kind = ACT_RELU; break;
    case OP_LEAKY:
        a->kind = ACT_LEAKY;
        a->a = attr_float(c, "alpha", 0.01f);
        break;
    case OP_CLIP:
        a->kind = ACT_CLIP;
        a->a = attr_float(c, "min", -INFINITY);
        a->b = attr_float(c, "max", INFINITY);
        if (!c->st && !(a->a <= a->b))
            return op_fail(c, FCN_ERR_FORMAT, "min %g > max %g", a->a, a->b);
        break;
    case OP_SIGMOID: a->kind = ACT_SIGMOID; break;
    case OP_TANH: a->kind = ACT_TANH; break;
    case OP_HSWISH: a->kind = ACT_HSWISH; break;
    case OP_HSIGMOID:
        a->kind = ACT_HSIGMOID;
        a->a = attr_float(c, "alpha", 0.2f);
        a->b = attr_float(c, "beta", 0.5f);
        break;
    case OP_MUL:
        a->kind = ACT_MUL;
        a->a = attr_float(c, "value", 1.0f);
        break;
    default:
        break;
    }
    return FCN_OK;
}

static const act_param *act_of(const node *n) { return n->param; }

static void act_forward(const node *n, const op_run *r, par *pr)
{
    const view *in = &r->in[0], *out = r->out;
    int64_t c0, c1;
    par_range(pr, out->c, &c0, &c1);
    for (int c = (int)c0; c < c1; c++)
        for (int y = 0; y < out->h; y++) {
            float *d = view_row(out, c, y);
            memcpy(d, view_in_row(in, out, c, y), sizeof(float) * out->w);
            act_apply(n->param, d, out->w);
        }
}

#define ACT_DEF                                                              \
    .flags = OPF_ELEMENTWISE, .min_in = 1, .max_in = 1,                      \
    .param_size = sizeof(act_param), .parse = act_parse,                     \
    .infer = op_infer_same, .as_act = act_of, .forward = act_forward

const op_def op_relu = {ACT_DEF};
const op_def op_leaky = {ACT_DEF};
const op_def op_clip = {ACT_DEF};
const op_def op_sigmoid = {ACT_DEF};
const op_def op_tanh = {ACT_DEF};
const op_def op_hswish = {ACT_DEF};
const op_def op_hsigmoid = {ACT_DEF};
const op_def op_mul = {ACT_DEF};
