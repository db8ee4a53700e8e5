/*
** test_ops.c: every kernel of conv.c and ops.c against a naive direct
** implementation written here (plain loops, double accumulators, no BLAS,
** no OpenMP), over random shapes drawn from a fixed-seed xorshift PRNG plus
** hand-picked edge cases.
**
** Each op runs with 1 and 3 threads; the two results must agree bit for bit
** (the schedules depend on the shape alone). Outputs are pre-filled with
** NaN (so an element the kernel never writes fails) and followed by canary
** floats (so a write past the end fails); so is the conv workspace.
**
** Tolerances (|got - ref| per element, ref computed in double):
**   conv      <= 1e-4 * L * max(1, A), A = |bias| + sum over the taps of
**             |w * x| for that output (the float GEMM's error is bounded by
**             a multiple of eps * A), L = max(1, Lipschitz constant of the
**             fused activation: |a| for leaky/hsigmoid/mul, 1.5 for hswish).
**   pool      max: exact; avg: <= 1e-5 * max(1, max|window|).
**   act       <= 1e-6 * max(1, |ref|) (sigmoid/tanh are libm float calls).
**   bn        <= 1e-6 * (|x * scale| + |shift|) + 1e-30.
**   lrn       <= 2e-5 * |ref| + 1e-7.
**   softmax   <= 1e-5 * ref + 1e-7, and each pixel sums to 1 within 1e-5.
**   add       <= 1e-6 * sum |x_i|.
**   pad, im2col_tile: exact (they only move values).
** On failure every parameter of the case is printed with the worst element.
*/
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "internal.h"

#define CANARY 16
#define CANARY_BITS 0x7fc0cafeu /* a NaN payload no kernel produces */

/* ---- PRNG: xorshift64, fixed seed ---- */

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static int irand(int lo, int hi) /* inclusive */
{
    return lo + (int)(rnd() % (uint64_t)(hi - lo + 1));
}

static float frand(float lo, float hi)
{
    return lo + (hi - lo) * (float)((double)(rnd() >> 11) / 9007199254740992.0);
}

static void fill(float *x, int64_t n, float lo, float hi)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = frand(lo, hi);
}

/* ---- buffers with NaN fill and a canary tail ---- */

static float *buf_new(int64_t n)
{
    float *p = fcn_aligned_alloc((size_t)(n + CANARY) * sizeof(float));
    if (!p) {
        fprintf(stderr, "out of memory (%lld floats)\n", (long long)n);
        exit(2);
    }
    uint32_t nanbits = 0x7fc00000u, canary = CANARY_BITS;
    for (int64_t i = 0; i < n; i++)
        memcpy(&p[i], &nanbits, 4);
    for (int i = 0; i < CANARY; i++)
        memcpy(&p[n + i], &canary, 4);
    return p;
}

static int canary_ok(const float *p, int64_t n)
{
    uint32_t canary = CANARY_BITS;
    for (int i = 0; i < CANARY; i++)
        if (memcmp(&p[n + i], &canary, 4))
            return 0;
    return 1;
}

/* ---- timing ---- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- activations (reference) ---- */

static const char *act_name(act_kind k)
{
    static const char *names[] = {"none", "relu", "leaky", "clip", "sigmoid",
                                  "tanh", "hswish", "hsigmoid", "mul"};
    return (unsigned)k < 9 ? names[k] : "?";
}

static double act_ref(const act_param *a, double x)
{
    switch (a->kind) {
    case ACT_NONE:
        return x;
    case ACT_RELU:
        return x > 0 ? x : 0;
    case ACT_LEAKY:
        return x >= 0 ? x : x * a->a;
    case ACT_CLIP:
        return x < a->a ? a->a : x > a->b ? a->b : x;
    case ACT_SIGMOID:
        return 1.0 / (1.0 + exp(-x));
    case ACT_TANH:
        return tanh(x);
    case ACT_HSWISH: {
        double r = x + 3;
        r = r < 0 ? 0 : r > 6 ? 6 : r;
        return x * r / 6;
    }
    case ACT_HSIGMOID: {
        double r = a->a * x + a->b;
        return r < 0 ? 0 : r > 1 ? 1 : r;
    }
    case ACT_MUL:
        return x * a->a;
    }
    return NAN;
}

static double act_lipschitz(const act_param *a)
{
    double l = 1.0;
    switch (a->kind) {
    case ACT_LEAKY:
    case ACT_HSIGMOID:
    case ACT_MUL:
        l = fabs(a->a);
        break;
    case ACT_HSWISH:
        l = 1.5;
        break;
    default:
        break;
    }
    return l > 1.0 ? l : 1.0;
}

static act_param act_random(act_kind k)
{
    act_param a = {k, 0.0f, 0.0f};
    switch (k) {
    case ACT_LEAKY:
        a.a = irand(0, 3) ? frand(0.0f, 0.5f) : frand(-1.5f, 2.0f);
        break;
    case ACT_CLIP:
        if (irand(0, 2) == 0) {
            a.a = 0.0f; /* relu6 */
            a.b = 6.0f;
        } else {
            a.a = frand(-1.0f, 0.0f);
            a.b = frand(0.1f, 1.5f);
        }
        break;
    case ACT_HSIGMOID:
        if (irand(0, 1)) {
            a.a = 1.0f / 6.0f; /* PyTorch */
            a.b = 0.5f;
        } else {
            a.a = frand(0.1f, 2.0f); /* ONNX HardSigmoid alpha, beta */
            a.b = frand(0.0f, 1.0f);
        }
        break;
    case ACT_MUL:
        a.a = frand(-2.0f, 2.0f);
        break;
    default:
        break;
    }
    return a;
}

/* ---- window_out: our own formula, by enumerating window starts ---- */

/* Windows start at o*s in padded coordinates [0, in+pa+pb). Floor mode:
** every window that fits. Ceil mode (PyTorch): every window whose start
** satisfies o*s <= span + s - 1, minus one that would start inside the
** right padding (o*s >= in + pa). Valid for ceil mode when pads < keff. */
static int window_ref(int in, int k, int s, int d, int pa, int pb, int ceil)
{
    int keff = (k - 1) * d + 1, total = in + pa + pb, span = total - keff;
    if (span < 0)
        return 0;
    int o = 0;
    if (!ceil) {
        while ((int64_t)o * s + keff <= total)
            o++;
    } else {
        while ((int64_t)o * s <= span + s - 1)
            o++;
        if ((int64_t)(o - 1) * s >= in + pa)
            o--;
    }
    return o;
}

static int window_cases;

