/*
** graph.c: the typed layer graph, its shape inference, and the load-time
** conversion of a classifier into a fully convolutional network.
**
** The conversion (docs/conversion.md):
**   Flatten -> Dense      conv with a kernel the size of the trained map
**   Dense -> Dense        1x1 conv
**   global pooling        pool with the trained window, stride 1 (or none,
**                         FCN_GAP_LOCAL); also a pool that covers the whole
**                         trained map (a global pool in disguise)
**   Dropout, Identity     removed
**   BatchNorm after conv  folded into the conv
**   activation after conv (or Add) fused into it
**   flip=1 conv kernels   flipped (trained as true convolution)
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- attribute access ---- */

typedef struct lctx {
    const rd_layer *L;
    fcn_status st;  /* first error */
} lctx;

static rd_attr *find_attr(const rd_layer *L, const char *key)
{
    for (uint32_t i = 0; i < L->attrs.n; i++)
        if (!strcmp(L->attrs.a[i].key, key))
            return &L->attrs.a[i];
    return NULL;
}

static void lerr(lctx *c, fcn_status st, const char *msg, const char *key)
{
    if (!c->st)
        c->st = fcn_error(st, "layer '%s' (%s): %s '%s'", c->L->name,
                          c->L->op, msg, key);
}

/* n ints into v (defaults kept when absent); n_alt: also accept that many
** values, each repeated (e.g. one kernel size for both axes). */
static void attr_ints(lctx *c, const char *key, int n, int *v, int required)
{
    rd_attr *a = find_attr(c->L, key);
    if (!a) {
        if (required)
            lerr(c, FCN_ERR_FORMAT, "missing attribute", key);
        return;
    }
    a->used = 1;
    if (a->type != 'i' || !(a->n == (uint32_t)n || a->n == 1)) {
        lerr(c, FCN_ERR_FORMAT, "wrong type or count of values in attribute",
             key);
        return;
    }
    for (int i = 0; i < n; i++) {
        int64_t x = a->iv[a->n == 1 ? 0 : i];
        if (x < -FCN_MAX_DIM || x > FCN_MAX_DIM) {
            lerr(c, FCN_ERR_FORMAT, "absurd value in attribute", key);
            return;
        }
        v[i] = (int)x;
    }
}

static float attr_float(lctx *c, const char *key, float def)
{
    rd_attr *a = find_attr(c->L, key);
    if (!a)
        return def;
    a->used = 1;
    if (a->type == 'i' && a->n == 1)
        return (float)a->iv[0];
    if (a->type != 'f' || a->n != 1 || !isfinite(a->fv[0])) {
        lerr(c, FCN_ERR_FORMAT, "expected one finite float in attribute", key);
        return def;
    }
    return a->fv[0];
}

static const char *attr_str(lctx *c, const char *key, const char *def)
{
    rd_attr *a = find_attr(c->L, key);
    if (!a)
        return def;
    a->used = 1;
    if (a->type != 's') {
        lerr(c, FCN_ERR_FORMAT, "expected a string in attribute", key);
        return def;
    }
    return a->sv;
}

static rd_weight *weight(lctx *c, const char *name, int required)
{
    for (uint32_t i = 0; i < c->L->n_w; i++)
        if (!strcmp(c->L->w[i].name, name)) {
            c->L->w[i].used = 1;
            return &c->L->w[i];
        }
    if (required)
        lerr(c, FCN_ERR_FORMAT, "missing weight", name);
    return NULL;
}

static void check_unused(lctx *c)
{
    for (uint32_t i = 0; i < c->L->attrs.n && !c->st; i++)
        if (!c->L->attrs.a[i].used)
            lerr(c, FCN_ERR_FORMAT, "unknown attribute", c->L->attrs.a[i].key);
    for (uint32_t i = 0; i < c->L->n_w && !c->st; i++)
        if (!c->L->w[i].used)
            lerr(c, FCN_ERR_FORMAT, "unknown weight", c->L->w[i].name);
}

/* ---- string -> tensor id ---- */

typedef struct name_map {
    const char **keys;
    int *vals;
    size_t cap;
} name_map;

static size_t hash_str(const char *s)
{
    size_t h = 1469598103934665603u;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211u;
    return h;
}

static int map_get(const name_map *m, const char *k)
{
    for (size_t i = hash_str(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->keys[i])
            return -1;
        if (!strcmp(m->keys[i], k))
            return m->vals[i];
    }
}

static void map_put(name_map *m, const char *k, int v)
{
    size_t i = hash_str(k) & (m->cap - 1);
    while (m->keys[i])
        i = (i + 1) & (m->cap - 1);
    m->keys[i] = k;
    m->vals[i] = v;
}

/* ---- shapes ---- */

int window_out(int in, int k, int s, int d, int pa, int pb, int ceil_mode)
{
    int64_t keff = (int64_t)(k - 1) * d + 1;
    int64_t span = (int64_t)in + pa + pb - keff;
    if (span < 0 || s < 1)
        return 0;
    int64_t o = ceil_mode ? (span + s - 1) / s + 1 : span / s + 1;
    if (ceil_mode && (o - 1) * s >= (int64_t)in + pa)
        o--;
    return o > FCN_MAX_DIM ? 0 : (int)o;
}

