/*
** attr.c: what op families use to read their layer: attributes, weights,
** the window attributes, and messages naming the layer.
*/
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ops/op.h"
#include "util/err.h"

fcn_status op_fail(const op_parse *c, fcn_status st, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set(st, "layer '%s' (%s): %s", c->L->name, c->L->op, msg);
}

/* The first error of the layer wins. */
static void attr_err(op_parse *c, fcn_status st, const char *msg,
                     const char *key)
{
    if (!c->st)
        c->st = op_fail(c, st, "%s '%s'", msg, key);
}

const layer_attr *attr_find(const layer *L, const char *key)
{
    for (uint32_t i = 0; i < L->attrs.n; i++)
        if (!strcmp(L->attrs.a[i].key, key))
            return &L->attrs.a[i];
    return NULL;
}

/* The attribute, marked as consumed. */
static const layer_attr *take(op_parse *c, const char *key)
{
    layer_attr *a = (layer_attr *)attr_find(c->L, key);
    if (a)
        a->used = 1;
    return a;
}

void attr_ints(op_parse *c, const char *key, int n, int *v, int required)
{
    const layer_attr *a = take(c, key);
    if (!a) {
        if (required)
            attr_err(c, FCN_ERR_FORMAT, "missing attribute", key);
        return;
    }
    if (a->type != 'i' || !(a->n == (uint32_t)n || a->n == 1)) {
        attr_err(c, FCN_ERR_FORMAT,
                 "wrong type or count of values in attribute", key);
        return;
    }
    for (int i = 0; i < n; i++) {
        int64_t x = a->iv[a->n == 1 ? 0 : i];
        if (x < -MEM_MAX_DIM || x > MEM_MAX_DIM) {
            attr_err(c, FCN_ERR_FORMAT, "absurd value in attribute", key);
            return;
        }
        v[i] = (int)x;
    }
}

float attr_float(op_parse *c, const char *key, float def)
{
    const layer_attr *a = take(c, key);
    if (!a)
        return def;
    if (a->type == 'i' && a->n == 1)
        return (float)a->iv[0];
    if (a->type != 'f' || a->n != 1 || !isfinite(a->fv[0])) {
        attr_err(c, FCN_ERR_FORMAT, "expected one finite float in attribute",
                 key);
        return def;
    }
    return a->fv[0];
}

const char *attr_str(op_parse *c, const char *key, const char *def)
{
    const layer_attr *a = take(c, key);
    if (!a)
        return def;
    if (a->type != 's') {
        attr_err(c, FCN_ERR_FORMAT, "expected a string in attribute", key);
        return def;
    }
    return a->sv;
}

const layer_weight *attr_weight(op_parse *c, const char *name, int required)
{
    for (uint32_t i = 0; i < c->L->n_w; i++)
        if (!strcmp(c->L->w[i].name, name)) {
            c->L->w[i].used = 1;
            return &c->L->w[i];
        }
    if (required)
        attr_err(c, FCN_ERR_FORMAT, "missing weight", name);
    return NULL;
}

void attr_window(op_parse *c, win2d *w, int is_conv)
{
    int k[2] = {0, 0}, s[2] = {1, 1}, p[4] = {0, 0, 0, 0}, d[2] = {1, 1};
    /* a conv's kernel may be left out (the weight's), but one given is
    ** checked like a pool's: 0 is not "absent" */
    const int has_kernel = !is_conv || attr_find(c->L, "kernel") != NULL;
    attr_ints(c, "kernel", 2, k, !is_conv);
    if (!is_conv) {
        s[0] = k[0];
        s[1] = k[1];
    }
    attr_ints(c, "stride", 2, s, 0);
    attr_ints(c, "pad", 4, p, 0);
    if (is_conv)
        attr_ints(c, "dilation", 2, d, 0);
    *w = (win2d){k[0], k[1], s[0], s[1], d[0], d[1], p[0], p[1], p[2], p[3]};
    if (c->st)
        return;
    if ((has_kernel && (w->kh < 1 || w->kw < 1)) || w->sh < 1 || w->sw < 1 ||
        w->dh < 1 || w->dw < 1 || w->pt < 0 || w->pl < 0 || w->pb < 0 ||
        w->pr < 0)
        c->st = op_fail(c, FCN_ERR_FORMAT, "kernel %dx%d, stride %dx%d, "
                        "dilation %dx%d, padding %d,%d,%d,%d: sizes must be "
                        "positive and padding non-negative", w->kh, w->kw,
                        w->sh, w->sw, w->dh, w->dw, w->pt, w->pl, w->pb,
                        w->pr);
    else if (!is_conv)
        attr_window_check(c, w);
}

