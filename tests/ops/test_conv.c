/*
** test_conv.c: Conv against a naive direct convolution (double
** accumulators), over hand-picked and random shapes: every path (im2col +
** OpenBLAS, im2col + fcn's packed GEMM, the direct 1x1, depthwise,
** Winograd F(4x4,3x3) on both GEMMs) and schedule (whole blocks per
** thread, shared blocks, several row blocks), groups, dilation, strides,
** asymmetric padding, flipped (true-convolution) kernels, a fused
** activation or a folded BatchNorm.
**
** Tolerance per output: 1e-4 * L * max(1, A), A = |bias| + sum over the
** taps of |w * x| (the float GEMM's error is bounded by a multiple of
** eps * A), L = max(1, Lipschitz constant of the fused activation, times
** |BatchNorm scale|). 1 and 3 threads must agree bit for bit.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "kernels/gemm.h"
#include "ops/conv.h"

typedef struct conv_case {
    int cin, cout, h, w, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, groups;
    act_param act;
    int bias;  /* 0: no bias weight */
    int flip;  /* true convolution */
    int bn;    /* a BatchNorm folded in */
} conv_case;

static struct {
    int cases, direct, depthwise, blocks, shared, shared_mblocks,
        shared_multiblock, grouped, acts[9], dilated, strided, asym_pad,
        nonsquare, winograd, panels, panels_gemv, flipped, bn;
} cov;

static void conv_desc(const conv_case *c, const conv_plan *p, char *s,
                      size_t n)
{
    snprintf(s, n, "conv cin=%d cout=%d in=%dx%d (HxW) k=%dx%d s=%dx%d "
             "d=%dx%d pad(t,l,b,r)=%d,%d,%d,%d groups=%d act=%s(a=%g,b=%g) "
             "bias=%d flip=%d bn=%d | plan path=%d K=%lld N=%lld block=%d "
             "n_blocks=%d shared=%d direct=%d panels=%d",
             c->cin, c->cout, c->h, c->w, c->kh, c->kw, c->sh, c->sw, c->dh,
             c->dw, c->pt, c->pl, c->pb, c->pr, c->groups,
             act_name(c->act.kind), c->act.a, c->act.b, c->bias, c->flip,
             c->bn, p->path, (long long)p->cg.K, (long long)p->cg.N,
             p->cg.block, p->cg.n_blocks, p->cg.shared, p->cg.direct,
             p->cg.panels);
}

typedef struct conv_data {
    float *wt, *bias, *x;
    float *bn[4];  /* scale, bias, mean, var */
    double *scale, *shift;
} conv_data;

/* The Conv node of c, through parse, conversion, fusion and prepare as at
** load. */
static void make_conv(const conv_case *c, const conv_data *d, int wino,
                      int pack, arena *ar, node *n)
{
    const int64_t wdims[4] = {c->cout, c->cin / c->groups, c->kh, c->kw},
                  bdims[1] = {c->cout};
    int s[2] = {c->sh, c->sw}, dl[2] = {c->dh, c->dw},
        p[4] = {c->pt, c->pl, c->pb, c->pr};
    tlayer t;
    tl_init(&t, "Conv");
    tl_ints(&t, "stride", 2, s);
    tl_ints(&t, "pad", 4, p);
    tl_ints(&t, "dilation", 2, dl);
    tl_ints(&t, "groups", 1, &c->groups);
    if (c->flip)
        tl_ints(&t, "flip", 1, &c->flip);
    tl_weight(&t, "weight", 4, wdims, d->wt);
    if (c->bias)
        tl_weight(&t, "bias", 1, bdims, d->bias);
    fcn_status st = t_node(&t, 1, n, ar);
    fcn_options opt = {0};
    op_convert cv = {NULL, {0, 0, 0}, NULL, {0, 0, 0}, &opt, ar};
    if (!st)
        st = op_get(OP_CONV)->to_fcn(&cv, n);
    node f;
    int done = 1;
    if (!st && c->bn) {
        tlayer b;
        tl_init(&b, "BatchNorm");
        tl_weight(&b, "scale", 1, bdims, d->bn[0]);
        tl_weight(&b, "bias", 1, bdims, d->bn[1]);
        tl_weight(&b, "mean", 1, bdims, d->bn[2]);
        tl_weight(&b, "var", 1, bdims, d->bn[3]);
        if (!(st = t_node(&b, 1, &f, ar))) {
            st = op_get(OP_CONV)->fuse(n, &f, &done);
            node_release(&f);
        }
    }
    if (!st && done && c->act.kind != ACT_NONE) {
        t_act_node(c->act, &f, ar);
        st = op_get(OP_CONV)->fuse(n, &f, &done);
    }
    fcn_options po = {FCN_GAP_WINDOW,
                      wino ? FCN_WINOGRAD_ALWAYS : FCN_WINOGRAD_NEVER,
                      pack ? FCN_GEMM_AUTO : FCN_GEMM_BLAS, 0, {0}, 0, 0};
    op_prepare pc = {&po, 0, NULL};
    if (!st)
        st = op_get(OP_CONV)->prepare(n, &pc);
    CHECK(st == FCN_OK && done, "conv: building the node: %s",
          fcn_last_error());
    if (st)
        exit(2);
}

