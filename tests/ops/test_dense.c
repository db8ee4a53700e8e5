/*
** test_dense.c: the dense head, which exists only at load: models with
** Flatten (channels-first or channels-last) -> Dense [-> activation ->
** Dense], run at the trained size and on larger inputs, every score-map
** cell against a naive dense layer on the flattened crop of the trained
** size at that cell (the definition of the conversion); a Dense on a 1x1
** map is a 1x1 convolution. Refusals: a conv after Flatten, a Dense whose
** weight does not match the map.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

typedef struct head {
    int C, h, w, hwc, N1, N2;  /* N2 0: one Dense */
    act_param act;             /* between the two */
    float *w1, *b1, *w2, *b2;
} head;

/* The classifier on the h x w crop at (i, j) of x (C x H x W): out[n]. */
static void head_ref(const head *d, const float *x, int H, int W, int i,
                     int j, double *out)
{
    const int K = d->C * d->h * d->w;
    double *z = malloc(sizeof(double) * (d->N1 + 1));
    for (int n = 0; n < d->N1; n++) {
        double s = d->b1[n];
        for (int c = 0; c < d->C; c++)
            for (int y = 0; y < d->h; y++)
                for (int q = 0; q < d->w; q++) {
                    int k = d->hwc ? (y * d->w + q) * d->C + c
                                   : (c * d->h + y) * d->w + q;
                    s += (double)d->w1[(int64_t)n * K + k] *
                         x[((int64_t)c * H + i + y) * W + j + q];
                }
        z[n] = s;
    }
    if (!d->N2) {
        memcpy(out, z, sizeof(double) * d->N1);
    } else {
        for (int m = 0; m < d->N2; m++) {
            double s = d->b2[m];
            for (int n = 0; n < d->N1; n++)
                s += d->w2[(int64_t)m * d->N1 + n] * act_ref(&d->act, z[n]);
            out[m] = s;
        }
    }
    free(z);
}

static fcn_model *head_model(const head *d, int flatten)
{
    const int K = d->C * d->h * d->w;
    tmodel *tm = tm_new(d->C, d->h, d->w);
    tlayer t;
    const char *x = "input";
    if (flatten) {
        tl_init(&t, "Flatten");
        tl_str(&t, "order", d->hwc ? "hwc" : "chw");
        tm_layer(tm, "Flatten", "flat", "input", "f", &t);
        x = "f";
    }
    int64_t dims[2] = {d->N1, K}, bd[1] = {d->N1};
    tl_init(&t, "Dense");
    tl_weight(&t, "weight", 2, dims, d->w1);
    tl_weight(&t, "bias", 1, bd, d->b1);
    tm_layer(tm, "Dense", "fc1", x, d->N2 ? "z" : "out", &t);
    if (d->N2) {
        tl_init(&t, op_name(act_op(d->act.kind)));
        if (d->act.kind == ACT_LEAKY)
            tl_float(&t, "alpha", d->act.a);
        tm_layer(tm, op_name(act_op(d->act.kind)), "act", "z", "a", &t);
        int64_t d2[2] = {d->N2, d->N1}, b2[1] = {d->N2};
        tl_init(&t, "Dense");
        tl_weight(&t, "weight", 2, d2, d->w2);
        tl_weight(&t, "bias", 1, b2, d->b2);
        tm_layer(tm, "Dense", "fc2", "a", "out", &t);
    }
    return tm_load(tm, NULL);
}

static void head_case(head *d, int flatten, int H, int W)
{
    const int K = d->C * d->h * d->w, N = d->N2 ? d->N2 : d->N1;
    d->w1 = malloc(sizeof(float) * d->N1 * K);
    d->b1 = malloc(sizeof(float) * d->N1);
    d->w2 = malloc(sizeof(float) * (d->N2 * d->N1 + 1));
    d->b2 = malloc(sizeof(float) * (d->N2 + 1));
    fill(d->w1, (int64_t)d->N1 * K, -0.5f, 0.5f);
    fill(d->b1, d->N1, -0.5f, 0.5f);
    fill(d->w2, (int64_t)d->N2 * d->N1, -0.5f, 0.5f);
    fill(d->b2, d->N2, -0.5f, 0.5f);
    fcn_model *m = head_model(d, flatten);
    float *x = malloc(sizeof(float) * d->C * H * W);
    fill(x, (int64_t)d->C * H * W, -1.0f, 1.0f);
    int oc = 0, oh = 0, ow = 0;
    float *y = m ? t_run_model(m, x, H, W, &oc, &oh, &ow) : NULL;
    int ok = y && oc == N && oh == H - d->h + 1 && ow == W - d->w + 1;
    double worst = 0, *ref = malloc(sizeof(double) * N);
    for (int i = 0; ok && i < oh; i++)
        for (int j = 0; j < ow; j++) {
            head_ref(d, x, H, W, i, j, ref);
            for (int n = 0; n < N; n++) {
                double e = fabs(y[((int64_t)n * oh + i) * ow + j] - ref[n]) /
                           (1e-4 * (1 + fabs(ref[n])));
                worst = !(e <= worst) ? (isnan(e) ? INFINITY : e) : worst;
            }
        }
    CHECK(ok && worst <= 1.0, "dense head %s %dx%dx%d -> %d%s%d, run at "
          "%dx%d: map %dx%dx%d, %.3g x tolerance", flatten ? (d->hwc ? "hwc"
          : "chw") : "no flatten", d->C, d->h, d->w, d->N1,
          d->N2 ? " -> " : "", d->N2, H, W, oc, oh, ow, worst);
    free(ref);
    free(y);
    free(x);
    fcn_model_free(m);
    free(d->w1);
    free(d->b1);
    free(d->w2);
    free(d->b2);
}