/* Shape of node n's output from its input shapes. msg gets the reason. */
static int infer_node(const node *n, const shape *const *in, shape *out,
                      char *msg, size_t msz)
{
    const shape a = *in[0];
    *out = a;
    switch (n->op) {
    case OP_CONV:
    case OP_MAXPOOL:
    case OP_AVGPOOL: {
        if (n->op == OP_CONV && a.c != n->cin) {
            snprintf(msg, msz, "expects %d input channels, gets %d", n->cin,
                     a.c);
            return 0;
        }
        int dh = n->op == OP_CONV ? n->dh : 1, dw = n->op == OP_CONV ? n->dw : 1;
        out->h = window_out(a.h, n->kh, n->sh, dh, n->pt, n->pb, n->ceil_mode);
        out->w = window_out(a.w, n->kw, n->sw, dw, n->pl, n->pr, n->ceil_mode);
        if (n->op == OP_CONV)
            out->c = n->cout;
        if (out->h < 1 || out->w < 1) {
            snprintf(msg, msz, "%dx%d window does not fit its %dx%d input "
                     "(padding %d,%d,%d,%d)", (n->kh - 1) * dh + 1,
                     (n->kw - 1) * dw + 1, a.h, a.w, n->pt, n->pl, n->pb,
                     n->pr);
            return 0;
        }
        return 1;
    }
    case OP_DENSE:
        if (a.h != 1 || a.w != 1 || (int64_t)a.c != n->dense_k) {
            snprintf(msg, msz, "weight expects %d inputs, gets %dx%dx%d = "
                     "%lld", n->dense_k, a.c, a.h, a.w,
                     (long long)a.c * a.h * a.w);
            return 0;
        }
        out->c = n->dense_n;
        return 1;
    case OP_FLATTEN: {
        int64_t k = (int64_t)a.c * a.h * a.w;
        if (k > FCN_MAX_DIM) {
            snprintf(msg, msz, "flattens %lld values, too many", (long long)k);
            return 0;
        }
        out->c = (int)k;
        out->h = out->w = 1;
        return 1;
    }
    case OP_GAP:
    case OP_GMP:
        out->h = out->w = 1;
        return 1;
    case OP_BN:
        if (a.c != n->cout) {
            snprintf(msg, msz, "has %d channels of parameters, input has %d",
                     n->cout, a.c);
            return 0;
        }
        return 1;
    case OP_PAD:
        out->h = a.h + n->pt + n->pb;
        out->w = a.w + n->pl + n->pr;
        if (out->h < 1 || out->w < 1 || out->h > FCN_MAX_DIM ||
            out->w > FCN_MAX_DIM) {
            snprintf(msg, msz, "padding gives a %dx%d map", out->h, out->w);
            return 0;
        }
        return 1;
    case OP_ADD:
    case OP_CONCAT: {
        int64_t c = a.c;
        for (int i = 1; i < n->n_in; i++) {
            const shape b = *in[i];
            if (b.h != a.h || b.w != a.w ||
                (n->op == OP_ADD && b.c != a.c)) {
                snprintf(msg, msz, "input %d is %dx%dx%d, input 0 is "
                         "%dx%dx%d", i, b.c, b.h, b.w, a.c, a.h, a.w);
                return 0;
            }
            c += n->op == OP_CONCAT ? b.c : 0;
        }
        if (c > FCN_MAX_DIM) {
            snprintf(msg, msz, "concatenates too many channels");
            return 0;
        }
        out->c = (int)c;
        return 1;
    }
    case OP_ACT:
    case OP_LRN:
    case OP_IDENTITY:
    case OP_SOFTMAX:
        return 1;
    }
    return 1;
}

static fcn_status infer_all(const node *nodes, int n_nodes, shape input,
                            shape *shapes, int check_size)
{
    shapes[0] = input;
    char msg[200];
    for (int i = 0; i < n_nodes; i++) {
        const node *n = &nodes[i];
        const shape *in[FCN_MAX_INPUTS];
        for (int j = 0; j < n->n_in; j++)
            in[j] = &shapes[n->in[j]];
        if (!infer_node(n, in, &shapes[n->out], msg, sizeof msg))
            return fcn_error(FCN_ERR_SHAPE, "layer '%s' (%s): %s", n->name,
                             n->opname, msg);
        int64_t e = (int64_t)shapes[n->out].c * shapes[n->out].h *
                    shapes[n->out].w;
        if (check_size && e > ((int64_t)1 << 34))
            return fcn_error(FCN_ERR_NOMEM, "layer '%s' (%s): output of "
                             "%lld floats is too large", n->name, n->opname,
                             (long long)e);
    }
    return FCN_OK;
}

fcn_status graph_infer(const fcn_model *m, int h, int w, shape *shapes)
{
    if (h < 1 || w < 1 || h > FCN_MAX_DIM || w > FCN_MAX_DIM)
        return fcn_error(FCN_ERR_ARG, "input size %dx%d is impossible", w, h);
    fcn_status st = infer_all(m->nodes, m->n_nodes,
                              (shape){m->in_c, h, w}, shapes, 1);
    if (st == FCN_ERR_SHAPE && (h < m->min_h || w < m->min_w)) {
        char why[400];
        snprintf(why, sizeof why, "%s", fcn_last_error());
        return fcn_error(FCN_ERR_SHAPE, "input %dx%d is smaller than the "
                         "network needs (at least %dx%d, width x height): %s",
                         w, h, m->min_w, m->min_h, why);
    }
    return st;
}

int node_own_weight(node *n)
{
    if (n->weight_buf)
        return 1;
    int64_t cnt = (int64_t)n->cout * (n->cin / n->groups) * n->kh * n->kw;
    n->weight_buf = fcn_aligned_alloc((size_t)cnt * sizeof(float));
    if (!n->weight_buf)
        return 0;
    memcpy(n->weight_buf, n->weight, (size_t)cnt * sizeof(float));
    n->weight = n->weight_buf;
    return 1;
}

void node_free_weights(node *n)
{
    fcn_free(n->wino);
    n->wino = NULL;
    fcn_free(n->packed);
    n->packed = NULL;
    fcn_free(n->weight_buf);
    n->weight_buf = NULL;
    fcn_free(n->bias);
    fcn_free(n->bn_scale);
    fcn_free(n->bn_shift);
    n->weight = n->bias = n->bn_scale = n->bn_shift = NULL;
}

/* ---- parsing layers into nodes ---- */

static float *copy_floats(const float *src, int64_t n)
{
    float *p = fcn_aligned_alloc((size_t)n * sizeof(float));
    if (p && src)
        memcpy(p, src, (size_t)n * sizeof(float));
    return p;
}

static int dims_are(const rd_weight *w, int nd, const int64_t *d)
{
    if (w->ndim != nd)
        return 0;
    for (int i = 0; i < nd; i++)
        if (w->dims[i] != d[i])
            return 0;
    return 1;
}