/* The reference output and the magnitude of its terms. */
static void conv_ref(const conv_case *c, const conv_data *d, int OH, int OW,
                     double *ref, double *mag)
{
    const int G = c->groups, cg = c->cin / G, mg = c->cout / G;
    const int64_t N = (int64_t)OH * OW;
    for (int oc = 0; oc < c->cout; oc++) {
        const int g = oc / mg;
        const double b = c->bias ? d->bias[oc] : 0.0;
        for (int64_t o = 0; o < N; o++) {
            const int oy = (int)(o / OW), ox = (int)(o % OW);
            double s = b, a = fabs(b);
            for (int ci = 0; ci < cg; ci++)
                for (int ky = 0; ky < c->kh; ky++) {
                    int iy = oy * c->sh - c->pt + ky * c->dh;
                    if (iy < 0 || iy >= c->h)
                        continue;
                    for (int kx = 0; kx < c->kw; kx++) {
                        int ix = ox * c->sw - c->pl + kx * c->dw;
                        if (ix < 0 || ix >= c->w)
                            continue;
                        int wy = c->flip ? c->kh - 1 - ky : ky,
                            wx = c->flip ? c->kw - 1 - kx : kx;
                        double t = (double)d->wt[(((int64_t)oc * cg + ci) *
                                                  c->kh + wy) * c->kw + wx] *
                                   d->x[((int64_t)(g * cg + ci) * c->h + iy) *
                                        c->w + ix];
                        s += t;
                        a += fabs(t);
                    }
                }
            if (c->bn) {
                s = s * d->scale[oc] + d->shift[oc];
                a = a * fabs(d->scale[oc]) + fabs(d->shift[oc]);
            }
            ref[(int64_t)oc * N + o] = act_ref(&c->act, s);
            mag[(int64_t)oc * N + o] = a;
        }
    }
}

static void coverage(const conv_case *c, const conv_plan *p, int pack)
{
    cov.cases++;
    if (p->path == CONV_WINOGRAD)
        cov.winograd++;
    else if (p->path == CONV_DEPTHWISE)
        cov.depthwise++;
    else {
        if (pack) {
            cov.panels++;
            cov.panels_gemv += p->cg.N == 1;
        }
        cov.direct += p->cg.direct;
        if (p->cg.shared) {
            cov.shared++;
            cov.shared_mblocks += c->cout / c->groups > 64;
            cov.shared_multiblock += p->cg.n_blocks > 1;
        } else {
            cov.blocks++;
        }
    }
    cov.grouped += c->groups > 1;
    cov.acts[c->act.kind]++;
    cov.dilated += c->dh > 1 || c->dw > 1;
    cov.strided += c->sh > 1 || c->sw > 1;
    cov.asym_pad += c->pt != c->pb || c->pl != c->pr;
    cov.nonsquare += c->kh != c->kw;
    cov.flipped += c->flip;
    cov.bn += c->bn;
}