void attr_window_check(op_parse *c, const win2d *w)
{
    if (c->st)
        return;
    /* k, d in [1, MEM_MAX_DIM] (attr_ints): the products fit in 64 bits */
    const int64_t eh = (int64_t)(w->kh - 1) * w->dh + 1,
                  ew = (int64_t)(w->kw - 1) * w->dw + 1;
    if (eh > MEM_MAX_DIM || ew > MEM_MAX_DIM) {
        const int h = eh > MEM_MAX_DIM;
        c->st = op_fail(c, FCN_ERR_UNSUPPORTED, "dilated kernel (%d-1)*%d+1 "
                        "= %lld %s exceeds the limit of %d", h ? w->kh : w->kw,
                        h ? w->dh : w->dw, (long long)(h ? eh : ew),
                        h ? "rows" : "columns", MEM_MAX_DIM);
    } else if (w->pt >= eh || w->pb >= eh || w->pl >= ew || w->pr >= ew) {
        /* wider padding only adds cells that see nothing but padding: a
        ** tiny file could describe enormous maps */
        c->st = op_fail(c, FCN_ERR_FORMAT, "padding %d,%d,%d,%d (top, left, "
                        "bottom, right) must be smaller than the %lldx%lld "
                        "%s", w->pt, w->pl, w->pb, w->pr, (long long)eh,
                        (long long)ew, w->dh > 1 || w->dw > 1
                            ? "dilated kernel" : "window");
    }
}

int attr_flag(op_parse *c, const char *key, int def)
{
    int v = def;
    attr_ints(c, key, 1, &v, 0);
    if (!c->st && v != 0 && v != 1) {
        c->st = op_fail(c, FCN_ERR_FORMAT, "attribute '%s' is %d (0 or 1)",
                        key, v);
        return def;
    }
    return v;
}

void attr_done(op_parse *c)
{
    for (uint32_t i = 0; i < c->L->attrs.n && !c->st; i++)
        if (!c->L->attrs.a[i].used)
            attr_err(c, FCN_ERR_FORMAT, "unknown attribute",
                     c->L->attrs.a[i].key);
    for (uint32_t i = 0; i < c->L->n_w && !c->st; i++)
        if (!c->L->w[i].used)
            attr_err(c, FCN_ERR_FORMAT, "unknown weight", c->L->w[i].name);
}

int weight_dims_are(const layer_weight *w, int nd, const int64_t *d)
{
    if (w->ndim != nd)
        return 0;
    for (int i = 0; i < nd; i++)
        if (w->dims[i] != d[i])
            return 0;
    return 1;
}

float *floats_copy(const float *src, int64_t n)
{
    float *p = mem_aligned((size_t)n * sizeof(float));
    if (p && src)
        memcpy(p, src, (size_t)n * sizeof(float));
    return p;
}

void win2d_axis(const win2d *w, int axis, int *k, int *s, int *d, int *p)
{
    *k = axis ? w->kw : w->kh;
    *s = axis ? w->sw : w->sh;
    *d = axis ? w->dw : w->dh;
    *p = axis ? w->pl : w->pt;
}

void win2d_densify(win2d *w, int axis, int dense, int f)
{
    int *k = axis ? &w->kw : &w->kh, *s = axis ? &w->sw : &w->sh,
        *d = axis ? &w->dw : &w->dh, *pa = axis ? &w->pl : &w->pt,
        *pb = axis ? &w->pr : &w->pb;
    if (*k > 1)
        *d *= dense;
    *pa *= dense;
    *pb *= dense;
    *s /= f;
}

int op_infer_same(const node *n, const shape *const *in, shape *out,
                  char *msg, size_t msz)
{
    (void)n;
    (void)msg;
    (void)msz;
    *out = *in[0];
    return 1;
}

void op_window(const node *n, int axis, int *k, int *s, int *d, int *p)
{
    const op_def *def = op_get(n->op);
    *k = 1, *s = 1, *d = 1, *p = 0;
    if (def->window)
        def->window(n, axis, k, s, d, p);
}
