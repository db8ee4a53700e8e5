/*
** conv.c: Conv: attributes and weights, shapes, the window, the kernels'
** description (kconv), BatchNorm folding and activation fusion, packing
** and Winograd weights at load, and, per window, the choice of kernel:
** depthwise, Winograd F(4x4, 3x3), or im2col + GEMM (src/kernels/).
*/
#include <stdio.h>
#include <string.h>

#include "kernels/blas.h"
#include "kernels/gemm.h"
#include "kernels/gemm_bf16.h"
#include "ops/conv.h"
#include "util/err.h"

#define WINO_MIN_BLOCKS 16

_Static_assert(sizeof(conv_plan) <= OP_PLAN_BYTES, "conv_plan fits op_plan");

/* The largest filter (Cin/groups x kh x kw weights): the GEMM's K is an
** int, and so are the kernels' offsets within one filter. */
#define CONV_MAX_FILTER ((int64_t)1 << 30)

static fcn_status conv_parse(op_parse *c, node *n)
{
    conv_param *p = n->param;
    kconv *k = &p->k;
    attr_window(c, &k->win, 1);
    k->groups = 1;
    attr_ints(c, "groups", 1, &k->groups, 0);
    p->flip = attr_flag(c, "flip", 0);
    const layer_weight *w = attr_weight(c, "weight", 1),
                       *b = attr_weight(c, "bias", 0);
    if (c->st)
        return c->st;
    if (w->ndim != 4 || w->dims[0] < 1 || w->dims[1] < 1 || w->dims[2] < 1 ||
        w->dims[3] < 1 || w->dims[0] > MEM_MAX_DIM ||
        w->dims[1] > MEM_MAX_DIM || w->dims[2] > 4096 || w->dims[3] > 4096)
        return op_fail(c, FCN_ERR_FORMAT, "weight must be [Cout, Cin/groups, "
                       "kh, kw] with sizes >= 1 (Cout, Cin at most %d, kh, kw "
                       "at most 4096)", MEM_MAX_DIM);
    if (k->groups < 1 || w->dims[0] % k->groups)
        return op_fail(c, FCN_ERR_FORMAT, "%lld output channels do not split "
                       "into %d groups", (long long)w->dims[0], k->groups);
    /* an absent kernel is 0 here; a given one is >= 1 (attr_window) */
    if ((k->win.kh && k->win.kh != w->dims[2]) ||
        (k->win.kw && k->win.kw != w->dims[3]))
        return op_fail(c, FCN_ERR_FORMAT, "kernel attribute %dx%d differs "
                       "from the weight's %lldx%lld", k->win.kh, k->win.kw,
                       (long long)w->dims[2], (long long)w->dims[3]);
    k->cout = (int)w->dims[0];
    k->win.kh = (int)w->dims[2];
    k->win.kw = (int)w->dims[3];
    attr_window_check(c, &k->win);
    if (c->st)
        return c->st;
    int64_t cin = 0, filter = 0;
    if (!mem_mul64(w->dims[1], k->groups, &cin) || cin > MEM_MAX_DIM)
        return op_fail(c, FCN_ERR_FORMAT, "%lld input channels per group x "
                       "%d groups exceeds the limit of %d channels",
                       (long long)w->dims[1], k->groups, MEM_MAX_DIM);
    k->cin = (int)cin;
    if (!mem_mul64(w->dims[1], w->dims[2] * w->dims[3], &filter) ||
        filter > CONV_MAX_FILTER)
        return op_fail(c, FCN_ERR_UNSUPPORTED, "filters of %lldx%lldx%lld "
                       "weights exceed the limit of 2^30",
                       (long long)w->dims[1], (long long)w->dims[2],
                       (long long)w->dims[3]);
    if (b && !weight_dims_are(b, 1, &w->dims[0]))
        return op_fail(c, FCN_ERR_FORMAT, "bias has %lld values for %d output "
                       "channels", (long long)b->count, k->cout);
    p->w_file = w->data;  /* used in place, copied only where it changes */
    p->b_file = b ? b->data : NULL;
    return FCN_OK;
}