static void parse_window(lctx *c, node *n, int is_conv)
{
    int k[2] = {0, 0}, s[2] = {1, 1}, p[4] = {0, 0, 0, 0}, d[2] = {1, 1};
    attr_ints(c, "kernel", 2, k, !is_conv);
    if (!is_conv) {
        s[0] = k[0];
        s[1] = k[1];
    }
    attr_ints(c, "stride", 2, s, 0);
    attr_ints(c, "pad", 4, p, 0);
    if (is_conv)
        attr_ints(c, "dilation", 2, d, 0);
    n->kh = k[0]; n->kw = k[1]; n->sh = s[0]; n->sw = s[1];
    n->pt = p[0]; n->pl = p[1]; n->pb = p[2]; n->pr = p[3];
    n->dh = d[0]; n->dw = d[1];
    if (c->st)
        return;
    if ((!is_conv && (n->kh < 1 || n->kw < 1)) || n->sh < 1 || n->sw < 1 ||
        n->dh < 1 || n->dw < 1 || n->pt < 0 || n->pl < 0 || n->pb < 0 ||
        n->pr < 0)
        c->st = fcn_error(FCN_ERR_FORMAT, "layer '%s' (%s): kernel %dx%d, "
                          "stride %dx%d, dilation %dx%d, padding %d,%d,%d,%d: "
                          "sizes must be positive and padding non-negative",
                          c->L->name, c->L->op, n->kh, n->kw, n->sh, n->sw,
                          n->dh, n->dw, n->pt, n->pl, n->pb, n->pr);
    else if (!is_conv && (n->pt >= n->kh || n->pb >= n->kh ||
                          n->pl >= n->kw || n->pr >= n->kw))
        c->st = fcn_error(FCN_ERR_FORMAT, "layer '%s' (%s): padding %d,%d,%d,%d"
                          " must be smaller than the %dx%d window",
                          c->L->name, c->L->op, n->pt, n->pl, n->pb, n->pr,
                          n->kh, n->kw);
}

static const struct {
    const char *name;
    op_kind op;
    act_kind act;
} op_table[] = {
    {"Conv", OP_CONV, ACT_NONE},         {"Dense", OP_DENSE, ACT_NONE},
    {"Flatten", OP_FLATTEN, ACT_NONE},   {"MaxPool", OP_MAXPOOL, ACT_NONE},
    {"AvgPool", OP_AVGPOOL, ACT_NONE},   {"GlobalAvgPool", OP_GAP, ACT_NONE},
    {"GlobalMaxPool", OP_GMP, ACT_NONE}, {"Relu", OP_ACT, ACT_RELU},
    {"LeakyRelu", OP_ACT, ACT_LEAKY},    {"Clip", OP_ACT, ACT_CLIP},
    {"Sigmoid", OP_ACT, ACT_SIGMOID},    {"Tanh", OP_ACT, ACT_TANH},
    {"HardSwish", OP_ACT, ACT_HSWISH},   {"HardSigmoid", OP_ACT, ACT_HSIGMOID},
    {"Mul", OP_ACT, ACT_MUL},            {"BatchNorm", OP_BN, ACT_NONE},
    {"LRN", OP_LRN, ACT_NONE},           {"Add", OP_ADD, ACT_NONE},
    {"Concat", OP_CONCAT, ACT_NONE},     {"Pad", OP_PAD, ACT_NONE},
    {"Dropout", OP_IDENTITY, ACT_NONE},  {"Identity", OP_IDENTITY, ACT_NONE},
    {"Softmax", OP_SOFTMAX, ACT_NONE},
};

static fcn_status unknown_op(const rd_layer *L)
{
    char list[512] = "";
    for (size_t i = 0; i < sizeof op_table / sizeof op_table[0]; i++) {
        strcat(list, i ? ", " : "");
        strcat(list, op_table[i].name);
    }
    return fcn_error(FCN_ERR_UNSUPPORTED, "layer '%s': unknown op '%s' "
                     "(supported: %s)", L->name, L->op, list);
}

