/*
** test_act.c: the activation ops against double references (sigmoid and
** tanh are libm float calls: <= 1e-6 * max(1, |ref|)): act_apply on
** special values and random runs at unaligned starts, and each op's node
** (parse, forward on windows of a map, split by channel) with 1 and 3
** threads.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static void check_apply(act_param a, const float *x0, int n, int off)
{
    float *buf = buf_new(n + off), *x = buf + off;
    memcpy(x, x0, sizeof(float) * n);
    act_apply(&a, x, n);
    int64_t worst = -1;
    double we = 0.0;
    for (int i = 0; i < n; i++) {
        double ref = act_ref(&a, x0[i]);
        double tol = 1e-6 * (fabs(ref) > 1.0 ? fabs(ref) : 1.0);
        double e = isinf(ref) && x[i] == ref ? 0.0 : fabs((double)x[i] - ref);
        if (!(e <= tol) && (worst < 0 || !(e <= we))) {
            worst = i;
            we = isnan(e) ? INFINITY : e;
        }
    }
    int before_ok = 1;
    for (int i = 0; i < off; i++)
        before_ok &= isnan(buf[i]);
    CHECK(worst < 0 && canary_ok(buf, n + off) && before_ok,
          "act_apply %s(a=%g, b=%g) n=%d offset=%d: worst at %lld: x=%.9g got "
          "%.9g ref %.9g (or a write outside)", act_name(a.kind), a.a, a.b, n,
          off, (long long)worst, worst >= 0 ? x0[worst] : 0.0,
          worst >= 0 ? x[worst] : 0.0,
          worst >= 0 ? act_ref(&a, x0[worst]) : 0.0);
    buf_free(buf);
}

/* The op's node on a window of a C x H x W map (rows [y0, y0+h), columns
** [x0, x0+w)). */
static void check_node(act_param a)
{
    const int C = irand(1, 6), H = irand(1, 9), W = irand(1, 9);
    const int y0 = irand(0, H - 1), x0 = irand(0, W - 1);
    const int h = irand(1, H - y0), w = irand(1, W - x0);
    arena ar = {0};
    node n;
    t_act_node(a, &n, &ar);
    float *x = buf_new((int64_t)C * H * W);
    fill(x, (int64_t)C * H * W, -8.0f, 8.0f);
    view in = view_full(x, (shape){C, H, W});
    float *out[2] = {buf_new((int64_t)C * h * w), buf_new((int64_t)C * h * w)};
    for (int r = 0; r < 2; r++) {
        view o = {out[r], C, y0, x0, h, w, H, W, w, (int64_t)h * w};
        t_forward(&n, &in, &o, NULL, NULL, r ? 3 : 1);
    }
    int bad = 0;
    for (int c = 0; c < C; c++)
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++) {
                double ref = act_ref(&a, x[((int64_t)c * H + y0 + i) * W + x0 + j]);
                double got = out[0][((int64_t)c * h + i) * w + j];
                bad += !(fabs(got - ref) <= 1e-6 * (fabs(ref) > 1 ? fabs(ref) : 1));
            }
    CHECK(!bad && canary_ok(out[0], (int64_t)C * h * w) &&
          !memcmp(out[0], out[1], sizeof(float) * C * h * w),
          "%s node on a %dx%d window of %dx%dx%d: %d wrong (or 1 and 3 "
          "threads differ)", act_name(a.kind), h, w, C, H, W, bad);
    buf_free(x);
    buf_free(out[0]);
    buf_free(out[1]);
    arena_free(&ar);
}

static void test_kind(act_kind k)
{
    static const float special[] = {0.0f, -0.0f, 1.0f, -1.0f, 3.0f, -3.0f,
                                    6.0f, -6.0f, 2.5f, -2.5f, 0.5f, -0.5f,
                                    100.0f, -100.0f, 1e-8f, -1e-8f, 88.0f,
                                    -88.0f, 1e30f, -1e30f};
    const int ns = (int)(sizeof special / sizeof special[0]);
    for (int rep = 0; rep < 6; rep++) {
        act_param a = act_random(k);
        if (rep == 0 && k == ACT_LEAKY)
            a.a = 0.1f;
        if (rep == 0) {
            check_apply(a, special, ns, irand(0, 7));
        } else {
            int n = irand(1, 700);
            float *x = malloc(sizeof(float) * n);
            fill(x, n, -8.0f, 8.0f);
            check_apply(a, x, n, irand(0, 7));
            free(x);
        }
        check_node(a);
    }
}

void test_op_relu(void) { test_kind(ACT_RELU); }
void test_op_leaky(void) { test_kind(ACT_LEAKY); }
void test_op_clip(void)
{
    test_kind(ACT_CLIP);
    /* min above max is refused */
    tlayer t;
    tl_init(&t, "Clip");
    tl_float(&t, "min", 2.0f);
    tl_float(&t, "max", 1.0f);
    arena ar = {0};
    node n;
    CHECK(t_node(&t, 1, &n, &ar) == FCN_ERR_FORMAT &&
          strstr(fcn_last_error(), "min 2 > max 1"), "Clip min > max: %s",
          fcn_last_error());
    arena_free(&ar);
}
void test_op_sigmoid(void) { test_kind(ACT_SIGMOID); }
void test_op_tanh(void) { test_kind(ACT_TANH); }
void test_op_hswish(void) { test_kind(ACT_HSWISH); }
void test_op_hsigmoid(void) { test_kind(ACT_HSIGMOID); }
void test_op_mul(void)
{
    test_kind(ACT_MUL);
    act_param none = {ACT_NONE, 0, 0};
    float x[3] = {1, -2, 3};
    check_apply(none, x, 3, 1);
}