static int conv_infer(const node *n, const shape *const *in, shape *out,
                      char *msg, size_t msz)
{
    const kconv *k = &((const conv_param *)n->param)->k;
    const win2d *w = &k->win;
    const shape a = *in[0];
    if (a.c != k->cin) {
        snprintf(msg, msz, "expects %d input channels, gets %d", k->cin, a.c);
        return 0;
    }
    out->c = k->cout;
    out->h = win_out(a.h, w->kh, w->sh, w->dh, w->pt, w->pb, 0);
    out->w = win_out(a.w, w->kw, w->sw, w->dw, w->pl, w->pr, 0);
    if (out->h < 1 || out->w < 1) {
        snprintf(msg, msz, "%lldx%lld window does not fit its %dx%d input "
                 "(padding %d,%d,%d,%d)", (long long)(w->kh - 1) * w->dh + 1,
                 (long long)(w->kw - 1) * w->dw + 1, a.h, a.w, w->pt, w->pl,
                 w->pb, w->pr);
        return 0;
    }
    return 1;
}

static void conv_window(const node *n, int axis, int *k, int *s, int *d,
                        int *p)
{
    win2d_axis(&((const conv_param *)n->param)->k.win, axis, k, s, d, p);
}

static void conv_densify(node *n, int axis, int dense, int f)
{
    win2d_densify(&((conv_param *)n->param)->k.win, axis, dense, f);
}

static int64_t weight_count(const kconv *k)
{
    return (int64_t)k->cout * (k->cin / k->groups) * k->win.kh * k->win.kw;
}

/* Make the weights a private, writable copy; 0 on OOM. */
static int own_weights(conv_param *p)
{
    if (p->weight_buf)
        return 1;
    const int64_t cnt = weight_count(&p->k);
    p->weight_buf = floats_copy(p->k.weight, cnt);
    if (!p->weight_buf)
        return 0;
    p->k.weight = p->weight_buf;
    return 1;
}

/* The kernels in place; the bias always owned; true-convolution kernels
** flipped. */
static fcn_status conv_to_fcn(const op_convert *c, node *n)
{
    (void)c;
    conv_param *p = n->param;
    kconv *k = &p->k;
    const int64_t per = (int64_t)k->win.kh * k->win.kw, cnt = weight_count(k);
    k->weight = p->w_file;
    k->bias = p->bias_buf = floats_copy(NULL, k->cout);
    if (!p->bias_buf || (p->flip && !own_weights(p)))
        return err_set(FCN_ERR_NOMEM, "out of memory");
    for (int o = 0; o < k->cout; o++)
        p->bias_buf[o] = p->b_file ? p->b_file[o] : 0.0f;
    if (p->flip)
        for (int64_t f = 0; f < cnt; f += per)
            for (int64_t a = 0, z = per - 1; a < z; a++, z--) {
                float t = p->weight_buf[f + a];
                p->weight_buf[f + a] = p->weight_buf[f + z];
                p->weight_buf[f + z] = t;
            }
    return FCN_OK;
}

conv_param *conv_become(node *n, arena *ar, int cin, int cout, int kh,
                        int kw, const float *weight, float *weight_buf,
                        float *bias)
{
    conv_param *p = arena_alloc(ar, sizeof *p);
    if (!p)
        return NULL;
    p->k.win = (win2d){kh, kw, 1, 1, 1, 1, 0, 0, 0, 0};
    p->k.cin = cin;
    p->k.cout = cout;
    p->k.groups = 1;
    p->k.weight = weight;
    p->weight_buf = weight_buf;
    p->k.bias = p->bias_buf = bias;
    n->op = OP_CONV;
    n->param = p;
    return p;
}