/* The plan of the case's whole output: geometry and the path. */
static int check_plan(const conv_case *c, const node *n, int wino, int pack,
                      int OH, int OW, const char *desc)
{
    conv_plan p1, p3;
    conv_plan_window(n, OH, OW, 1, &p1);
    conv_plan_window(n, OH, OW, 3, &p3);
    int same = p1.path == p3.path && p1.cg.block == p3.cg.block &&
               p1.cg.n_blocks == p3.cg.n_blocks &&
               p1.cg.shared == p3.cg.shared && p1.cg.direct == p3.cg.direct &&
               !memcmp(&p1.wino, &p3.wino, sizeof p1.wino);
    CHECK(same, "%s: the plan depends on the thread count", desc);
    const int dw = c->groups > 1 && c->groups == c->cin && c->cout == c->cin;
    const int one = c->kh == 1 && c->kw == 1 && c->sh == 1 && c->sw == 1 &&
                    !c->pt && !c->pl && !c->pb && !c->pr;
    const int packed = pack && gemm_available();
    conv_path want = wino ? CONV_WINOGRAD : dw ? CONV_DEPTHWISE : CONV_GEMM;
    int ok = p1.path == want;
    if (want == CONV_GEMM)
        ok = ok && p1.cg.N == (int64_t)OH * OW &&
             p1.cg.K == (int64_t)(c->cin / c->groups) * c->kh * c->kw &&
             p1.cg.panels == packed && p1.cg.direct == (!packed && one) &&
             p1.cg.block >= 1 &&
             (int64_t)p1.cg.block * p1.cg.n_blocks >= p1.cg.N &&
             (int64_t)p1.cg.block * (p1.cg.n_blocks - 1) < p1.cg.N;
    CHECK(ok, "%s: plan: expected path %d (packed %d, direct %d), blocks "
          "covering N", desc, want, packed, !packed && one);
    coverage(c, &p1, packed);
    return same && ok;
}

/* Run with 1 and 3 threads; compare with the reference and each other. */
static void check_runs(const conv_case *c, const node *n, const conv_data *d,
                       int OH, int OW, const char *desc)
{
    const int64_t N = (int64_t)OH * OW, on = (int64_t)c->cout * N;
    double *ref = malloc(sizeof(double) * on), *mag = malloc(sizeof(double) * on);
    if (!ref || !mag)
        exit(2);
    conv_ref(c, d, OH, OW, ref, mag);
    double lip = act_lipschitz(&c->act);
    float *out[2] = {buf_new(on), buf_new(on)};
    for (int t = 0; t < 2; t++) {
        const int threads = t ? 3 : 1;
        op_plan op;
        op_get(OP_CONV)->plan(n, (shape){c->cout, OH, OW}, OH, OW, threads,
                              &op);
        float *ws = buf_new((int64_t)op.ws_floats);
        view vin = view_full(d->x, (shape){c->cin, c->h, c->w}),
             vout = view_full(out[t], (shape){c->cout, OH, OW});
        t_forward(n, &vin, &vout, &op, ws, threads);
        CHECK(canary_ok(ws, (int64_t)op.ws_floats) && canary_ok(out[t], on),
              "%s (%d threads): wrote past the workspace or the output",
              desc, threads);
        buf_free(ws);
        double worst_ratio = 0.0;
        int64_t worst = -1;
        for (int64_t i = 0; i < on; i++) {
            double tol = 1e-4 * lip * (mag[i] > 1.0 ? mag[i] : 1.0);
            double r = fabs((double)out[t][i] - ref[i]) / tol;
            if (!(r <= worst_ratio)) { /* NaN counts as worst */
                worst_ratio = isnan(r) ? INFINITY : r;
                worst = i;
            }
        }
        CHECK(worst < 0 || worst_ratio <= 1.0, "%s (%d threads): worst at "
              "c=%lld y=%lld x=%lld: got %.9g, ref %.9g, %.3g x tolerance",
              desc, threads, (long long)(worst / N),
              (long long)(worst % N / OW), (long long)(worst % OW),
              worst >= 0 ? out[t][worst] : 0.0, worst >= 0 ? ref[worst] : 0.0,
              worst_ratio);
    }
    int64_t diff = -1;
    for (int64_t i = 0; i < on && diff < 0; i++)
        if (memcmp(&out[0][i], &out[1][i], sizeof(float)))
            diff = i;
    CHECK(diff < 0, "%s: 1 and 3 threads differ, first at element %lld",
          desc, (long long)diff);
    free(ref);
    free(mag);
    buf_free(out[0]);
    buf_free(out[1]);
}