static void test_window_out(void)
{
    int fails = 0;
    for (int i = 0; i < 4000; i++) {
        int in = irand(1, 60), k = irand(1, 9), s = irand(1, 4),
            d = irand(1, 3), ceil = irand(0, 1);
        int keff = (k - 1) * d + 1;
        int pmax = ceil ? keff - 1 : keff + 2;
        if (pmax > 6)
            pmax = 6;
        int pa = irand(0, pmax), pb = irand(0, pmax);
        int got = window_out(in, k, s, d, pa, pb, ceil);
        int ref = window_ref(in, k, s, d, pa, pb, ceil);
        if (got != ref && fails++ < 10)
            CHECK(0, "window_out(in=%d k=%d s=%d d=%d pa=%d pb=%d ceil=%d) = "
                  "%d, expected %d", in, k, s, d, pa, pb, ceil, got, ref);
        window_cases++;
    }
    CHECK(fails == 0, "window_out: %d of 4000 random cases wrong", fails);
    /* fixed points */
    CHECK(window_out(224, 3, 2, 1, 0, 0, 0) == 111, "window_out 224/3/2 floor");
    CHECK(window_out(224, 3, 2, 1, 0, 0, 1) == 112, "window_out 224/3/2 ceil");
    CHECK(window_out(5, 2, 2, 1, 1, 1, 1) == 3, "window_out 5/2/2 pad 1 ceil");
    CHECK(window_out(4, 2, 2, 1, 1, 1, 1) == 3, "window_out 4/2/2 pad 1 ceil "
          "(last window would start in the padding)");
    CHECK(window_out(4, 5, 1, 1, 0, 0, 0) < 1, "window_out: kernel > input");
    CHECK(window_out(7, 3, 1, 3, 0, 0, 0) == 1, "window_out: dilated fit");
    CHECK(window_out(7, 3, 1, 4, 0, 0, 0) < 1, "window_out: dilated no fit");
    CHECK(window_out(10, 3, 0, 1, 0, 0, 0) < 1, "window_out: stride 0");
    CHECK(window_out(FCN_MAX_DIM, 1, 1, 1, 1, 1, 0) < 1,
          "window_out: result above FCN_MAX_DIM");
    window_cases += 9;
}

/* ---- conv ---- */

typedef struct conv_case {
    int cin, cout, h, w, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, groups;
    act_param act;
    int bias;  /* 0: all-zero bias array (graph.c always allocates one) */
} conv_case;

static struct {
    int cases, direct, depthwise, tiles, shared, shared_mblocks,
        shared_multitile, grouped, acts[9], dilated, strided, asym_pad,
        nonsquare, winograd, panels, panels_gemv;
} cov;

static void conv_desc(const conv_case *c, const conv_plan *p, char *s,
                      size_t n)
{
    snprintf(s, n, "conv cin=%d cout=%d in=%dx%d (HxW) k=%dx%d s=%dx%d "
             "d=%dx%d pad(t,l,b,r)=%d,%d,%d,%d groups=%d act=%s(a=%g,b=%g) "
             "bias=%d | plan out=%dx%d K=%lld N=%lld tile=%d n_tiles=%d "
             "shared=%d direct=%d depthwise=%d panels=%d ws=%zu",
             c->cin, c->cout, c->h, c->w, c->kh, c->kw, c->sh, c->sw, c->dh,
             c->dw, c->pt, c->pl, c->pb, c->pr, c->groups,
             act_name(c->act.kind), c->act.a, c->act.b, c->bias, p->out_h,
             p->out_w, (long long)p->K, (long long)p->N, p->tile, p->n_tiles,
             p->shared, p->direct, p->depthwise, p->panels, p->ws_floats);
}

static void run_conv_path(const conv_case *c, int wino, int pack);

/* Every case through im2col (or the direct/depthwise paths), and 3x3
** stride-1 cases through Winograd F(4x4, 3x3) as well; each both with
** OpenBLAS on the weights as stored and (where the CPU has AVX2 and FMA)
** with gemm.c's kernel on packed weights. */
static void run_conv(const conv_case *c)
{
    int packs = gemm_available() ? 2 : 1;
    for (int pack = 0; pack < packs; pack++) {
        run_conv_path(c, 0, pack);
        if (c->kh == 3 && c->kw == 3 && c->sh == 1 && c->sw == 1 &&
            c->dh == 1 && c->dw == 1 && c->groups == 1)
            run_conv_path(c, 1, pack);
    }
}