/* A BatchNorm folds into the weights and bias, an activation is fused;
** both only while no activation is fused yet. */
static fcn_status conv_fuse(node *n, const node *next, int *done)
{
    conv_param *p = n->param;
    kconv *k = &p->k;
    const op_def *d = op_get(next->op);
    const float *scale, *shift;
    *done = 0;
    if (k->act.kind != ACT_NONE)
        return FCN_OK;
    if (d->as_affine && d->as_affine(next, &scale, &shift)) {
        const int64_t per = (int64_t)(k->cin / k->groups) * k->win.kh *
                            k->win.kw;
        if (!own_weights(p))
            return err_set(FCN_ERR_NOMEM, "out of memory folding '%s'",
                           next->name);
        for (int o = 0; o < k->cout; o++) {
            for (int64_t i = 0; i < per; i++)
                p->weight_buf[o * per + i] *= scale[o];
            p->bias_buf[o] = p->bias_buf[o] * scale[o] + shift[o];
        }
        *done = 1;
    } else if (d->as_act) {
        k->act = *d->as_act(next);
        *done = 1;
    }
    return FCN_OK;
}

/* The Winograd rule, in one place: whether the layer runs as Winograd
** on an output map of `blocks` 4x4 blocks (docs/engine.md); blocks < 0:
** whether it may on some map, so that load prepares the transformed
** weights. The choice is the whole map's, never a window's: every window
** of a session runs the same kernel, so that the tiling does not change
** the results. With AUTO: convs of at least 64 -> 64 channels, on maps
** with enough 4x4 blocks to amortise reading the 36/9 = 4x larger weights
** (on a 7x7 map, 4 blocks, im2col was 1.25x faster; from 14x14 on
** Winograd was about 2x faster on the packed path); on the OpenBLAS path
** 64 -> 64 channels only on maps up to 128x128 (at 224x224 im2col was
** 1.4x faster there). */
static int wino_rule(const conv_param *p, int64_t blocks)
{
    const kconv *k = &p->k;
    if (!wino_applies(k) || p->winograd == FCN_WINOGRAD_NEVER)
        return 0;
    if (p->winograd == FCN_WINOGRAD_ALWAYS)
        return 1;
    if (k->cin < 64 || k->cout < 64)
        return 0;
    return blocks < 0 || (blocks >= WINO_MIN_BLOCKS &&
                          (k->wino_packed || k->cin + k->cout >= 192 ||
                           blocks <= 1024));
}

/* Pack the weights for gemm_panels (per group), where a GEMM variant runs
** here, or rounded to bf16 for gemm_bf16_panels (bf16); depthwise convs
** keep their own loop. 0 on OOM. */
static int pack(conv_param *p, int release, int bf16)
{
    kconv *k = &p->k;
    if (!gemm_available() || dw_applies(k))
        return 1;
    const int G = k->groups, M = k->cout / G;
    const int K = k->cin / G * k->win.kh * k->win.kw;
    if (bf16) {
        const int64_t per = gemm_bf16_packed_elems(M, K);
        p->packed_bf16 = mem_aligned(sizeof(uint16_t) * (size_t)(per * G));
        if (!p->packed_bf16)
            return 0;
        for (int g = 0; g < G; g++)
            gemm_bf16_pack(M, K, k->weight + (int64_t)g * M * K,
                           p->packed_bf16 + g * per, release);
        k->packed_bf16 = p->packed_bf16;
        return 1;
    }
    const int64_t per = gemm_packed_floats(M, K);
    p->packed = mem_aligned(sizeof(float) * (size_t)(per * G));
    if (!p->packed)
        return 0;
    for (int g = 0; g < G; g++)
        gemm_pack(M, K, k->weight + (int64_t)g * M * K, p->packed + g * per,
                  release);
    k->packed = p->packed;
    return 1;
}