/* Fill n from L. Weights still point into the file; conv/bn params that
** need no input shape are validated here, the rest in infer_all. */
static fcn_status parse_layer(const rd_layer *L, node *n, arena *ar)
{
    lctx c = {L, FCN_OK};
    size_t k;
    for (k = 0; k < sizeof op_table / sizeof op_table[0]; k++)
        if (!strcmp(op_table[k].name, L->op))
            break;
    if (k == sizeof op_table / sizeof op_table[0])
        return unknown_op(L);
    n->op = op_table[k].op;
    n->act.kind = op_table[k].act;
    n->name = arena_strdup(ar, L->name, strlen(L->name));
    n->opname = op_table[k].name;
    if (!n->name)
        return fcn_error(FCN_ERR_NOMEM, "out of memory");
    int want_in = n->op == OP_ADD ? 2 : n->op == OP_CONCAT ? 1 : -1;
    if ((want_in < 0 && L->n_in != 1) || (want_in > 0 && (int)L->n_in < want_in))
        return fcn_error(FCN_ERR_FORMAT, "layer '%s' (%s): has %u inputs, "
                         "expects %s", L->name, L->op, L->n_in,
                         want_in < 0 ? "1" : want_in == 2 ? "at least 2"
                                                          : "at least 1");
    switch (n->op) {
    case OP_CONV: {
        parse_window(&c, n, 1);
        n->groups = 1;
        attr_ints(&c, "groups", 1, &n->groups, 0);
        attr_ints(&c, "kernel", 2, &n->kh, 0);
        int flip = 0;
        attr_ints(&c, "flip", 1, &flip, 0);
        n->flip = flip != 0;
        rd_weight *w = weight(&c, "weight", 1), *b = weight(&c, "bias", 0);
        if (c.st)
            return c.st;
        if (w->ndim != 4 || w->dims[0] < 1 || w->dims[1] < 1 ||
            w->dims[2] < 1 || w->dims[3] < 1 || w->dims[0] > FCN_MAX_DIM ||
            w->dims[1] > FCN_MAX_DIM || w->dims[2] > 4096 ||
            w->dims[3] > 4096)
            return fcn_error(FCN_ERR_FORMAT, "layer '%s' (Conv): weight must "
                             "be [Cout, Cin/groups, kh, kw] with sizes >= 1",
                             L->name);
        if (n->groups < 1 || w->dims[0] % n->groups)
            return fcn_error(FCN_ERR_FORMAT, "layer '%s' (Conv): %lld output "
                             "channels do not split into %d groups", L->name,
                             (long long)w->dims[0], n->groups);
        if ((n->kh && n->kh != w->dims[2]) || (n->kw && n->kw != w->dims[3]))
            return fcn_error(FCN_ERR_FORMAT, "layer '%s' (Conv): kernel "
                             "attribute %dx%d differs from the weight's "
                             "%lldx%lld", L->name, n->kh, n->kw,
                             (long long)w->dims[2], (long long)w->dims[3]);
        n->cout = (int)w->dims[0];
        n->kh = (int)w->dims[2];
        n->kw = (int)w->dims[3];
        int64_t cin = w->dims[1] * n->groups;
        if (cin > FCN_MAX_DIM)
            return fcn_error(FCN_ERR_FORMAT, "layer '%s': too many channels",
                             L->name);
        n->cin = (int)cin;
        if (b && !dims_are(b, 1, &w->dims[0]))
            return fcn_error(FCN_ERR_FORMAT, "layer '%s' (Conv): bias has "
                             "%lld values for %d output channels", L->name,
                             (long long)b->count, n->cout);
        n->dense_w = w->data;  /* raw, copied on conversion */
        n->dense_b = b ? b->data : NULL;
        break;
    }
    case OP_DENSE: {
        rd_weight *w = weight(&c, "weight", 1), *b = weight(&c, "bias", 0);
        if (c.st)
            return c.st;
        if (w->ndim != 2 || w->dims[0] < 1 || w->dims[1] < 1 ||
            w->dims[0] > FCN_MAX_DIM || w->dims[1] > FCN_MAX_DIM)
            return fcn_error(FCN_ERR_FORMAT, "layer '%s' (Dense): weight must "
                             "be [N, K] (outputs x inputs)", L->name);
        n->dense_n = (int)w->dims[0];
        n->dense_k = (int)w->dims[1];
        if (b && !dims_are(b, 1, &w->dims[0]))
            return fcn_error(FCN_ERR_FORMAT, "layer '%s' (Dense): bias has "
                             "%lld values for %d outputs", L->name,
                             (long long)b->count, n->dense_n);
        n->dense_w = w->data;
        n->dense_b = b ? b->data : NULL;
        break;
    }
    case OP_FLATTEN: {
        const char *o = attr_str(&c, "order", "chw");
        if (!c.st && strcmp(o, "chw") && strcmp(o, "hwc"))
            return fcn_error(FCN_ERR_FORMAT, "layer '%s' (Flatten): order "
                             "'%s' (expected 'chw' or 'hwc')", L->name, o);
        n->hwc = !strcmp(o, "hwc");
        break;
    }
    case OP_MAXPOOL:
    case OP_AVGPOOL:
        parse_window(&c, n, 0);
        n->dh = n->dw = 1;
        attr_ints(&c, "ceil_mode", 1, &n->ceil_mode, 0);
        n->count_include_pad = 1;
        if (n->op == OP_AVGPOOL)
            attr_ints(&c, "count_include_pad", 1, &n->count_include_pad, 0);
        break;
    case OP_ACT:
        switch (n->act.kind) {
        case ACT_LEAKY: n->act.a = attr_float(&c, "alpha", 0.01f); break;
        case ACT_CLIP:
            n->act.a = attr_float(&c, "min", -INFINITY);
            n->act.b = attr_float(&c, "max", INFINITY);
            if (!c.st && !(n->act.a <= n->act.b))
                return fcn_error(FCN_ERR_FORMAT, "layer '%s' (Clip): min %g > "
                                 "max %g", L->name, n->act.a, n->act.b);
            break;
        case ACT_HSIGMOID:
            n->act.a = attr_float(&c, "alpha", 0.2f);
            n->act.b = attr_float(&c, "beta", 0.5f);
            break;
        case ACT_MUL: n->act.a = attr_float(&c, "value", 1.0f); break;
        default: break;
        }
        break;
    case OP_BN: {
        float eps = attr_float(&c, "eps", 1e-5f);
        rd_weight *g = weight(&c, "scale", 1), *b = weight(&c, "bias", 1),
                  *mu = weight(&c, "mean", 1), *var = weight(&c, "var", 1);
        if (c.st)
            return c.st;
        int64_t cc = g->count;
        if (g->ndim != 1 || !dims_are(b, 1, &cc) || !dims_are(mu, 1, &cc) ||
            !dims_are(var, 1, &cc) || cc > FCN_MAX_DIM || eps < 0)
            return fcn_error(FCN_ERR_FORMAT, "layer '%s' (BatchNorm): scale, "
                             "bias, mean and var must be [C] of one size, "
                             "eps >= 0", L->name);
        n->cout = (int)cc;
        n->bn_scale = copy_floats(NULL, cc);
        n->bn_shift = copy_floats(NULL, cc);
        if (!n->bn_scale || !n->bn_shift)
            return fcn_error(FCN_ERR_NOMEM, "out of memory");
        for (int64_t i = 0; i < cc; i++) {
            double s = g->data[i] / sqrt((double)var->data[i] + eps);
            if (!(var->data[i] + eps > 0) || !isfinite(s))
                return fcn_error(FCN_ERR_FORMAT, "layer '%s' (BatchNorm): "
                                 "channel %lld has variance %g", L->name,
                                 (long long)i, var->data[i]);
            n->bn_scale[i] = (float)s;
            n->bn_shift[i] = (float)(b->data[i] - mu->data[i] * s);
        }
        break;
    }
    case OP_LRN:
        attr_ints(&c, "size", 1, &n->lrn_size, 1);
        n->lrn_alpha = attr_float(&c, "alpha", 1e-4f);
        n->lrn_beta = attr_float(&c, "beta", 0.75f);
        n->lrn_bias = attr_float(&c, "bias", 1.0f);
        if (!c.st && n->lrn_size < 1)
            return fcn_error(FCN_ERR_FORMAT, "layer '%s' (LRN): size %d < 1",
                             L->name, n->lrn_size);
        break;
    case OP_PAD: {
        int p[4] = {0, 0, 0, 0};
        attr_ints(&c, "pad", 4, p, 1);
        n->pt = p[0]; n->pl = p[1]; n->pb = p[2]; n->pr = p[3];
        n->pad_value = attr_float(&c, "value", 0.0f);
        break;
    }
    default:
        break;
    }
    check_unused(&c);
    return c.st;
}