static void run_conv_path(const conv_case *c, int wino, int pack)
{
    const int G = c->groups, cg = c->cin / G;
    const int64_t wn = (int64_t)c->cout * cg * c->kh * c->kw;
    const int64_t in_n = (int64_t)c->cin * c->h * c->w;
    conv_data d = {buf_new(wn), buf_new(c->cout), buf_new(in_n),
                   {buf_new(c->cout), buf_new(c->cout), buf_new(c->cout),
                    buf_new(c->cout)},
                   malloc(sizeof(double) * c->cout),
                   malloc(sizeof(double) * c->cout)};
    /* weights scaled so outputs stay O(1) whatever K is */
    float ws = 1.0f / sqrtf((float)(cg * c->kh * c->kw));
    fill(d.wt, wn, -2.0f * ws, 2.0f * ws);
    fill(d.bias, c->cout, -1.0f, 1.0f);
    fill(d.x, in_n, -2.0f, 2.0f);
    fill(d.bn[0], c->cout, 0.5f, 1.5f);
    fill(d.bn[1], c->cout, -0.5f, 0.5f);
    fill(d.bn[2], c->cout, -0.5f, 0.5f);
    fill(d.bn[3], c->cout, 0.5f, 2.0f);
    for (int o = 0; o < c->cout; o++) {
        d.scale[o] = d.bn[0][o] / sqrt((double)d.bn[3][o] + 1e-5f);
        d.shift[o] = d.bn[1][o] - d.bn[2][o] * d.scale[o];
    }
    arena ar = {0};
    node n;
    make_conv(c, &d, wino, pack, &ar, &n);
    const int OH = window_ref(c->h, c->kh, c->sh, c->dh, c->pt, c->pb, 0);
    const int OW = window_ref(c->w, c->kw, c->sw, c->dw, c->pl, c->pr, 0);
    shape in = {c->cin, c->h, c->w}, out;
    CHECK(t_infer(&n, &in, 1, &out) && out.c == c->cout && out.h == OH &&
          out.w == OW, "conv: infer gives %dx%dx%d, expected %dx%dx%d",
          out.c, out.h, out.w, c->cout, OH, OW);
    conv_plan p;
    conv_plan_window(&n, OH, OW, 1, &p);
    char desc[700];
    conv_desc(c, &p, desc, sizeof desc);
    if (check_plan(c, &n, wino, pack, OH, OW, desc))
        check_runs(c, &n, &d, OH, OW, desc);
    node_release(&n);
    arena_free(&ar);
    buf_free(d.wt);
    buf_free(d.bias);
    buf_free(d.x);
    for (int k = 0; k < 4; k++)
        buf_free(d.bn[k]);
    free(d.scale);
    free(d.shift);
}

/* Every case through im2col (or the direct/depthwise paths), and 3x3
** stride-1 cases through Winograd as well; each both with OpenBLAS and
** (where the CPU has a GEMM variant) with the packed GEMM. */
static void run_conv(const conv_case *c)
{
    for (int pack = 0; pack < 2; pack++) {
        run_conv_path(c, 0, pack);
        if (c->kh == 3 && c->kw == 3 && c->sh == 1 && c->sw == 1 &&
            c->dh == 1 && c->dw == 1 && c->groups == 1)
            run_conv_path(c, 1, pack);
    }
}

static conv_case cc(int cin, int cout, int h, int w, int kh, int kw, int sh,
                    int sw, int dh, int dw, int pt, int pl, int pb, int pr,
                    int groups, act_kind act, int bias)
{
    conv_case c = {cin, cout, h, w, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr,
                   groups, act_random(act), bias, 0, 0};
    return c;
}