static void run_conv_path(const conv_case *c, int wino, int pack)
{
    node n;
    memset(&n, 0, sizeof n);
    n.op = OP_CONV;
    n.name = n.opname = "test";
    n.kh = c->kh;
    n.kw = c->kw;
    n.sh = c->sh;
    n.sw = c->sw;
    n.dh = c->dh;
    n.dw = c->dw;
    n.pt = c->pt;
    n.pl = c->pl;
    n.pb = c->pb;
    n.pr = c->pr;
    n.groups = c->groups;
    n.cin = c->cin;
    n.cout = c->cout;
    n.act = c->act;
    const int G = c->groups, cg = c->cin / G, mg = c->cout / G;
    const int64_t wn = (int64_t)c->cout * cg * c->kh * c->kw;
    const int64_t in_n = (int64_t)c->cin * c->h * c->w;
    float *wt = buf_new(wn), *bias = buf_new(c->cout), *x = buf_new(in_n);
    /* weights scaled so outputs stay O(1) whatever K is */
    float ws_scale = 1.0f / sqrtf((float)(cg * c->kh * c->kw));
    fill(wt, wn, -2.0f * ws_scale, 2.0f * ws_scale);
    if (c->bias)
        fill(bias, c->cout, -1.0f, 1.0f);
    else
        memset(bias, 0, sizeof(float) * c->cout);
    fill(x, in_n, -2.0f, 2.0f);
    n.weight = wt;
    n.bias = bias;
    if (wino && !winograd_prepare(&n, pack))
        exit(2);
    if (pack && !conv_pack(&n, 0))
        exit(2);

    conv_plan p1, p3;
    conv_plan_make(&n, c->h, c->w, 1, &p1);
    conv_plan_make(&n, c->h, c->w, 3, &p3);
    char desc[640];
    conv_desc(c, &p1, desc, sizeof desc);
    cov.cases++;

    /* shape and plan */
    const int OH = (c->h + c->pt + c->pb - ((c->kh - 1) * c->dh + 1)) / c->sh + 1;
    const int OW = (c->w + c->pl + c->pr - ((c->kw - 1) * c->dw + 1)) / c->sw + 1;
    int plan_ok = p1.out_h == OH && p1.out_w == OW && p1.in_h == c->h &&
                  p1.in_w == c->w && p1.N == (int64_t)OH * OW &&
                  p1.K == (int64_t)cg * c->kh * c->kw;
    CHECK(plan_ok, "%s: plan geometry wrong, expected out %dx%d K=%lld", desc,
          OH, OW, (long long)cg * c->kh * c->kw);
    int same_sched = p1.tile == p3.tile && p1.n_tiles == p3.n_tiles &&
                     p1.shared == p3.shared && p1.direct == p3.direct &&
                     p1.depthwise == p3.depthwise && p1.out_h == p3.out_h &&
                     p1.out_w == p3.out_w;
    CHECK(same_sched, "%s: plan depends on the thread count (3 threads: "
          "tile=%d n_tiles=%d shared=%d)", desc, p3.tile, p3.n_tiles,
          p3.shared);
    int exp_dw = G > 1 && G == c->cin && c->cout == c->cin;
    int exp_direct = (!pack || exp_dw) && c->kh == 1 && c->kw == 1 &&
                     c->sh == 1 &&
                     c->sw == 1 && !c->pt && !c->pl && !c->pb && !c->pr;
    CHECK(p1.direct == exp_direct && p1.depthwise == exp_dw &&
          (wino || p1.panels == (pack && !exp_dw)) &&
          (!wino || n.wino_packed == pack),
          "%s: path flags, expected direct=%d depthwise=%d panels=%d", desc,
          exp_direct, exp_dw, pack && !exp_dw);
    CHECK(wino ? p1.winograd && p1.ws_floats > 0
               : p1.tile >= 1 && (int64_t)p1.tile * p1.n_tiles >= p1.N &&
                     (int64_t)p1.tile * (p1.n_tiles - 1) < p1.N,
          "%s: tiles do not cover N (or no Winograd plan)", desc);
    if (!plan_ok || !same_sched) {
        fcn_free(n.wino);
    fcn_free(n.packed);
        fcn_free(n.packed);
        fcn_free(wt);
        fcn_free(bias);
        fcn_free(x);
        return;
    }
    if (pack && !wino && !p1.depthwise) {
        cov.panels++;
        if (p1.N == 1)
            cov.panels_gemv++;
    }
    if (wino)
        cov.winograd++;
    else if (p1.direct)
        cov.direct++;
    if (p1.depthwise)
        cov.depthwise++;
    else if (p1.shared) {
        cov.shared++;
        if (mg > 64)
            cov.shared_mblocks++;
        if (p1.n_tiles > 1)
            cov.shared_multitile++;
    } else
        cov.tiles++;
    if (G > 1)
        cov.grouped++;
    cov.acts[c->act.kind]++;
    if (c->dh > 1 || c->dw > 1)
        cov.dilated++;
    if (c->sh > 1 || c->sw > 1)
        cov.strided++;
    if (c->pt != c->pb || c->pl != c->pr)
        cov.asym_pad++;
    if (c->kh != c->kw)
        cov.nonsquare++;

    /* reference */
    const int64_t N = (int64_t)OH * OW, on = (int64_t)c->cout * N;
    double *ref = malloc(sizeof(double) * on), *mag = malloc(sizeof(double) * on);
    if (!ref || !mag)
        exit(2);
    for (int g = 0; g < G; g++)
        for (int m = 0; m < mg; m++) {
            int oc = g * mg + m;
            for (int oy = 0; oy < OH; oy++)
                for (int ox = 0; ox < OW; ox++) {
                    double s = bias[oc], a = fabs(bias[oc]);
                    for (int ci = 0; ci < cg; ci++) {
                        int ic = g * cg + ci;
                        for (int ky = 0; ky < c->kh; ky++) {
                            int iy = oy * c->sh - c->pt + ky * c->dh;
                            if (iy < 0 || iy >= c->h)
                                continue;
                            for (int kx = 0; kx < c->kw; kx++) {
                                int ix = ox * c->sw - c->pl + kx * c->dw;
                                if (ix < 0 || ix >= c->w)
                                    continue;
                                double t = (double)wt[(((int64_t)oc * cg + ci) *
                                                       c->kh + ky) * c->kw + kx] *
                                           x[((int64_t)ic * c->h + iy) * c->w + ix];
                                s += t;
                                a += fabs(t);
                            }
                        }
                    }
                    int64_t o = (int64_t)oc * N + (int64_t)oy * OW + ox;
                    ref[o] = act_ref(&c->act, s);
                    mag[o] = a;
                }
        }

    /* run with 1 and 3 threads, as session.c does (OpenBLAS sizes its team
    ** from the ICV outside an active parallel region) */
    float *out[2] = {buf_new(on), buf_new(on)};
    const conv_plan *plans[2] = {&p1, &p3};
    const int thr[2] = {1, 3};
    int saved = omp_get_max_threads();
    for (int t = 0; t < 2; t++) {
        const conv_plan *p = plans[t];
        float *ws = buf_new((int64_t)p->ws_floats);
        omp_set_num_threads(thr[t]);
        view vin = view_full(x, (shape){c->cin, c->h, c->w}),
             vout = view_full(out[t], (shape){c->cout, OH, OW});
        conv_forward(&n, p, &vin, &vout, ws, thr[t]);
        omp_set_num_threads(saved);
        CHECK(canary_ok(ws, (int64_t)p->ws_floats),
              "%s (%d threads): wrote past the workspace of %zu floats", desc,
              thr[t], p->ws_floats);
        CHECK(canary_ok(out[t], on), "%s (%d threads): wrote past the output",
              desc, thr[t]);
        fcn_free(ws);
        double lip = act_lipschitz(&c->act), worst_ratio = 0.0;
        int64_t worst = -1;
        for (int64_t i = 0; i < on; i++) {
            double tol = 1e-4 * lip * (mag[i] > 1.0 ? mag[i] : 1.0);
            double e = fabs((double)out[t][i] - ref[i]);
            double r = e / tol;
            if (!(r <= worst_ratio)) { /* NaN counts as worst */
                worst_ratio = isnan(r) ? INFINITY : r;
                worst = i;
            }
        }
        if (worst >= 0 && !(worst_ratio <= 1.0)) {
            int oc = (int)(worst / N), oy = (int)(worst % N / OW),
                ox = (int)(worst % OW);
            double tol = 1e-4 * lip * (mag[worst] > 1.0 ? mag[worst] : 1.0);
            CHECK(0, "%s (%d threads): worst at c=%d y=%d x=%d: got %.9g, "
                  "ref %.9g, |err| %.3g > tol %.3g", desc, thr[t], oc, oy, ox,
                  out[t][worst], ref[worst], fabs(out[t][worst] - ref[worst]),
                  tol);
        } else {
            CHECK(1, "");
        }
    }
    int64_t diff = -1;
    for (int64_t i = 0; i < on && diff < 0; i++)
        if (memcmp(&out[0][i], &out[1][i], sizeof(float)))
            diff = i;
    CHECK(diff < 0, "%s: 1 and 3 threads differ, first at element %lld "
          "(c=%lld y=%lld x=%lld): %.9g vs %.9g", desc, (long long)diff,
          (long long)(diff / N), (long long)(diff % N / OW),
          (long long)(diff % OW), diff >= 0 ? out[0][diff] : 0.0,
          diff >= 0 ? out[1][diff] : 0.0);
    free(ref);
    free(mag);
    fcn_free(out[0]);
    fcn_free(out[1]);
    fcn_free(n.wino);
    fcn_free(n.packed);
    fcn_free(wt);
    fcn_free(bias);
    fcn_free(x);
}

static conv_case cc(int cin, int cout, int h, int w, int kh, int kw, int sh,
                    int sw, int dh, int dw, int pt, int pl, int pb, int pr,
                    int groups, act_kind act, int bias)
{
    conv_case c = {cin, cout, h, w, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr,
                   groups, act_random(act), bias};
    return c;
}