/* ---- metadata ---- */

static fcn_status parse_meta(const rd_model *rd, fcn_model *m,
                             const char **input_name)
{
    rd_layer fake = {"model", "metadata", NULL, 0, NULL, rd->meta, 0, NULL};
    lctx c = {&fake, FCN_OK};
    int s[3] = {0, 0, 0};
    attr_ints(&c, "input_shape", 3, s, 1);
    if (c.st)
        return c.st;
    if (s[0] < 1 || s[1] < 1 || s[2] < 1 || s[0] > 4096 || s[1] > 65536 ||
        s[2] > 65536)
        return fcn_error(FCN_ERR_FORMAT, "model.bin: trained input shape "
                         "%dx%dx%d is impossible", s[0], s[1], s[2]);
    m->in_c = s[0]; m->in_h = s[1]; m->in_w = s[2];
    *input_name = attr_str(&c, "input", "input");
    const char *color = attr_str(&c, "color", s[0] == 1 ? "gray" : "rgb");
    const char *resize = attr_str(&c, "resize", "bilinear");
    m->scale = attr_float(&c, "scale", 1.0f / 255.0f);
    const char *name = attr_str(&c, "name", "");
    if (c.st)
        return c.st;
    if (strcmp(color, "rgb") && strcmp(color, "bgr") && strcmp(color, "gray"))
        return fcn_error(FCN_ERR_FORMAT, "model.bin: color '%s' (expected "
                         "rgb, bgr or gray)", color);
    if ((!strcmp(color, "gray") && m->in_c != 1) ||
        (strcmp(color, "gray") && m->in_c != 3))
        return fcn_error(FCN_ERR_FORMAT, "model.bin: color '%s' does not "
                         "match %d input channels", color, m->in_c);
    if (strcmp(resize, "bilinear") && strcmp(resize, "area"))
        return fcn_error(FCN_ERR_FORMAT, "model.bin: resize '%s' (expected "
                         "bilinear or area)", resize);
    snprintf(m->color, sizeof m->color, "%s", color);
    snprintf(m->resize, sizeof m->resize, "%s", resize);
    m->name = arena_strdup(&m->ar, name, strlen(name));
    m->mean = arena_alloc(&m->ar, sizeof(float) * m->in_c);
    m->std = arena_alloc(&m->ar, sizeof(float) * m->in_c);
    if (!m->name || !m->mean || !m->std)
        return fcn_error(FCN_ERR_NOMEM, "out of memory");
    for (int i = 0; i < m->in_c; i++)
        m->std[i] = 1.0f;
    const char *keys[2] = {"mean", "std"};
    float *dst[2] = {m->mean, m->std};
    for (int k = 0; k < 2; k++) {
        rd_attr *a = find_attr(&fake, keys[k]);
        if (!a)
            continue;
        if (a->type != 'f' || (a->n != 1 && a->n != (uint32_t)m->in_c))
            return fcn_error(FCN_ERR_FORMAT, "model.bin: '%s' needs 1 or %d "
                             "floats", keys[k], m->in_c);
        for (int i = 0; i < m->in_c; i++)
            dst[k][i] = a->fv[a->n == 1 ? 0 : i];
    }
    for (int i = 0; i < m->in_c; i++)
        if (!isfinite(m->mean[i]) || !(m->std[i] != 0) || !isfinite(m->std[i]))
            return fcn_error(FCN_ERR_FORMAT, "model.bin: mean/std of channel "
                             "%d is not usable", i);
    if (!isfinite(m->scale) || m->scale == 0)
        return fcn_error(FCN_ERR_FORMAT, "model.bin: scale %g is not usable",
                         m->scale);
    return FCN_OK;
}

/* ---- the conversion ---- */

/* If tensor t holds features flattened from a map (through per-element
** ops only), the Flatten node; else NULL. */
static const node *flattened_from(const node *nodes, int t)
{
    while (t > 0) {
        const node *q = &nodes[t - 1];
        if (q->op == OP_FLATTEN)
            return q;
        if (q->op != OP_IDENTITY && q->op != OP_ACT)
            return NULL;
        t = q->in[0];
    }
    return NULL;
}

/* Dense -> conv. in is the dense's input tensor at the trained size. The
** flatten (if any) that produced the features is found by walking back
** through elementwise ops. */
static fcn_status convert_dense(const node *nodes, node *d,
                                const shape *shapes)
{
    const node *flat = flattened_from(nodes, d->in[0]);
    shape map = shapes[d->in[0]];  /* (K,1,1) or a 1x1 map */
    int hwc = 0;
    if (flat) {
        map = shapes[flat->in[0]];
        hwc = flat->hwc;
    }
    if ((int64_t)map.c * map.h * map.w != d->dense_k)
        return fcn_error(FCN_ERR_SHAPE, "layer '%s' (Dense): weight expects %d "
                         "inputs, the feature map at the trained size is "
                         "%dx%dx%d = %lld", d->name, d->dense_k, map.c,
                         map.h, map.w, (long long)map.c * map.h * map.w);
    int64_t K = d->dense_k, N = d->dense_n, hw = (int64_t)map.h * map.w;
    /* channels-first features already are the conv kernel, in place; a
    ** channels-last flatten needs its inputs reordered */
    int reorder = hwc && map.c > 1 && hw > 1;
    float *w = reorder ? copy_floats(NULL, N * K) : NULL,
          *b = copy_floats(NULL, N);
    if ((reorder && !w) || !b) {
        fcn_free(w);
        fcn_free(b);
        return fcn_error(FCN_ERR_NOMEM, "out of memory converting '%s'",
                         d->name);
    }
    for (int64_t o = 0; o < N; o++) {
        const float *src = d->dense_w + o * K;
        float *dst = reorder ? w + o * K : NULL;
        if (reorder)  /* i = (y*w + x)*C + c  ->  filter[c][y][x] */
            for (int64_t c = 0; c < map.c; c++)
                for (int64_t p = 0; p < hw; p++)
                    dst[c * hw + p] = src[p * map.c + c];
        b[o] = d->dense_b ? d->dense_b[o] : 0.0f;
    }
    d->op = OP_CONV;
    d->opname = flat && hw > 1 ? "Dense as conv" : "Dense as 1x1 conv";
    d->weight = reorder ? w : (float *)d->dense_w;
    d->weight_buf = w;
    d->bias = b;
    d->cin = map.c;
    d->cout = (int)N;
    d->kh = map.h;
    d->kw = map.w;
    d->sh = d->sw = d->dh = d->dw = d->groups = 1;
    return FCN_OK;
}

