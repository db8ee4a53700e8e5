/*
** test_bn.c: BatchNorm at inference against y = (x - mean) * gamma /
** sqrt(var + eps) + beta in double: |err| <= 1e-6 * (|x * scale| + |shift|)
** + 1e-30; refusals of bad parameters. (Its folding into a convolution is
** tested with Conv.)
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

typedef struct bn_ctx {
    const float *x, *g, *b, *mu, *var;
    float eps;
    int H, W;
} bn_ctx;

static double bn_ref(void *ctx, int c, int y, int x, double *tol)
{
    const bn_ctx *k = ctx;
    double s = k->g[c] / sqrt((double)k->var[c] + k->eps);
    double t = k->b[c] - k->mu[c] * s;
    double v = k->x[((int64_t)c * k->H + y) * k->W + x];
    *tol = 1e-6 * (fabs(v * s) + fabs(t)) + 1e-30;
    return v * s + t;
}

void test_op_bn(void)
{
    for (int i = 0; i < 30; i++) {
        int C = irand(1, 16), H = irand(1, 12), W = irand(1, 12);
        float p[4][16], *x = buf_new((int64_t)C * H * W);
        fill(p[0], C, -2.0f, 2.0f);
        fill(p[1], C, -1.0f, 1.0f);
        fill(p[2], C, -1.0f, 1.0f);
        fill(p[3], C, 0.1f, 3.0f);
        fill(x, (int64_t)C * H * W, -5.0f, 5.0f);
        const int64_t d[1] = {C};
        tlayer t;
        tl_init(&t, "BatchNorm");
        float eps = i % 2 ? 1e-3f : 1e-5f;
        if (i % 2)
            tl_float(&t, "eps", eps);
        tl_weight(&t, "scale", 1, d, p[0]);
        tl_weight(&t, "bias", 1, d, p[1]);
        tl_weight(&t, "mean", 1, d, p[2]);
        tl_weight(&t, "var", 1, d, p[3]);
        arena ar = {0};
        node n;
        CHECK(t_node(&t, 1, &n, &ar) == FCN_OK, "bn: parse: %s",
              fcn_last_error());
        shape s = {C, H, W}, o;
        CHECK(t_infer(&n, &s, 1, &o) && !memcmp(&o, &s, sizeof s),
              "bn: infer");
        bn_ctx k = {x, p[0], p[1], p[2], p[3], eps, H, W};
        char desc[100];
        snprintf(desc, sizeof desc, "bn C=%d in=%dx%d", C, H, W);
        t_check_full(&n, &x, &s, 1, s, bn_ref, &k, desc);
        shape wrong = {C + 1, H, W};
        CHECK(!t_infer(&n, &wrong, 1, &o), "bn: %d channels of parameters "
              "accept an input of %d", C, C + 1);
        node_release(&n);
        arena_free(&ar);
        buf_free(x);
    }
    /* a zero variance with eps 0, and parameters of different sizes */
    float g[2] = {1, 1}, z[2] = {0, 0};
    const int64_t d2[1] = {2}, d1[1] = {1};
    for (int k = 0; k < 2; k++) {
        tlayer t;
        tl_init(&t, "BatchNorm");
        tl_float(&t, "eps", 0.0f);
        tl_weight(&t, "scale", 1, d2, g);
        tl_weight(&t, "bias", 1, d2, z);
        tl_weight(&t, "mean", 1, k ? d1 : d2, z);
        tl_weight(&t, "var", 1, d2, z);
        arena ar = {0};
        node n;
        fcn_status st = t_node(&t, 1, &n, &ar);
        CHECK(st == FCN_ERR_FORMAT && strstr(fcn_last_error(),
                                             k ? "of one size" : "variance"),
              "bn: bad parameters accepted: %s", fcn_last_error());
        node_release(&n);
        arena_free(&ar);
    }
}
