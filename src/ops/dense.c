/*
** dense.c: the dense head: Flatten and Dense, and their conversion at load
** (docs/conversion.md). Flatten -> Dense after a C x h x w map (at the
** trained size) becomes a convolution with N filters of h x w: weight
** W[n, i] is filter[n, c, y, x] with i = c*h*w + y*w + x for channels-first
** features ("chw", used in place), i = (y*w + x)*C + c for channels-last
** ("hwc", reordered). A Dense on features that are not a flattened map is
** a 1x1 convolution. Flatten itself is then only a reinterpretation.
*/
#include <stdio.h>
#include <string.h>

#include "ops/conv.h"
#include "util/err.h"

typedef struct dense_param {
    int n, k;            /* outputs, inputs: the weight is n x k */
    const float *w, *b;  /* in the file */
} dense_param;

typedef struct flatten_param {
    int hwc;             /* channels-last features */
} flatten_param;

static fcn_status dense_parse(op_parse *c, node *n)
{
    dense_param *p = n->param;
    const layer_weight *w = attr_weight(c, "weight", 1),
                       *b = attr_weight(c, "bias", 0);
    if (c->st)
        return c->st;
    if (w->ndim != 2 || w->dims[0] < 1 || w->dims[1] < 1 ||
        w->dims[0] > MEM_MAX_DIM || w->dims[1] > MEM_MAX_DIM)
        return op_fail(c, FCN_ERR_FORMAT, "weight must be [N, K] (outputs x "
                       "inputs)");
    p->n = (int)w->dims[0];
    p->k = (int)w->dims[1];
    if (b && !weight_dims_are(b, 1, &w->dims[0]))
        return op_fail(c, FCN_ERR_FORMAT, "bias has %lld values for %d "
                       "outputs", (long long)b->count, p->n);
    p->w = w->data;
    p->b = b ? b->data : NULL;
    return FCN_OK;
}

static int dense_infer(const node *n, const shape *const *in, shape *out,
                       char *msg, size_t msz)
{
    const dense_param *p = n->param;
    const shape a = *in[0];
    if (a.h != 1 || a.w != 1 || (int64_t)a.c != p->k) {
        snprintf(msg, msz, "weight expects %d inputs, gets %dx%dx%d = %lld",
                 p->k, a.c, a.h, a.w, (long long)a.c * a.h * a.w);
        return 0;
    }
    *out = (shape){p->n, 1, 1};
    return 1;
}

/* Dense -> conv. The flatten (if any) that produced the features was found
** by the pass, walking back through elementwise ops. */
static fcn_status dense_to_fcn(const op_convert *c, node *d)
{
    const dense_param *p = d->param;
    const node *flat = c->flatten;
    shape map = c->in[0];  /* (K,1,1) or a 1x1 map */
    int hwc = 0;
    if (flat) {
        map = c->flat_in;
        hwc = ((const flatten_param *)flat->param)->hwc;
    }
    if ((int64_t)map.c * map.h * map.w != p->k)
        return err_set(FCN_ERR_SHAPE, "layer '%s' (Dense): weight expects %d "
                       "inputs, the feature map at the trained size is "
                       "%dx%dx%d = %lld", d->name, p->k, map.c, map.h, map.w,
                       (long long)map.c * map.h * map.w);
    const int64_t K = p->k, N = p->n, hw = (int64_t)map.h * map.w;
    /* channels-first features already are the conv kernel, in place; a
    ** channels-last flatten needs its inputs reordered */
    const int reorder = hwc && map.c > 1 && hw > 1;
    float *w = reorder ? floats_copy(NULL, N * K) : NULL,
          *b = floats_copy(NULL, N);
    if ((reorder && !w) || !b) {
        mem_free(w);
        mem_free(b);
        return err_set(FCN_ERR_NOMEM, "out of memory converting '%s'",
                       d->name);
    }
    for (int64_t o = 0; o < N; o++) {
        const float *src = p->w + o * K;
        if (reorder)  /* i = (y*w + x)*C + c  ->  filter[c][y][x] */
            for (int64_t ch = 0; ch < map.c; ch++)
                for (int64_t q = 0; q < hw; q++)
                    w[o * K + ch * hw + q] = src[q * map.c + ch];
        b[o] = p->b ? p->b[o] : 0.0f;
    }
    d->label = flat && hw > 1 ? "Dense as conv" : "Dense as 1x1 conv";
    if (!conv_become(d, c->ar, map.c, (int)N, map.h, map.w,
                     reorder ? w : p->w, w, b)) {
        mem_free(w);
        mem_free(b);
        return err_set(FCN_ERR_NOMEM, "out of memory converting '%s'",
                       d->name);
    }
    return FCN_OK;
}

const op_def op_dense = {
    .flags = OPF_FLAT_READER, .min_in = 1, .max_in = 1,
    .param_size = sizeof(dense_param),
    .parse = dense_parse, .infer = dense_infer, .to_fcn = dense_to_fcn,
};

static fcn_status flatten_parse(op_parse *c, node *n)
{
    flatten_param *p = n->param;
    const char *o = attr_str(c, "order", "chw");
    if (!c->st && strcmp(o, "chw") && strcmp(o, "hwc"))
        return op_fail(c, FCN_ERR_FORMAT, "order '%s' (expected 'chw' or "
                       "'hwc')", o);
    p->hwc = !strcmp(o, "hwc");
    return FCN_OK;
}

static int flatten_infer(const node *n, const shape *const *in, shape *out,
                         char *msg, size_t msz)
{
    (void)n;
    const shape a = *in[0];
    int64_t k = (int64_t)a.c * a.h * a.w;
    if (k > MEM_MAX_DIM) {
        snprintf(msg, msz, "flattens %lld values, too many", (long long)k);
        return 0;
    }
    *out = (shape){(int)k, 1, 1};
    return 1;
}

const op_def op_flatten = {
    .flags = OPF_FLATTEN, .min_in = 1, .max_in = 1,
    .param_size = sizeof(flatten_param),
    .parse = flatten_parse, .infer = flatten_infer,
};