static fcn_status convert(node *nodes, int n_nodes, const shape *shapes,
                          const fcn_options *opt)
{
    for (int i = 0; i < n_nodes; i++) {
        node *n = &nodes[i];
        shape in = shapes[n->in[0]], out = shapes[n->out];
        /* Only Dense (and per-element ops) may read features flattened
        ** from a map: anything else has no convolutional equivalent. */
        if (n->op != OP_DENSE && n->op != OP_ACT && n->op != OP_IDENTITY &&
            n->op != OP_FLATTEN)
            for (int j = 0; j < n->n_in; j++) {
                const node *f = flattened_from(nodes, n->in[j]);
                shape fs = f ? shapes[f->in[0]] : (shape){0, 0, 0};
                if (f && fs.h * fs.w > 1)
                    return fcn_error(FCN_ERR_UNSUPPORTED, "layer '%s' (%s) "
                                     "reads features flattened from a "
                                     "%dx%dx%d map by '%s'; only Dense can "
                                     "follow Flatten", n->name, n->opname,
                                     fs.c, fs.h, fs.w, f->name);
            }
        switch (n->op) {
        case OP_DENSE: {
            fcn_status st = convert_dense(nodes, n, shapes);
            if (st)
                return st;
            break;
        }
        case OP_CONV: {  /* kernels in place; flip true-convolution ones */
            int64_t per = (int64_t)n->kh * n->kw,
                    cnt = (int64_t)n->cout * (n->cin / n->groups) * per;
            n->weight = (float *)n->dense_w;
            n->bias = copy_floats(NULL, n->cout);
            if (!n->bias || (n->flip && !node_own_weight(n)))
                return fcn_error(FCN_ERR_NOMEM, "out of memory");
            for (int o = 0; o < n->cout; o++)
                n->bias[o] = n->dense_b ? n->dense_b[o] : 0.0f;
            if (n->flip)
                for (int64_t f = 0; f < cnt; f += per)
                    for (int64_t a = 0, z = per - 1; a < z; a++, z--) {
                        float t = n->weight[f + a];
                        n->weight[f + a] = n->weight[f + z];
                        n->weight[f + z] = t;
                    }
            break;
        }
        case OP_MAXPOOL:
        case OP_AVGPOOL:
            /* A window covering the whole trained map is a global pool. */
            if (out.h == 1 && out.w == 1 && n->kh == in.h && n->kw == in.w &&
                !n->pt && !n->pl && !n->pb && !n->pr && (in.h > 1 || in.w > 1))
                n->op = n->op == OP_MAXPOOL ? OP_GMP : OP_GAP;
            else
                break;
            /* fall through */
        case OP_GAP:
        case OP_GMP:
            if (opt->gap_mode == FCN_GAP_LOCAL || (in.h == 1 && in.w == 1)) {
                n->op = OP_IDENTITY;
                break;
            }
            n->opname = n->op == OP_GAP ? "global avg pool as window"
                                        : "global max pool as window";
            n->op = n->op == OP_GAP ? OP_AVGPOOL : OP_MAXPOOL;
            n->kh = in.h;
            n->kw = in.w;
            n->sh = n->sw = n->dh = n->dw = 1;
            n->pt = n->pl = n->pb = n->pr = 0;
            n->ceil_mode = 0;
            n->count_include_pad = 1;
            break;
        default:
            break;
        }
    }
    /* Flatten is a reinterpretation only; kept until now because the Dense
    ** conversion above looks for it. */
    for (int i = 0; i < n_nodes; i++)
        if (nodes[i].op == OP_FLATTEN)
            nodes[i].op = OP_IDENTITY;
    return FCN_OK;
}