static fcn_status conv_prepare(node *n, const op_prepare *c)
{
    conv_param *p = n->param;
    kconv *k = &p->k;
    const int packed_gemm = c->opt->gemm != FCN_GEMM_BLAS;
    p->winograd = c->opt->winograd;
    if (wino_rule(p, -1)) {
        k->wino = p->wino = wino_transform(k, packed_gemm, &k->wino_packed);
        if (!p->wino)
            return err_set(FCN_ERR_NOMEM, "out of memory for the Winograd "
                           "weights of '%s'", n->name);
    }
    if (packed_gemm && !pack(p, c->release && !p->weight_buf,
                             c->opt->precision == FCN_PRECISION_BF16))
        return err_set(FCN_ERR_NOMEM, "out of memory packing the weights of "
                       "'%s'", n->name);
    if ((p->packed || p->packed_bf16) && p->weight_buf) {
        /* the packed copy is all that runs reads (weights in the file
        ** mapping were released while packing): load never holds both */
        mem_free(p->weight_buf);
        p->weight_buf = NULL;
        k->weight = NULL;
    }
    /* the GEMM on the weights as stored, or Winograd's, runs on OpenBLAS:
    ** opened now, where a failure can still be reported */
    if ((!p->packed && !p->packed_bf16 && !dw_applies(k)) ||
        (p->wino && !k->wino_packed)) {
        fcn_status st = blas_load();
        if (st)
            return st;
        if (c->blas)
            *c->blas = 1;
    }
    return FCN_OK;
}

/* What run reads: the packed copy (the row-major weights are then
** untouched after load) or the weights as stored; the bias; the Winograd
** weights. */
static size_t conv_weight_bytes(const node *n)
{
    const conv_param *p = n->param;
    const kconv *k = &p->k;
    const int G = k->groups;
    const int K = k->cin / G * k->win.kh * k->win.kw;
    size_t w = p->packed ? (size_t)G * (size_t)gemm_packed_floats(
                               k->cout / G, K)
               : p->packed_bf16
                   ? (size_t)G * (size_t)(gemm_bf16_packed_elems(
                                             k->cout / G, K) + 1) / 2
                   : (size_t)weight_count(k);
    size_t wino = !p->wino ? 0
                  : 36 * (k->wino_packed
                              ? (size_t)gemm_packed_floats(k->cout, k->cin)
                              : (size_t)k->cout * k->cin);
    return 4 * (w + (size_t)k->cout + wino);
}

/* Whether n runs as Winograd on an output map of map_h x map_w. */
static int conv_wino(const node *n, int map_h, int map_w)
{
    const conv_param *c = n->param;
    return c->k.wino &&
           wino_rule(c, (int64_t)((map_h + 3) / 4) * ((map_w + 3) / 4));
}

static int conv_block(const node *n, shape map)
{
    return conv_wino(n, map.h, map.w) ? 4 : 1;
}

/* The plan of an out_h x out_w window of an output map of map_h x map_w. */
static void plan_in_map(const node *n, int map_h, int map_w, int out_h,
                        int out_w, int threads, conv_plan *p)
{
    const kconv *k = &((const conv_param *)n->param)->k;
    memset(p, 0, sizeof *p);
    if (conv_wino(n, map_h, map_w)) {
        p->path = CONV_WINOGRAD;
        wino_plan_make(k, out_h, out_w, &p->wino);
    } else {
        p->path = dw_applies(k) ? CONV_DEPTHWISE : CONV_GEMM;
        cg_plan_make(k, out_h, out_w, threads, &p->cg);
    }
}

void conv_plan_window(const node *n, int out_h, int out_w, int threads,
                      conv_plan *p)
{
    plan_in_map(n, out_h, out_w, out_h, out_w, threads, p);
}

/* Work estimate of a window: multiply-adds, Winograd's counted at half
** (measured: VGG-16 256->256 at 56^2, 25.4 vs 51.4 ms) on whole 4x4
** blocks. */
static void conv_plan_op(const node *n, shape map, int out_h, int out_w,
                         int threads, op_plan *op)
{
    const kconv *k = &((const conv_param *)n->param)->k;
    conv_plan *p = (conv_plan *)op->data;
    plan_in_map(n, map.h, map.w, out_h, out_w, threads, p);
    const double K = (double)(k->cin / k->groups) * k->win.kh * k->win.kw;
    if (p->path == CONV_WINOGRAD) {
        op->ws_floats = wino_ws(k, &p->wino, threads);
        op->work = 0.5 * ((out_h + 3) & ~3) * (double)((out_w + 3) & ~3) *
                   k->cout * K;
    } else {
        op->ws_floats = p->path == CONV_DEPTHWISE ? 0 : p->cg.ws_floats;
        op->work = (double)out_h * out_w * k->cout * K;
    }
}