/* One per path and schedule. */
static void fixed_cases(void)
{
    conv_case fixed[] = {
        /* direct 1x1, blocks (K=8: block 4096, N=16900: 5 blocks) */
        cc(8, 16, 130, 130, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, ACT_RELU, 1),
        /* direct 1x1, shared, Cout 80 > 64: 2 M blocks */
        cc(16, 80, 9, 7, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, ACT_NONE, 1),
        /* direct 1x1 grouped, blocks and shared */
        cc(8, 6, 110, 120, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 2, ACT_LEAKY, 1),
        cc(9, 201, 5, 6, 1, 1, 1, 1, 2, 3, 0, 0, 0, 0, 3, ACT_CLIP, 1),
        /* 1x1 but not direct: stride 2, or 1x2 (a 1x1 kernel cannot be
        ** padded: padding must be smaller than the kernel) */
        cc(5, 7, 21, 20, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1, ACT_NONE, 1),
        cc(5, 7, 11, 10, 1, 1, 1, 2, 1, 1, 0, 0, 0, 0, 1, ACT_NONE, 1),
        /* im2col blocks, small K (27: block 4096), N=18496: 5 blocks */
        cc(3, 8, 136, 136, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ACT_RELU, 1),
        /* im2col blocks, large K (576: block 224), N=784: 4 blocks */
        cc(64, 8, 28, 28, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ACT_HSWISH, 1),
        /* K=2304: block at its minimum 64, N=400: 7 blocks, last partial */
        cc(256, 4, 20, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ACT_NONE, 1),
        /* shared, 1 block, Cout 150: 3 M blocks */
        cc(8, 150, 6, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ACT_SIGMOID, 1),
        /* shared, 3 blocks (K=576, block 224, N=500), Cout 130 */
        cc(64, 130, 20, 25, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ACT_TANH, 1),
        /* one output pixel (a dense head as a conv): packed GEMV, with K
        ** past one 256-slice and not a multiple of 4, M not of 6 */
        cc(37, 101, 7, 7, 7, 7, 1, 1, 1, 1, 0, 0, 0, 0, 1, ACT_RELU, 1),
        cc(300, 13, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, ACT_NONE, 1),
        cc(64, 70, 3, 3, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 2, ACT_NONE, 0),
        /* 4 panels, the last one short (M = 23); 9 panels (M = 50) */
        cc(20, 23, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0, 1, ACT_NONE, 1),
        cc(600, 50, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, ACT_NONE, 1),
        /* shared grouped with M = 70 > 64 per group */
        cc(6, 140, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, ACT_HSIGMOID, 1),
        cc(9, 207, 7, 4, 2, 3, 1, 2, 1, 1, 0, 1, 1, 0, 3, ACT_MUL, 1),
        /* groups 3, blocks (K=50, block 2608, N=10000: 4 blocks) */
        cc(6, 9, 100, 100, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 3, ACT_LEAKY, 1),
        /* depthwise */
        cc(16, 16, 30, 30, 3, 3, 2, 2, 1, 1, 0, 1, 1, 0, 16, ACT_RELU, 1),
        cc(12, 12, 19, 23, 5, 5, 1, 1, 2, 2, 4, 4, 4, 4, 12, ACT_CLIP, 1),
        cc(7, 7, 9, 13, 7, 3, 3, 1, 1, 3, 2, 0, 5, 6, 7, ACT_NONE, 0),
        cc(2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 2, ACT_NONE, 1),
        /* depthwise with multiplier (groups == cin, cout = 2 cin): GEMM */
        cc(4, 8, 12, 11, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4, ACT_NONE, 1),
        /* non-square kernels */
        cc(4, 6, 17, 19, 1, 7, 1, 1, 1, 1, 0, 3, 0, 3, 1, ACT_NONE, 1),
        cc(4, 6, 17, 19, 7, 1, 1, 1, 1, 1, 3, 0, 3, 0, 1, ACT_NONE, 1),
        /* stem-like 7x7 stride 2 pad 3 */
        cc(3, 8, 64, 64, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1, ACT_RELU, 1),
        /* kernel == input (dense head as conv), N = 1 */
        cc(8, 100, 5, 5, 5, 5, 1, 1, 1, 1, 0, 0, 0, 0, 1, ACT_NONE, 1),
        /* padding up to the kernel: border outputs see one input pixel */
        cc(3, 5, 4, 4, 3, 3, 1, 1, 1, 1, 2, 2, 1, 2, 1, ACT_MUL, 1),
        /* dilation 3, stride 3, asymmetric pads */
        cc(5, 10, 31, 29, 3, 4, 3, 2, 3, 2, 2, 0, 0, 3, 1, ACT_TANH, 1),
        /* 1x1 input */
        cc(3, 4, 1, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ACT_NONE, 1),
        /* single input channel, single output */
        cc(1, 1, 9, 13, 2, 2, 1, 1, 1, 1, 0, 0, 1, 1, 1, ACT_NONE, 1),
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        run_conv(&fixed[i]);
    /* every activation, with and without bias, on a blocks and a shared
    ** shape */
    for (int a = 0; a < 9; a++)
        for (int b = 0; b < 2; b++) {
            conv_case c = b ? cc(4, 70, 6, 5, 3, 2, 1, 1, 1, 1, 1, 0, 0, 1, 1,
                                 (act_kind)a, b)
                            : cc(2, 3, 80, 60, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                 (act_kind)a, b);
            run_conv(&c);
        }
    /* true-convolution kernels, and a BatchNorm folded in (with and
    ** without an activation after it) */
    for (int i = 0; i < 6; i++) {
        /* padding stays below the kernel */
        const int kh = 1 + i % 3, kw = 3 - i % 3;
        conv_case c = cc(3 + i, 5 + 2 * i, 12 + i, 9 + 2 * i, kh, kw,
                         1 + i % 2, 1, 1, 1, kh > 1 ? i % 2 : 0, kw > 1, 0,
                         i % 3 < kw ? i % 3 : 0, 1,
                         i % 2 ? ACT_RELU : ACT_NONE, i % 3 != 0);
        c.flip = i < 3;
        c.bn = i >= 2;
        run_conv(&c);
    }
    conv_case w = cc(64, 64, 20, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                     ACT_RELU, 1);
    w.bn = 1;
    run_conv(&w);
}

/* Random shapes; every sixth aimed at the blocks schedule. */
static conv_case random_case(int i)
{
    conv_case c;
    memset(&c, 0, sizeof c);
    if (i % 6 == 5) {
        c.groups = irand(1, 2);
        c.kh = irand(2, 5);
        c.kw = irand(0, 1) ? c.kh : irand(1, 5);
        c.sh = c.sw = irand(1, 2);
        c.dh = c.dw = irand(1, 2);
        c.cin = c.groups * irand(24, 64);
        c.cout = c.groups * irand(1, 4);
        c.pt = irand(0, c.kh - 1);
        c.pb = irand(0, c.kh - 1);
        c.pl = irand(0, c.kw - 1);
        c.pr = irand(0, c.kw - 1);
        c.h = irand(20, 40) * c.sh;
        c.w = irand(20, 40) * c.sw;
        c.act = act_random((act_kind)irand(0, 8));
        c.bias = irand(0, 3) != 0;
        return c;
    }
    int gk = irand(0, 9), cg, mg;
    if (gk < 5) {
        c.groups = 1;
        cg = irand(1, 8);
        mg = irand(1, 12);
    } else if (gk < 7) {
        c.groups = irand(2, 3);
        cg = irand(1, 5);
        mg = irand(1, 8);
    } else if (gk < 9) { /* depthwise */
        c.groups = irand(2, 20);
        cg = 1;
        mg = 1;
    } else { /* depthwise multiplier */
        c.groups = irand(2, 6);
        cg = 1;
        mg = irand(2, 3);
    }
    if (irand(0, 9) == 0 && c.groups < 4)
        mg = irand(65, 140); /* several M blocks */
    c.cin = c.groups * cg;
    c.cout = c.groups * mg;
    if (irand(0, 5) == 0) {
        c.kh = c.kw = 1;
    } else {
        c.kh = irand(1, 7);
        c.kw = irand(0, 2) ? c.kh : irand(1, 7);
    }
    c.sh = irand(1, 3);
    c.sw = irand(0, 2) ? c.sh : irand(1, 3);
    c.dh = irand(0, 2) ? 1 : irand(2, 3);
    c.dw = irand(0, 2) ? c.dh : irand(1, 3);
    int keh = (c.kh - 1) * c.dh + 1, kew = (c.kw - 1) * c.dw + 1;
    int pk = irand(0, 3);
    if (pk == 0) {
        c.pt = c.pl = c.pb = c.pr = 0;
    } else if (pk == 1) { /* symmetric "same"-like */
        c.pt = c.pb = (keh - 1) / 2;
        c.pl = c.pr = (kew - 1) / 2;
    } else { /* arbitrary, possibly asymmetric, below the kernel */
        c.pt = irand(0, keh - 1);
        c.pb = irand(0, keh - 1);
        c.pl = irand(0, kew - 1);
        c.pr = irand(0, kew - 1);
    }
    int hmax = irand(0, 7) == 0 ? 140 : 24;
    int hmin_h = keh - c.pt - c.pb, hmin_w = kew - c.pl - c.pr;
    int lo_h = hmin_h > 1 ? hmin_h : 1, lo_w = hmin_w > 1 ? hmin_w : 1;
    c.h = irand(lo_h, lo_h + hmax);
    c.w = irand(lo_w, lo_w + hmax);
    /* keep the reference cheap: cout * N * K <= 4M */
    for (;;) {
        int64_t oh = (c.h + c.pt + c.pb - keh) / c.sh + 1,
                ow = (c.w + c.pl + c.pr - kew) / c.sw + 1;
        int64_t cost = (int64_t)c.cout * oh * ow * cg * c.kh * c.kw;
        if (cost <= 4000000 || (c.h <= hmin_h && c.w <= hmin_w) ||
            (c.h <= 1 && c.w <= 1))
            break;
        if (c.h > 1 && c.h > hmin_h)
            c.h = (c.h + lo_h) / 2;
        if (c.w > 1 && c.w > hmin_w)
            c.w = (c.w + lo_w) / 2;
    }
    c.act = act_random((act_kind)irand(0, 8));
    c.bias = irand(0, 4) != 0;
    c.flip = irand(0, 9) == 0;
    return c;
}

/* Winograd: 3x3 stride 1, random padding (asymmetric too), maps from a
** single partial 4x4 block to many batches, up to 96 channels. */
static conv_case winograd_case(int i)
{
    conv_case c;
    memset(&c, 0, sizeof c);
    c.kh = c.kw = 3;
    c.sh = c.sw = c.dh = c.dw = 1;
    c.groups = 1;
    c.cin = irand(1, i % 4 == 0 ? 96 : 24);
    c.cout = irand(1, i % 5 == 0 ? 96 : 24);
    c.pt = irand(0, 2);
    c.pb = irand(0, 2);
    c.pl = irand(0, 2);
    c.pr = irand(0, 2);
    c.h = irand(1, i % 3 == 0 ? 90 : 20) + 2;
    c.w = irand(1, i % 3 == 0 ? 90 : 20) + 2;
    c.act = act_random((act_kind)irand(0, 8));
    c.bias = irand(0, 3) != 0;
    return c;
}

void test_op_conv(void)
{
    fixed_cases();
    for (int i = 0; i < 360; i++) {
        conv_case c = random_case(i);
        run_conv(&c);
    }
    for (int i = 0; i < 40; i++) {
        conv_case c = winograd_case(i);
        run_conv(&c);
    }
    CHECK(cov.winograd >= 40, "Winograd coverage: %d cases", cov.winograd);
    CHECK(!gemm_available() || (cov.panels >= 100 && cov.panels_gemv >= 3),
          "packed-GEMM coverage: %d cases, %d of one pixel", cov.panels,
          cov.panels_gemv);
    CHECK(cov.direct >= 3 && cov.depthwise >= 5 && cov.blocks >= 5 &&
          cov.shared >= 20 && cov.shared_mblocks >= 3 &&
          cov.shared_multiblock >= 1 && cov.grouped >= 10 &&
          cov.flipped >= 10 && cov.bn >= 6,
          "conv coverage too thin: direct %d depthwise %d blocks %d shared %d "
          "(several M blocks %d, several blocks %d) grouped %d flipped %d "
          "bn %d", cov.direct, cov.depthwise, cov.blocks, cov.shared,
          cov.shared_mblocks, cov.shared_multiblock, cov.grouped, cov.flipped,
          cov.bn);
    for (int a = 0; a < 9; a++)
        CHECK(cov.acts[a] >= 2, "conv coverage: activation %s only %d times",
              act_name((act_kind)a), cov.acts[a]);
    printf("conv: %d cases: packed %d (one pixel %d), Winograd %d, direct %d, "
           "depthwise %d, blocks %d, shared %d, grouped %d, dilated %d, "
           "strided %d, asymmetric pad %d, non-square %d, flipped %d, "
           "BatchNorm folded %d\n", cov.cases, cov.panels, cov.panels_gemv,
           cov.winograd, cov.direct, cov.depthwise, cov.blocks, cov.shared,
           cov.grouped, cov.dilated, cov.strided, cov.asym_pad, cov.nonsquare,
           cov.flipped, cov.bn);
}