/* Resolve identities, fold batch norms and fuse activations into convs,
** and compact the node list; tensors are renumbered. */
static fcn_status finalize(fcn_model *m, node *nodes, int n_nodes, int out_t)
{
    int nt = n_nodes + 1;
    int *alias = fcn_malloc(sizeof(int) * nt), *uses = fcn_calloc(nt, sizeof(int));
    int *renum = fcn_malloc(sizeof(int) * nt);
    if (!alias || !uses || !renum) {
        fcn_free(alias); fcn_free(uses); fcn_free(renum);
        return fcn_error(FCN_ERR_NOMEM, "out of memory");
    }
    for (int t = 0; t < nt; t++)
        alias[t] = t;
    for (int i = 0; i < n_nodes; i++) {
        node *n = &nodes[i];
        for (int j = 0; j < n->n_in; j++)
            n->in[j] = alias[n->in[j]];
        if (n->op == OP_IDENTITY)
            alias[n->out] = n->in[0];
    }
    out_t = alias[out_t];
    for (int i = 0; i < n_nodes; i++)
        if (nodes[i].op != OP_IDENTITY)
            for (int j = 0; j < nodes[i].n_in; j++)
                uses[nodes[i].in[j]]++;
    uses[out_t]++;
    /* Fold BN / fuse activation into the conv (activation: or the Add) that
    ** produces its input. */
    for (int i = 0; i < n_nodes; i++) {
        node *n = &nodes[i];
        if ((n->op != OP_BN && n->op != OP_ACT) || n->in[0] == 0 ||
            uses[n->in[0]] != 1)
            continue;
        node *p = &nodes[n->in[0] - 1];
        if ((p->op != OP_CONV && (p->op != OP_ADD || n->op != OP_ACT)) ||
            p->act.kind != ACT_NONE)
            continue;
        if (n->op == OP_BN) {
            int64_t per = (int64_t)(p->cin / p->groups) * p->kh * p->kw;
            if (!node_own_weight(p)) {
                fcn_free(alias); fcn_free(uses); fcn_free(renum);
                return fcn_error(FCN_ERR_NOMEM, "out of memory folding '%s'",
                                 n->name);
            }
            for (int o = 0; o < p->cout; o++) {
                for (int64_t k = 0; k < per; k++)
                    p->weight[o * per + k] *= n->bn_scale[o];
                p->bias[o] = p->bias[o] * n->bn_scale[o] + n->bn_shift[o];
            }
        } else {
            p->act = n->act;
        }
        /* p now produces what n produced */
        for (int k = 0; k < n_nodes; k++)
            for (int j = 0; j < nodes[k].n_in; j++)
                if (nodes[k].in[j] == n->out)
                    nodes[k].in[j] = p->out;
        if (out_t == n->out)
            out_t = p->out;
        uses[p->out] = uses[n->out];
        node_free_weights(n);
        n->op = OP_IDENTITY;
    }
    /* Compact. */
    int k = 0;
    renum[0] = 0;
    for (int i = 0; i < n_nodes; i++) {
        node *n = &nodes[i];
        if (n->op == OP_IDENTITY) {
            node_free_weights(n);
            continue;
        }
        for (int j = 0; j < n->n_in; j++)
            n->in[j] = renum[n->in[j]];
        renum[n->out] = k + 1;
        n->out = k + 1;
        nodes[k++] = *n;
    }
    m->n_nodes = k;
    m->n_tensors = k + 1;
    m->out_tensor = out_t == 0 ? 0 : renum[out_t];
    fcn_free(alias); fcn_free(uses); fcn_free(renum);
    if (k == 0 || m->out_tensor == 0)
        return fcn_error(FCN_ERR_FORMAT, "model has no layers that compute "
                         "anything");
    return FCN_OK;
}

void win_geom(const node *n, int axis, int *k, int *s, int *d, int *p)
{
    *k = 1, *s = 1, *d = 1, *p = 0;
    if (n->op == OP_CONV || n->op == OP_MAXPOOL || n->op == OP_AVGPOOL) {
        *k = axis ? n->kw : n->kh;
        *s = axis ? n->sw : n->sh;
        *d = n->op == OP_CONV ? (axis ? n->dw : n->dh) : 1;
        *p = axis ? n->pl : n->pt;
    } else if (n->op == OP_PAD) {
        *p = axis ? n->pl : n->pt;
    }
}

static void compute_geometry(fcn_model *m)
{
    axis_geom *g = fcn_calloc((size_t)m->n_tensors * 2, sizeof(axis_geom));
    if (!g)
        return;
    g[0] = g[1] = (axis_geom){1, 0, 1};
    for (int i = 0; i < m->n_nodes; i++) {
        const node *n = &m->nodes[i];
        for (int ax = 0; ax < 2; ax++) {
            axis_geom a = g[2 * n->in[0] + ax];
            for (int j = 1; j < n->n_in; j++) {  /* union of the windows */
                axis_geom b = g[2 * n->in[j] + ax];
                int end = a.offset + a.rf > b.offset + b.rf ? a.offset + a.rf
                                                            : b.offset + b.rf;
                a.offset = a.offset < b.offset ? a.offset : b.offset;
                a.rf = end - a.offset;
                a.stride = a.stride > b.stride ? a.stride : b.stride;
            }
            int k, s, d, p;
            win_geom(n, ax, &k, &s, &d, &p);
            a.rf += (k - 1) * d * a.stride;
            a.offset -= p * a.stride;
            a.stride *= s;
            g[2 * n->out + ax] = a;
        }
    }
    axis_geom h = g[2 * m->out_tensor], w = g[2 * m->out_tensor + 1];
    m->geom = (fcn_geometry){h.stride, w.stride, h.offset, w.offset, h.rf,
                             w.rf};
    fcn_free(g);
}