static void test_conv(void)
{
    /* hand-picked: one per path and schedule */
    conv_case fixed[] = {
        /* direct 1x1, tiles (K=8: tile 4096, N=16900: 5 tiles) */
        cc(8, 16, 130, 130, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, ACT_RELU, 1),
        /* direct 1x1, shared, Cout 80 > 64: 2 M blocks */
        cc(16, 80, 9, 7, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, ACT_NONE, 1),
        /* direct 1x1 grouped, tiles and shared */
        cc(8, 6, 110, 120, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 2, ACT_LEAKY, 1),
        cc(9, 201, 5, 6, 1, 1, 1, 1, 2, 3, 0, 0, 0, 0, 3, ACT_CLIP, 1),
        /* 1x1 but not direct: stride 2, or padded */
        cc(5, 7, 21, 20, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1, ACT_NONE, 1),
        cc(5, 7, 11, 10, 1, 1, 1, 1, 1, 1, 1, 0, 2, 1, 1, ACT_NONE, 1),
        /* im2col tiles, small K (27: tile 4096), N=18496: 5 tiles */
        cc(3, 8, 136, 136, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ACT_RELU, 1),
        /* im2col tiles, large K (576: tile 224), N=784: 4 tiles */
        cc(64, 8, 28, 28, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ACT_HSWISH, 1),
        /* K=2304: tile at TILE_MIN 64, N=400: 7 tiles, last partial */
        cc(256, 4, 20, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ACT_NONE, 1),
        /* shared, 1 tile, Cout 150: 3 M blocks */
        cc(8, 150, 6, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ACT_SIGMOID, 1),
        /* shared, 3 tiles (K=576, tile 224, N=500), Cout 130: 3 M blocks */
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
        /* groups 3, tiles (K=50, tile 2608, N=10000: 4 tiles) */
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
        /* padding larger than the kernel: outputs entirely in the padding */
        cc(3, 5, 4, 4, 3, 3, 1, 1, 1, 1, 4, 3, 4, 5, 1, ACT_MUL, 1),
        /* dilation 3, stride 3, asymmetric pads */
        cc(5, 10, 31, 29, 3, 4, 3, 2, 3, 2, 2, 0, 0, 3, 1, ACT_TANH, 1),
        /* 1x1 input */
        cc(3, 4, 1, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ACT_NONE, 1),
        /* single input channel, single output */
        cc(1, 1, 9, 13, 2, 2, 1, 1, 1, 1, 0, 0, 1, 1, 1, ACT_NONE, 1),
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        run_conv(&fixed[i]);
    /* every activation, with and without bias, on a tiles and a shared
    ** shape */
    for (int a = 0; a < 9; a++)
        for (int b = 0; b < 2; b++) {
            conv_case c = b ? cc(4, 70, 6, 5, 3, 2, 1, 1, 1, 1, 1, 0, 0, 1, 1,
                                 (act_kind)a, b)
                            : cc(2, 3, 80, 60, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                 (act_kind)a, b);
            run_conv(&c);
        }
    /* random */
    for (int i = 0; i < 360; i++) {
        conv_case c;
        memset(&c, 0, sizeof c);
        if (i % 6 == 5) {
            /* aim at the tiles schedule: K large enough that the tile is
            ** small (TILE_BYTES / 4K columns), N several tiles */
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
            run_conv(&c);
            continue;
        }
        int gk = irand(0, 9);
        int cg, mg;
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
        } else { /* arbitrary, possibly asymmetric, up to the kernel */
            c.pt = irand(0, keh);
            c.pb = irand(0, keh);
            c.pl = irand(0, kew);
            c.pr = irand(0, kew);
        }
        int big = irand(0, 7) == 0; /* aim at the tiles schedule */
        int hmax = big ? 140 : 24;
        int hmin_h = keh - c.pt - c.pb, hmin_w = kew - c.pl - c.pr;
        c.h = irand(hmin_h > 1 ? hmin_h : 1, (hmin_h > 1 ? hmin_h : 1) + hmax);
        c.w = irand(hmin_w > 1 ? hmin_w : 1, (hmin_w > 1 ? hmin_w : 1) + hmax);
        /* keep the reference cheap: cout * N * K <= 4M */
        for (;;) {
            int64_t oh = (c.h + c.pt + c.pb - keh) / c.sh + 1,
                    ow = (c.w + c.pl + c.pr - kew) / c.sw + 1;
            int64_t cost = (int64_t)c.cout * oh * ow * cg * c.kh * c.kw;
            if (cost <= 4000000 || (c.h <= hmin_h && c.w <= hmin_w) ||
                (c.h <= 1 && c.w <= 1))
                break;
            if (c.h > 1 && c.h > hmin_h)
                c.h = (c.h + (hmin_h > 1 ? hmin_h : 1)) / 2;
            if (c.w > 1 && c.w > hmin_w)
                c.w = (c.w + (hmin_w > 1 ? hmin_w : 1)) / 2;
        }
        c.act = act_random((act_kind)irand(0, 8));
        c.bias = irand(0, 4) != 0;
        run_conv(&c);
    }
    /* Winograd: 3x3 stride 1, random padding (asymmetric too), maps from
    ** a single partial 4x4 block to many batches, up to 96 channels */
    for (int i = 0; i < 40; i++) {
        conv_case c;
        memset(&c, 0, sizeof c);
        c.kh = c.kw = 3;
        c.sh = c.sw = c.dh = c.dw = 1;
        c.groups = 1;
        c.cin = irand(1, i % 4 == 0 ? 96 : 24);
        c.cout = irand(1, i % 5 == 0 ? 96 : 24);
        c.pt = irand(0, 2); c.pb = irand(0, 2);
        c.pl = irand(0, 2); c.pr = irand(0, 2);
        c.h = irand(1, i % 3 == 0 ? 90 : 20) + 2;
        c.w = irand(1, i % 3 == 0 ? 90 : 20) + 2;
        c.act = act_random((act_kind)irand(0, 8));
        c.bias = irand(0, 3) != 0;
        run_conv(&c);
    }
    CHECK(cov.winograd >= 40, "Winograd coverage: %d cases", cov.winograd);
    CHECK(!gemm_available() || (cov.panels >= 100 && cov.panels_gemv >= 3),
          "packed-kernel coverage: %d cases, %d of one pixel", cov.panels,
          cov.panels_gemv);
    CHECK(cov.direct >= 3 && cov.depthwise >= 5 && cov.tiles >= 5 &&
          cov.shared >= 20 && cov.shared_mblocks >= 3 &&
          cov.shared_multitile >= 1 && cov.grouped >= 10,
          "conv coverage too thin: direct %d depthwise %d tiles %d shared %d "
          "(several M blocks %d, several tiles %d) grouped %d", cov.direct,
          cov.depthwise, cov.tiles, cov.shared, cov.shared_mblocks,
          cov.shared_multitile, cov.grouped);
    for (int a = 0; a < 9; a++)
        CHECK(cov.acts[a] >= 2, "conv coverage: activation %s only %d times",
              act_name((act_kind)a), cov.acts[a]);
}

/* ---- im2col_tile ---- */

static int im2col_cases;