static void refusal(const char *second, const char *want)
{
    const int C = 3, h = 3, w = 2;
    tmodel *tm = tm_new(C, h, w);
    tlayer t;
    tl_init(&t, "Flatten");
    tm_layer(tm, "Flatten", "flat", "input", "f", &t);
    float wt[64] = {0};
    tl_init(&t, second);
    if (!strcmp(second, "Conv")) {
        int64_t d[4] = {1, 18, 1, 1};  /* 18 channels: 3 x 3 x 2 */
        tl_weight(&t, "weight", 4, d, wt);
    } else {
        int64_t d[2] = {1, 17};  /* the map has 18 values */
        tl_weight(&t, "weight", 2, d, wt);
    }
    tm_layer(tm, second, "next", "f", "out", &t);
    size_t n;
    unsigned char *b = tm_finish(tm, &n);
    fcn_model *m = NULL;
    fcn_status st = fcn_model_load_memory(b, n, NULL, &m);
    CHECK(st != FCN_OK && !m && strstr(fcn_last_error(), want),
          "Flatten -> %s: %s", second, fcn_last_error());
    free(b);
}

void test_op_dense(void)
{
    head d1 = {3, 4, 5, 0, 6, 0, {ACT_NONE, 0, 0}, 0, 0, 0, 0};
    head_case(&d1, 1, 4, 5);
    head_case(&d1, 1, 9, 12);
    head d2 = {3, 4, 5, 1, 6, 0, {ACT_NONE, 0, 0}, 0, 0, 0, 0};
    head_case(&d2, 1, 4, 5);
    head_case(&d2, 1, 10, 7);
    head d3 = {3, 3, 3, 1, 7, 4, {ACT_RELU, 0, 0}, 0, 0, 0, 0};
    head_case(&d3, 1, 8, 6);
    head d4 = {1, 3, 3, 0, 5, 3, {ACT_LEAKY, 0.1f, 0}, 0, 0, 0, 0};
    head_case(&d4, 1, 3, 3);
    head_case(&d4, 1, 7, 9);
    /* no Flatten: a Dense on a 1x1 map is a 1x1 conv, per pixel */
    head d5 = {3, 1, 1, 0, 4, 2, {ACT_TANH, 0, 0}, 0, 0, 0, 0};
    head_case(&d5, 0, 6, 4);
    for (int i = 0; i < 6; i++) {
        head r = {irand(0, 1) ? 3 : 1, irand(1, 4), irand(1, 4), irand(0, 1),
                  irand(1, 9), irand(0, 1) * irand(1, 5),
                  {ACT_RELU, 0, 0}, 0, 0, 0, 0};
        head_case(&r, 1, r.h + irand(0, 5), r.w + irand(0, 5));
    }
    refusal("Dense", "weight expects 17 inputs");
    refusal("Conv", "only Dense can follow Flatten");
}

void test_op_flatten(void)
{
    arena ar = {0};
    node n;
    tlayer t;
    tl_init(&t, "Flatten");
    tl_str(&t, "order", "hwc");
    CHECK(t_node(&t, 1, &n, &ar) == FCN_OK, "flatten: parse: %s",
          fcn_last_error());
    shape s = {3, 4, 5}, o;
    CHECK(t_infer(&n, &s, 1, &o) && o.c == 60 && o.h == 1 && o.w == 1,
          "flatten: infer gives %dx%dx%d", o.c, o.h, o.w);
    s = (shape){4096, 1024, 1024};
    CHECK(!t_infer(&n, &s, 1, &o), "flatten: 2^32 values accepted");
    tl_init(&t, "Flatten");
    tl_str(&t, "order", "whc");
    CHECK(t_node(&t, 1, &n, &ar) == FCN_ERR_FORMAT &&
          strstr(fcn_last_error(), "order 'whc'"), "flatten order whc: %s",
          fcn_last_error());
    arena_free(&ar);
    /* channels-last features of one channel, or of a 1x1 map, need no
    ** reordering */
    head d = {1, 3, 4, 1, 5, 0, {ACT_NONE, 0, 0}, 0, 0, 0, 0};
    head_case(&d, 1, 6, 9);
    head e = {3, 1, 1, 1, 3, 0, {ACT_NONE, 0, 0}, 0, 0, 0, 0};
    head_case(&e, 1, 3, 2);
}