/* Smallest input along one axis (the other at its trained size). */
static int min_size(const fcn_model *m, shape *shapes, int axis)
{
    int lo = 1, hi = axis ? m->in_w : m->in_h;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        shape in = {m->in_c, axis ? m->in_h : mid, axis ? mid : m->in_w};
        if (infer_all(m->nodes, m->n_nodes, in, shapes, 0) == FCN_OK)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static fcn_status describe(fcn_model *m, const shape *shapes)
{
    size_t cap = 128 + (size_t)m->n_nodes * 200, len = 0;
    m->summary = arena_alloc(&m->ar, cap);
    if (!m->summary)
        return fcn_error(FCN_ERR_NOMEM, "out of memory");
    for (int i = 0; i < m->n_nodes; i++) {
        const node *n = &m->nodes[i];
        shape o = shapes[n->out];
        char extra[96] = "";
        if (n->op == OP_CONV)
            snprintf(extra, sizeof extra, " %dx%d/%d %d->%d%s%s%s", n->kh,
                     n->kw, n->sh, n->cin, n->cout,
                     n->groups > 1 ? " grouped" : "",
                     n->act.kind != ACT_NONE ? " +act" : "",
                     n->wino ? " winograd" : "");
        else if (n->op == OP_MAXPOOL || n->op == OP_AVGPOOL)
            snprintf(extra, sizeof extra, " %dx%d/%d", n->kh, n->kw, n->sh);
        else if (n->op == OP_ADD && n->act.kind != ACT_NONE)
            snprintf(extra, sizeof extra, " +act");
        len += (size_t)snprintf(m->summary + len, cap - len,
                                "%-24.24s %-26.26s%-24s -> %dx%dx%d\n",
                                n->name, n->opname, extra, o.c, o.h, o.w);
        if (len >= cap)
            break;
    }
    return FCN_OK;
}

fcn_status graph_build(const rd_model *rd, const fcn_options *opt,
                       fcn_model *m)
{
    const char *input_name = "input";
    fcn_status st = parse_meta(rd, m, &input_name);
    if (st)
        return st;
    m->n_labels = (int)rd->n_labels;
    m->labels = arena_alloc(&m->ar, sizeof(char *) * (rd->n_labels + 1));
    if (!m->labels)
        return fcn_error(FCN_ERR_NOMEM, "out of memory");
    for (uint32_t i = 0; i < rd->n_labels; i++)
        m->labels[i] = arena_strdup(&m->ar, rd->labels[i],
                                    strlen(rd->labels[i]));

    int n_nodes = (int)rd->n_layers;
    m->n_file_layers = n_nodes;
    node *nodes = arena_alloc(&m->ar, sizeof(node) * n_nodes);
    shape *shapes = fcn_malloc(sizeof(shape) * (n_nodes + 1));
    name_map map = {0};
    for (map.cap = 16; map.cap < 2 * (size_t)(n_nodes + 1);)
        map.cap *= 2;
    map.keys = fcn_calloc(map.cap, sizeof(char *));
    map.vals = fcn_calloc(map.cap, sizeof(int));
    m->nodes = nodes;
    m->n_nodes = 0;
    if (!nodes || !shapes || !map.keys || !map.vals) {
        st = fcn_error(FCN_ERR_NOMEM, "out of memory");
        goto done;
    }
    map_put(&map, input_name, 0);
    for (int i = 0; i < n_nodes; i++) {
        const rd_layer *L = &rd->layers[i];
        node *n = &nodes[i];
        m->n_nodes = i + 1;  /* so a failure frees what was parsed */
        if ((st = parse_layer(L, n, &m->ar)))
            goto done;
        n->n_in = (int)L->n_in;
        for (int j = 0; j < n->n_in; j++) {
            int t = map_get(&map, L->inputs[j]);
            if (t < 0) {
                st = fcn_error(FCN_ERR_FORMAT, "layer '%s' (%s): input '%s' is "
                               "neither the graph input nor the output of an "
                               "earlier layer", L->name, L->op, L->inputs[j]);
                goto done;
            }
            n->in[j] = t;
        }
        if (map_get(&map, L->output) >= 0) {
            st = fcn_error(FCN_ERR_FORMAT, "layer '%s' (%s): output '%s' is "
                           "already defined", L->name, L->op, L->output);
            goto done;
        }
        map_put(&map, L->output, i + 1);
        n->out = i + 1;
    }
    /* Shapes of the classifier at its trained size. */
    if ((st = infer_all(nodes, n_nodes, (shape){m->in_c, m->in_h, m->in_w},
                        shapes, 1))) {
        char why[400];
        snprintf(why, sizeof why, "%s", fcn_last_error());
        st = fcn_error(st, "at the trained size %dx%dx%d, %s", m->in_c,
                       m->in_h, m->in_w, why);
        goto done;
    }
    m->classes = shapes[n_nodes].c;
    if (m->n_labels && m->n_labels != m->classes) {
        st = fcn_error(FCN_ERR_FORMAT, "model.bin: %d labels for %d classes",
                       m->n_labels, m->classes);
        goto done;
    }
    if ((st = convert(nodes, n_nodes, shapes, opt)))
        goto done;
    if ((st = finalize(m, nodes, n_nodes, n_nodes)))
        goto done;
    for (int i = 0; i < m->n_nodes; i++) {
        node *n = &m->nodes[i];
        if (n->op != OP_CONV)
            continue;
        int wino = winograd_applies(n) &&
                   (opt->winograd == FCN_WINOGRAD_ALWAYS ||
                    (opt->winograd == FCN_WINOGRAD_AUTO && n->cin >= 64 &&
                     n->cout >= 64));
        n->wino_auto = opt->winograd == FCN_WINOGRAD_AUTO;
        if (wino && !winograd_prepare(n, opt->gemm != FCN_GEMM_BLAS)) {
            st = fcn_error(FCN_ERR_NOMEM, "out of memory for the Winograd "
                           "weights of '%s'", n->name);
            goto done;
        }
        if (opt->gemm != FCN_GEMM_BLAS &&
            !conv_pack(n, m->file_mapped && !n->weight_buf)) {
            st = fcn_error(FCN_ERR_NOMEM, "out of memory packing the "
                           "weights of '%s'", n->name);
            goto done;
        }
        if (n->packed && n->weight_buf) {
            /* the packed copy is all that runs reads (weights in the file
            ** mapping were released while packing): load never holds both */
            fcn_free(n->weight_buf);
            n->weight_buf = NULL;
            n->weight = NULL;
        }
        /* what runs reads: the packed copy (the row-major weights are
        ** then untouched after load) or the weights as stored */
        m->weight_bytes +=
            4.0 * (n->packed ? (double)n->groups *
                                   gemm_packed_floats(n->cout / n->groups,
                                       n->cin / n->groups * n->kh * n->kw)
                             : (double)n->cout * (n->cin / n->groups) *
                                   n->kh * n->kw) +
            4.0 * n->cout + (n->wino ? 4.0 * 36 * (n->wino_packed ? (double)gemm_packed_floats(n->cout, n->cin) : (double)n->cout * n->cin) : 0);
    }
    compute_geometry(m);
    m->min_h = min_size(m, shapes, 0);
    m->min_w = min_size(m, shapes, 1);
    if ((st = infer_all(m->nodes, m->n_nodes,
                        (shape){m->in_c, m->in_h, m->in_w}, shapes, 1))) {
        char why[400];
        snprintf(why, sizeof why, "%s", fcn_last_error());
        st = fcn_error(st, "converted network fails at the trained size: %s",
                       why);
        goto done;
    }
    st = describe(m, shapes);
done:
    fcn_free(shapes);
    fcn_free(map.keys);
    fcn_free(map.vals);
    return st;
}