static void test_im2col(void)
{
    for (int i = 0; i < 60; i++) {
        int C = irand(1, 4), h = irand(1, 12), w = irand(1, 12),
            kh = irand(1, 4), kw = irand(1, 4), sh = irand(1, 3),
            sw = irand(0, 1) ? 1 : irand(1, 3), dh = irand(1, 2),
            dw = irand(1, 2), pt = irand(0, 3), pl = irand(0, 3),
            pb = irand(0, 3), pr = irand(0, 3);
        int oh = window_ref(h, kh, sh, dh, pt, pb, 0),
            ow = window_ref(w, kw, sw, dw, pl, pr, 0);
        if (oh < 1 || ow < 1) {
            i--;
            continue;
        }
        int64_t N = (int64_t)oh * ow;
        int c0 = irand(0, C - 1), cn = irand(1, C - c0);
        int64_t n0 = irand(0, (int)N - 1);
        int nt = irand(1, (int)(N - n0));
        int64_t K = (int64_t)cn * kh * kw;
        float *x = buf_new((int64_t)C * h * w), *col = buf_new(K * nt);
        fill(x, (int64_t)C * h * w, -1.0f, 1.0f);
        node nd = {0};
        nd.kh = kh; nd.kw = kw; nd.sh = sh; nd.sw = sw;
        nd.pt = pt; nd.pl = pl; nd.dh = dh; nd.dw = dw;
        view vx = view_full(x, (shape){C, h, w});
        im2col_tile(&vx, c0, cn, &nd, 0, 0, ow, n0, nt, col);
        int64_t bad = -1;
        float want = 0.0f;
        for (int c = 0; c < cn && bad < 0; c++)
            for (int ky = 0; ky < kh; ky++)
                for (int kx = 0; kx < kw; kx++)
                    for (int j = 0; j < nt; j++) {
                        int64_t p = n0 + j;
                        int oy = (int)(p / ow), ox = (int)(p % ow);
                        int iy = oy * sh - pt + ky * dh,
                            ix = ox * sw - pl + kx * dw;
                        float v = iy >= 0 && iy < h && ix >= 0 && ix < w
                                      ? x[((int64_t)(c0 + c) * h + iy) * w + ix]
                                      : 0.0f;
                        int64_t r = (((int64_t)c * kh + ky) * kw + kx) * nt + j;
                        if (bad < 0 && memcmp(&v, &col[r], sizeof v)) {
                            bad = r;
                            want = v;
                        }
                    }
        CHECK(bad < 0 && canary_ok(col, K * nt),
              "im2col_tile C=%d h=%d w=%d k=%dx%d s=%dx%d d=%dx%d "
              "pad(t,l,b,r)=%d,%d,%d,%d out_w=%d c0=%d cn=%d n0=%lld nt=%d: "
              "%s row %lld col %lld: got %.9g want %.9g",
              C, h, w, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, ow, c0, cn,
              (long long)n0, nt, bad < 0 ? "wrote past col" : "first bad",
              (long long)(bad < 0 ? 0 : bad / nt),
              (long long)(bad < 0 ? 0 : bad % nt), bad < 0 ? 0.0 : col[bad],
              (double)want);
        im2col_cases++;
        fcn_free(x);
        fcn_free(col);
    }
}

/* ---- pooling ---- */

static int pool_cases, pool_dropped;

static void run_pool(int max, int C, int H, int W, int kh, int kw, int sh,
                     int sw, int pt, int pl, int pb, int pr, int ceil, int cip)
{
    node n;
    memset(&n, 0, sizeof n);
    n.op = max ? OP_MAXPOOL : OP_AVGPOOL;
    n.kh = kh;
    n.kw = kw;
    n.sh = sh;
    n.sw = sw;
    n.dh = n.dw = 1;
    n.pt = pt;
    n.pl = pl;
    n.pb = pb;
    n.pr = pr;
    n.ceil_mode = ceil;
    n.count_include_pad = cip;
    char desc[400];
    int OH = window_out(H, kh, sh, 1, pt, pb, ceil),
        OW = window_out(W, kw, sw, 1, pl, pr, ceil);
    snprintf(desc, sizeof desc, "%s C=%d in=%dx%d (HxW) k=%dx%d s=%dx%d "
             "pad(t,l,b,r)=%d,%d,%d,%d ceil_mode=%d count_include_pad=%d "
             "out=%dx%d", max ? "maxpool" : "avgpool", C, H, W, kh, kw, sh,
             sw, pt, pl, pb, pr, ceil, cip, OH, OW);
    int rh = window_ref(H, kh, sh, 1, pt, pb, ceil),
        rw = window_ref(W, kw, sw, 1, pl, pr, ceil);
    CHECK(OH == rh && OW == rw, "%s: window_out gives %dx%d, expected %dx%d",
          desc, OH, OW, rh, rw);
    if (OH != rh || OW != rw || OH < 1 || OW < 1)
        return;
    if (ceil && (window_ref(H, kh, sh, 1, pt, pb, 0) != OH ||
                 window_ref(W, kw, sw, 1, pl, pr, 0) != OW))
        pool_dropped++; /* ceil mode made a difference */
    pool_cases++;
    shape is = {C, H, W}, os = {C, OH, OW};
    int64_t in_n = (int64_t)C * H * W, on = (int64_t)C * OH * OW;
    float *x = buf_new(in_n);
    fill(x, in_n, -1.0f, 1.0f);
    if (C > 1) /* one channel all negative: max must not return 0 */
        for (int64_t i = 0; i < (int64_t)H * W; i++)
            x[i] = -1.0f - fabsf(x[i]);
    float *out[2] = {buf_new(on), buf_new(on)};
    {
        view vi = view_full(x, is), vo = view_full(out[0], os);
        pool_forward(&n, max, &vi, &vo, 1);
    }
    {
        view vi = view_full(x, is), vo = view_full(out[1], os);
        pool_forward(&n, max, &vi, &vo, 3);
    }
    double worst_e = 0.0, worst_tol = 0.0, worst_ref = 0.0;
    int64_t worst = -1;
    for (int c = 0; c < C; c++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                /* PyTorch: window in padded coordinates, clipped to the
                ** padded bounds for the divisor, to the input for the sum */
                int h0 = oy * sh - pt, w0 = ox * sw - pl;
                int h1 = h0 + kh < H + pb ? h0 + kh : H + pb;
                int w1 = w0 + kw < W + pr ? w0 + kw : W + pr;
                int pool_size = (h1 - h0) * (w1 - w0);
                int ha = h0 > 0 ? h0 : 0, wa = w0 > 0 ? w0 : 0;
                int hb = h1 < H ? h1 : H, wb = w1 < W ? w1 : W;
                double s = 0.0, mx = -INFINITY, amax = 0.0;
                int cnt = 0;
                for (int y = ha; y < hb; y++)
                    for (int xx = wa; xx < wb; xx++) {
                        double v = x[((int64_t)c * H + y) * W + xx];
                        s += v;
                        mx = v > mx ? v : mx;
                        amax = fabs(v) > amax ? fabs(v) : amax;
                        cnt++;
                    }
                double ref = max ? mx : s / (cip ? pool_size : cnt);
                double tol = max ? 0.0 : 1e-5 * (amax > 1.0 ? amax : 1.0);
                int64_t o = ((int64_t)c * OH + oy) * OW + ox;
                double e = fabs((double)out[0][o] - ref);
                if (!(e <= tol) && (worst < 0 || !(e <= worst_e))) {
                    worst = o;
                    worst_e = isnan(e) ? INFINITY : e;
                    worst_tol = tol;
                    worst_ref = ref;
                }
            }
    if (worst >= 0)
        CHECK(0, "%s: worst at c=%lld y=%lld x=%lld: got %.9g, ref %.9g, "
              "|err| %.3g > tol %.3g", desc, (long long)(worst / (OH * OW)),
              (long long)(worst % (OH * OW) / OW), (long long)(worst % OW),
              out[0][worst], worst_ref, worst_e, worst_tol);
    else
        CHECK(1, "");
    CHECK(canary_ok(out[0], on) && canary_ok(out[1], on),
          "%s: wrote past the output", desc);
    CHECK(!memcmp(out[0], out[1], sizeof(float) * on),
          "%s: 1 and 3 threads differ", desc);
    fcn_free(x);
    fcn_free(out[0]);
    fcn_free(out[1]);
}