static void conv_forward(const node *n, const op_run *r, par *pr)
{
    const kconv *k = &((const conv_param *)n->param)->k;
    const conv_plan *p = (const conv_plan *)r->plan->data;
    if (p->path == CONV_DEPTHWISE)
        dw_forward(k, &r->in[0], r->out, pr);
    else if (p->path == CONV_WINOGRAD)
        wino_forward(k, &p->wino, &r->in[0], r->out, r->ws, pr);
    else
        cg_forward(k, &p->cg, &r->in[0], r->out, r->ws, pr);
}

static void conv_describe(const node *n, char *buf, size_t size)
{
    const conv_param *p = n->param;
    const kconv *k = &p->k;
    char dil[24] = "";
    if (k->win.dh > 1 || k->win.dw > 1)
        snprintf(dil, sizeof dil, " dil %d", k->win.dh);
    snprintf(buf, size, " %dx%d/%d%s %d->%d%s%s%s", k->win.kh, k->win.kw,
             k->win.sh, dil, k->cin, k->cout, k->groups > 1 ? " grouped" : "",
             k->act.kind != ACT_NONE ? " +act" : "", p->wino ? " winograd" : "");
}

static void conv_stats(const node *n, shape in, fcn_layer_stats *st)
{
    const kconv *k = &((const conv_param *)n->param)->k;
    const win2d *w = &k->win;
    st->kh = w->kh;
    st->kw = w->kw;
    st->stride_h = w->sh;
    st->stride_w = w->sw;
    st->groups = k->groups;
    st->gemm_m = k->cout / k->groups;
    st->gemm_n = (int64_t)win_out(in.h, w->kh, w->sh, w->dh, w->pt, w->pb, 0) *
                 win_out(in.w, w->kw, w->sw, w->dw, w->pl, w->pr, 0);
    st->gemm_k = (int64_t)(k->cin / k->groups) * w->kh * w->kw;
    st->flops = 2.0 * k->cout * (double)st->gemm_n * st->gemm_k;
    /* the path of the whole map's window (tiles may differ at the edges) */
    const int oh = win_out(in.h, w->kh, w->sh, w->dh, w->pt, w->pb, 0),
              ow = win_out(in.w, w->kw, w->sw, w->dw, w->pl, w->pr, 0);
    conv_plan p;
    conv_plan_window(n, oh, ow, 1, &p);
    const gemm_isa *isa = gemm_isa_get();
    if (p.path == CONV_DEPTHWISE) {
        st->kernel = "depthwise/c";
    } else if (p.path == CONV_WINOGRAD) {
        st->kernel = k->wino_packed && isa ? isa->wino_path
                                           : "winograd/openblas";
    } else if (!p.cg.panels) {
        st->kernel = "gemm/openblas";
    } else if (k->packed_bf16) {
        st->kernel = st->gemm_n == 1 ? gemv_bf16_path : gemm_bf16_path;
    } else {
        st->kernel = st->gemm_n == 1 ? isa->gemv_path : isa->gemm_path;
    }
}

static void conv_release(node *n)
{
    conv_param *p = n->param;
    mem_free(p->weight_buf);
    mem_free(p->bias_buf);
    mem_free(p->packed);
    mem_free(p->packed_bf16);
    mem_free(p->wino);
    memset(p, 0, sizeof *p);
}

const op_def op_conv = {
    .min_in = 1, .max_in = 1, .param_size = sizeof(conv_param),
    .parse = conv_parse, .infer = conv_infer, .window = conv_window,
    .densify = conv_densify, .to_fcn = conv_to_fcn, .fuse = conv_fuse,
    .prepare = conv_prepare, .weight_bytes = conv_weight_bytes, .plan = conv_plan_op,
    .block = conv_block,
    .forward = conv_forward, .describe = conv_describe, .stats = conv_stats,
    .release = conv_release,
};