static void test_pool(void)
{
    /* hand-picked */
    for (int max = 0; max < 2; max++)
        for (int cip = 0; cip < 2; cip++)
            for (int ceil = 0; ceil < 2; ceil++) {
                run_pool(max, 3, 7, 7, 3, 3, 2, 2, 1, 1, 1, 1, ceil, cip);
                run_pool(max, 2, 6, 6, 2, 2, 2, 2, 1, 1, 1, 1, ceil, cip);
                run_pool(max, 2, 5, 8, 3, 2, 2, 3, 0, 1, 2, 0, ceil, cip);
                run_pool(max, 2, 13, 11, 5, 5, 3, 3, 2, 2, 2, 2, ceil, cip);
                run_pool(max, 4, 7, 9, 7, 9, 1, 1, 0, 0, 0, 0, ceil, cip);
                run_pool(max, 3, 10, 10, 1, 1, 3, 3, 0, 0, 0, 0, ceil, cip);
                run_pool(max, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, ceil, cip);
                run_pool(max, 2, 2, 3, 3, 3, 2, 1, 1, 0, 2, 2, ceil, cip);
            }
    /* random */
    for (int i = 0; i < 300; i++) {
        int kh = irand(1, 5), kw = irand(0, 2) ? kh : irand(1, 5);
        int sh = irand(1, 3), sw = irand(0, 2) ? sh : irand(1, 3);
        int pt = irand(0, kh - 1), pb = irand(0, kh - 1),
            pl = irand(0, kw - 1), pr = irand(0, kw - 1);
        if (irand(0, 1)) {
            pb = pt;
            pr = pl;
        }
        int H = irand(1, 20), W = irand(1, 20);
        if (window_ref(H, kh, sh, 1, pt, pb, 0) < 1 ||
            window_ref(W, kw, sw, 1, pl, pr, 0) < 1) {
            i--;
            continue;
        }
        run_pool(irand(0, 1), irand(1, 4), H, W, kh, kw, sh, sw, pt, pl, pb,
                 pr, irand(0, 1), irand(0, 1));
    }
    CHECK(pool_dropped >= 10, "pool coverage: ceil_mode changed the output "
          "size only %d times", pool_dropped);
}

/* ---- act_apply ---- */

static int act_cases;

static void test_act(void)
{
    static const float special[] = {0.0f, -0.0f, 1.0f, -1.0f, 3.0f, -3.0f,
                                    6.0f, -6.0f, 2.5f, -2.5f, 0.5f, -0.5f,
                                    100.0f, -100.0f, 1e-8f, -1e-8f, 88.0f,
                                    -88.0f, 1e30f, -1e30f};
    const int ns = (int)(sizeof special / sizeof special[0]);
    for (int k = 0; k < 9; k++)
        for (int rep = 0; rep < 6; rep++) {
            act_param a = act_random((act_kind)k);
            if (rep == 0 && k == ACT_LEAKY)
                a.a = 0.1f;
            int n = rep == 0 ? ns : irand(1, 700);
            int off = irand(0, 7); /* unaligned starts */
            float *buf = buf_new(n + off), *x = buf + off;
            float *orig = malloc(sizeof(float) * n);
            if (!orig)
                exit(2);
            if (rep == 0)
                memcpy(x, special, sizeof special);
            else
                fill(x, n, -8.0f, 8.0f);
            memcpy(orig, x, sizeof(float) * n);
            act_apply(&a, x, n);
            int64_t worst = -1;
            double we = 0.0;
            for (int i = 0; i < n; i++) {
                double ref = act_ref(&a, orig[i]);
                double tol = 1e-6 * (fabs(ref) > 1.0 ? fabs(ref) : 1.0);
                double e = fabs((double)x[i] - ref);
                if (isinf(ref) && x[i] == ref)
                    e = 0.0;
                if (!(e <= tol) && (worst < 0 || !(e <= we))) {
                    worst = i;
                    we = isnan(e) ? INFINITY : e;
                }
            }
            CHECK(worst < 0, "act_apply %s(a=%g, b=%g) n=%d offset=%d: worst "
                  "at %lld: x=%.9g got %.9g ref %.9g", act_name(a.kind), a.a,
                  a.b, n, off, (long long)worst,
                  worst >= 0 ? orig[worst] : 0.0, worst >= 0 ? x[worst] : 0.0,
                  worst >= 0 ? act_ref(&a, orig[worst]) : 0.0);
            CHECK(canary_ok(buf, n + off), "act_apply %s n=%d: wrote past "
                  "the end", act_name(a.kind), n);
            /* and nothing before the start */
            int before_ok = 1;
            for (int i = 0; i < off; i++)
                if (!isnan(buf[i]))
                    before_ok = 0;
            CHECK(before_ok, "act_apply %s n=%d offset=%d: wrote before the "
                  "start", act_name(a.kind), n, off);
            act_cases++;
            free(orig);
            fcn_free(buf);
        }
    /* n = 0 touches nothing */
    for (int k = 0; k < 9; k++) {
        act_param a = act_random((act_kind)k);
        float *buf = buf_new(0);
        act_apply(&a, buf, 0);
        CHECK(canary_ok(buf, 0), "act_apply %s n=0 wrote", act_name(a.kind));
        fcn_free(buf);
    }
}

/* ---- bn ---- */

static int bn_cases;

static void test_bn(void)
{
    for (int i = 0; i < 30; i++) {
        int C = irand(1, 16), H = irand(1, 12), W = irand(1, 12);
        int64_t hw = (int64_t)H * W, nn = C * hw;
        node n;
        memset(&n, 0, sizeof n);
        n.op = OP_BN;
        float *sc = buf_new(C), *sh = buf_new(C), *x = buf_new(nn);
        fill(sc, C, -2.0f, 2.0f);
        fill(sh, C, -1.0f, 1.0f);
        fill(x, nn, -5.0f, 5.0f);
        n.bn_scale = sc;
        n.bn_shift = sh;
        shape s = {C, H, W};
        float *out[2] = {buf_new(nn), buf_new(nn)};
        {
            view vi = view_full(x, s), vo = view_full(out[0], s);
            bn_forward(&n, &vi, &vo, 1);
        }
        {
            view vi = view_full(x, s), vo = view_full(out[1], s);
            bn_forward(&n, &vi, &vo, 3);
        }
        int64_t worst = -1;
        double we = 0.0;
        for (int64_t j = 0; j < nn; j++) {
            int c = (int)(j / hw);
            double ref = (double)x[j] * sc[c] + sh[c];
            double tol = 1e-6 * (fabs((double)x[j] * sc[c]) + fabs(sh[c])) +
                         1e-30;
            double e = fabs((double)out[0][j] - ref);
            if (!(e <= tol) && (worst < 0 || !(e <= we))) {
                worst = j;
                we = isnan(e) ? INFINITY : e;
            }
        }
        CHECK(worst < 0, "bn C=%d in=%dx%d: worst at c=%lld i=%lld: got %.9g "
              "x=%.9g scale=%.9g shift=%.9g", C, H, W,
              (long long)(worst / hw), (long long)(worst % hw),
              worst >= 0 ? out[0][worst] : 0.0, worst >= 0 ? x[worst] : 0.0,
              worst >= 0 ? sc[worst / hw] : 0.0,
              worst >= 0 ? sh[worst / hw] : 0.0);
        CHECK(canary_ok(out[0], nn) && canary_ok(out[1], nn),
              "bn C=%d in=%dx%d: wrote past the output", C, H, W);
        CHECK(!memcmp(out[0], out[1], sizeof(float) * nn),
              "bn C=%d in=%dx%d: 1 and 3 threads differ", C, H, W);
        bn_cases++;
        fcn_free(sc);
        fcn_free(sh);
        fcn_free(x);
        fcn_free(out[0]);
        fcn_free(out[1]);
    }
}

/* ---- lrn ---- */

static int lrn_cases;

static void run_lrn(int C, int H, int W, int size, float alpha, float beta,
                    float bias)
{
    int64_t hw = (int64_t)H * W, nn = C * hw;
    node n;
    memset(&n, 0, sizeof n);
    n.op = OP_LRN;
    n.lrn_size = size;
    n.lrn_alpha = alpha;
    n.lrn_beta = beta;
    n.lrn_bias = bias;
    float *x = buf_new(nn);
    fill(x, nn, -3.0f, 3.0f);
    shape s = {C, H, W};
    float *out[2] = {buf_new(nn), buf_new(nn)};
    {
        view vi = view_full(x, s), vo = view_full(out[0], s);
        lrn_forward(&n, &vi, &vo, 1);
    }
    {
        view vi = view_full(x, s), vo = view_full(out[1], s);
        lrn_forward(&n, &vi, &vo, 3);
    }
    int64_t worst = -1;
    double we = 0.0, wref = 0.0;
    for (int c = 0; c < C; c++)
        for (int64_t i = 0; i < hw; i++) {
            /* ONNX: channels [c - floor((size-1)/2), c + ceil((size-1)/2)] */
            int lo = c - (size - 1) / 2, hi = c + size / 2;
            double sq = 0.0;
            for (int j = lo; j <= hi; j++)
                if (j >= 0 && j < C) {
                    double v = x[j * hw + i];
                    sq += v * v;
                }
            double ref = x[c * hw + i] /
                         pow((double)bias + (double)alpha / size * sq, beta);
            double e = fabs((double)out[0][c * hw + i] - ref);
            double tol = 2e-5 * fabs(ref) + 1e-7;
            if (!(e <= tol) && (worst < 0 || !(e <= we))) {
                worst = c * hw + i;
                we = isnan(e) ? INFINITY : e;
                wref = ref;
            }
        }
    char desc[200];
    snprintf(desc, sizeof desc, "lrn C=%d in=%dx%d size=%d alpha=%g beta=%g "
             "bias=%g", C, H, W, size, alpha, beta, bias);
    CHECK(worst < 0, "%s: worst at c=%lld i=%lld: got %.9g ref %.9g", desc,
          (long long)(worst / hw), (long long)(worst % hw),
          worst >= 0 ? out[0][worst] : 0.0, wref);
    CHECK(canary_ok(out[0], nn) && canary_ok(out[1], nn),
          "%s: wrote past the output", desc);
    CHECK(!memcmp(out[0], out[1], sizeof(float) * nn),
          "%s: 1 and 3 threads differ", desc);
    lrn_cases++;
    fcn_free(x);
    fcn_free(out[0]);
    fcn_free(out[1]);
}

static void test_lrn(void)
{
    run_lrn(16, 5, 5, 5, 1e-4f, 0.75f, 1.0f);   /* AlexNet */
    run_lrn(16, 4, 3, 5, 2e-5f, 0.75f, 2.0f);   /* CaffeNet-style k=2 */
    run_lrn(8, 3, 3, 4, 0.5f, 0.75f, 1.0f);     /* even size, big alpha */
    run_lrn(3, 2, 2, 8, 1.0f, 1.0f, 0.5f);      /* size > C */
    run_lrn(1, 3, 3, 1, 1.0f, 0.5f, 1.0f);      /* single channel */
    for (int i = 0; i < 30; i++)
        run_lrn(irand(1, 12), irand(1, 7), irand(1, 7), irand(1, 8),
                frand(1e-4f, 1.0f), frand(0.5f, 1.0f), frand(0.5f, 2.0f));
}

/* ---- pad ---- */

static int pad_cases;

static void test_pad(void)
{
    for (int i = 0; i < 30; i++) {
        int C = irand(1, 5), H = irand(1, 9), W = irand(1, 9);
        node n;
        memset(&n, 0, sizeof n);
        n.op = OP_PAD;
        n.pt = irand(0, 4);
        n.pl = irand(0, 4);
        n.pb = irand(0, 4);
        n.pr = irand(0, 4);
        if (i == 0)
            n.pt = n.pl = n.pb = n.pr = 0;
        n.pad_value = i == 1 ? -INFINITY : i == 2 ? 0.0f : frand(-3.0f, 3.0f);
        shape is = {C, H, W}, os = {C, H + n.pt + n.pb, W + n.pl + n.pr};
        int64_t in_n = (int64_t)C * H * W, on = (int64_t)os.c * os.h * os.w;
        float *x = buf_new(in_n);
        fill(x, in_n, -1.0f, 1.0f);
        float *out[2] = {buf_new(on), buf_new(on)};
        {
            view vi = view_full(x, is), vo = view_full(out[0], os);
            pad_forward(&n, &vi, &vo, 1);
        }
        {
            view vi = view_full(x, is), vo = view_full(out[1], os);
            pad_forward(&n, &vi, &vo, 3);
        }
        int64_t bad = -1;
        float want = 0.0f;
        for (int c = 0; c < C && bad < 0; c++)
            for (int y = 0; y < os.h && bad < 0; y++)
                for (int xx = 0; xx < os.w && bad < 0; xx++) {
                    int iy = y - n.pt, ix = xx - n.pl;
                    float v = iy >= 0 && iy < H && ix >= 0 && ix < W
                                  ? x[((int64_t)c * H + iy) * W + ix]
                                  : n.pad_value;
                    int64_t o = ((int64_t)c * os.h + y) * os.w + xx;
                    if (memcmp(&v, &out[0][o], sizeof v)) {
                        bad = o;
                        want = v;
                    }
                }
        char desc[200];
        snprintf(desc, sizeof desc, "pad C=%d in=%dx%d pad(t,l,b,r)=%d,%d,%d,%d "
                 "value=%g", C, H, W, n.pt, n.pl, n.pb, n.pr, n.pad_value);
        CHECK(bad < 0, "%s: first bad at c=%lld y=%lld x=%lld: got %.9g want "
              "%.9g", desc, (long long)(bad / ((int64_t)os.h * os.w)),
              (long long)(bad % ((int64_t)os.h * os.w) / os.w),
              (long long)(bad % os.w), bad >= 0 ? out[0][bad] : 0.0,
              (double)want);
        CHECK(canary_ok(out[0], on) && canary_ok(out[1], on),
              "%s: wrote past the output", desc);
        CHECK(!memcmp(out[0], out[1], sizeof(float) * on),
              "%s: 1 and 3 threads differ", desc);
        pad_cases++;
        fcn_free(x);
        fcn_free(out[0]);
        fcn_free(out[1]);
    }
}

/* ---- softmax ---- */

static int softmax_cases;

static void run_softmax(int C, int H, int W, int mode)
{
    int64_t hw = (int64_t)H * W, nn = C * hw;
    float *x = buf_new(nn);
    fill(x, nn, -5.0f, 5.0f);
    const char *what = "uniform[-5,5]";
    if (mode == 1) {
        what = "1000 + uniform[-5,5]";
        for (int64_t i = 0; i < nn; i++)
            x[i] += 1000.0f;
    } else if (mode == 2) {
        what = "+-1000 mixed";
        for (int64_t i = 0; i < nn; i++)
            x[i] += irand(0, 1) ? 1000.0f : -1000.0f;
    } else if (mode == 3) {
        what = "all 1000";
        for (int64_t i = 0; i < nn; i++)
            x[i] = 1000.0f;
    } else if (mode == 4) {
        what = "uniform[-5,5] * 30";
        for (int64_t i = 0; i < nn; i++)
            x[i] *= 30.0f;
    }
    shape s = {C, H, W};
    float *out[2] = {buf_new(nn), buf_new(nn)};
    {
        view vi = view_full(x, s), vo = view_full(out[0], s);
        softmax_forward(&vi, &vo, 1);
    }
    {
        view vi = view_full(x, s), vo = view_full(out[1], s);
        softmax_forward(&vi, &vo, 3);
    }
    int64_t worst = -1;
    double we = 0.0, wref = 0.0, worst_sum_err = 0.0;
    for (int64_t i = 0; i < hw; i++) {
        double mx = -INFINITY, sum = 0.0, got_sum = 0.0;
        for (int c = 0; c < C; c++)
            mx = x[c * hw + i] > mx ? x[c * hw + i] : mx;
        for (int c = 0; c < C; c++)
            sum += exp((double)x[c * hw + i] - mx);
        for (int c = 0; c < C; c++) {
            double ref = exp((double)x[c * hw + i] - mx) / sum;
            double got = out[0][c * hw + i];
            double e = fabs(got - ref);
            got_sum += got;
            if (!(e <= 1e-5 * ref + 1e-7) && (worst < 0 || !(e <= we))) {
                worst = c * hw + i;
                we = isnan(e) ? INFINITY : e;
                wref = ref;
            }
        }
        double se = fabs(got_sum - 1.0);
        if (!(se <= worst_sum_err))
            worst_sum_err = isnan(se) ? INFINITY : se;
    }
    char desc[200];
    snprintf(desc, sizeof desc, "softmax C=%d in=%dx%d logits %s", C, H, W,
             what);
    CHECK(worst < 0, "%s: worst at c=%lld i=%lld: x=%.9g got %.9g ref %.9g",
          desc, (long long)(worst / hw), (long long)(worst % hw),
          worst >= 0 ? x[worst] : 0.0, worst >= 0 ? out[0][worst] : 0.0,
          wref);
    CHECK(worst_sum_err <= 1e-5, "%s: a pixel sums to 1 +- %.3g", desc,
          worst_sum_err);
    CHECK(canary_ok(out[0], nn) && canary_ok(out[1], nn),
          "%s: wrote past the output", desc);
    CHECK(!memcmp(out[0], out[1], sizeof(float) * nn),
          "%s: 1 and 3 threads differ", desc);
    softmax_cases++;
    fcn_free(x);
    fcn_free(out[0]);
    fcn_free(out[1]);
}

static void test_softmax(void)
{
    run_softmax(1, 3, 4, 0); /* one class: all ones */
    run_softmax(1000, 1, 1, 0);
    for (int mode = 0; mode < 5; mode++)
        for (int i = 0; i < 6; i++)
            run_softmax(irand(2, 20), irand(1, 8), irand(1, 8), mode);
}

/* ---- add ---- */

static int add_cases;

static void test_add(void)
{
    for (int i = 0; i < 30; i++) {
        int k = i < 12 ? 2 : i < 24 ? 3 : irand(1, 6);
        int64_t cnt = irand(1, 5000);
        float *in[6];
        for (int j = 0; j < k; j++) {
            in[j] = buf_new(cnt);
            fill(in[j], cnt, -10.0f, 10.0f);
        }
        float *out[2] = {buf_new(cnt), buf_new(cnt)};
        /* every third case with a fused activation (ResNet's Add + ReLU) */
        act_param act = act_random(i % 3 == 2 ? (act_kind)irand(1, 8)
                                              : ACT_NONE);
        {
            view vi[6], vo = view_full(out[0], (shape){1, 1, (int)cnt});
            for (int j = 0; j < k; j++)
                vi[j] = view_full(in[j], (shape){1, 1, (int)cnt});
            add_forward(&act, vi, k, &vo, 1);
        }
        {
            view vi[6], vo = view_full(out[1], (shape){1, 1, (int)cnt});
            for (int j = 0; j < k; j++)
                vi[j] = view_full(in[j], (shape){1, 1, (int)cnt});
            add_forward(&act, vi, k, &vo, 3);
        }
        int64_t worst = -1;
        double we = 0.0, wref = 0.0;
        for (int64_t e = 0; e < cnt; e++) {
            double s = 0.0, a = 0.0;
            for (int j = 0; j < k; j++) {
                s += in[j][e];
                a += fabs(in[j][e]);
            }
            double ref = act_ref(&act, s);
            double err = fabs((double)out[0][e] - ref);
            if (!(err <= 1e-6 * act_lipschitz(&act) * (a > 1.0 ? a : 1.0)) &&
                (worst < 0 || !(err <= we))) {
                worst = e;
                we = isnan(err) ? INFINITY : err;
                wref = ref;
            }
        }
        CHECK(worst < 0, "add n_in=%d count=%lld: worst at %lld: got %.9g "
              "ref %.9g", k, (long long)cnt, (long long)worst,
              worst >= 0 ? out[0][worst] : 0.0, wref);
        CHECK(canary_ok(out[0], cnt) && canary_ok(out[1], cnt),
              "add n_in=%d count=%lld: wrote past the output", k,
              (long long)cnt);
        CHECK(!memcmp(out[0], out[1], sizeof(float) * cnt),
              "add n_in=%d count=%lld: 1 and 3 threads differ", k,
              (long long)cnt);
        add_cases++;
        for (int j = 0; j < k; j++)
            fcn_free(in[j]);
        fcn_free(out[0]);
        fcn_free(out[1]);
    }
}

int main(void)
{
    double t0 = now();
    test_window_out();
    double t1 = now();
    test_conv();
    double t2 = now();
    test_im2col();
    test_pool();
    test_act();
    test_bn();
    test_lrn();
    test_pad();
    test_softmax();
    test_add();
    double t3 = now();
    printf("window_out %d cases (%.2fs)\n", window_cases, t1 - t0);
    printf("conv %d cases (%.2fs): packed kernel %d (one pixel %d), winograd %d, direct %d, depthwise %d, im2col tiles %d, "
           "shared %d (several M blocks %d, several tiles %d), grouped %d, "
           "dilated %d, strided %d, asymmetric pad %d, non-square %d\n",
           cov.cases, t2 - t1, cov.panels, cov.panels_gemv, cov.winograd, cov.direct, cov.depthwise, cov.tiles,
           cov.shared, cov.shared_mblocks, cov.shared_multitile, cov.grouped,
           cov.dilated, cov.strided, cov.asym_pad, cov.nonsquare);
    printf("im2col_tile %d, pool %d (ceil_mode changed size %d), act %d, "
           "bn %d, lrn %d, pad %d, softmax %d, add %d cases (%.2fs)\n",
           im2col_cases, pool_cases, pool_dropped, act_cases, bn_cases,
           lrn_cases, pad_cases, softmax_cases, add_cases, t3 - t2);
    return check_done();
}
