/*
** test_lrn.c: LRN against ONNX's definition in double: channels [c -
** floor((size-1)/2), c + ceil((size-1)/2)]; |err| <= 2e-5 * |ref| + 1e-7.
*/
#include <math.h>
#include <stdio.h>

#include "harness.h"

typedef struct lrn_ctx {
    const float *x;
    int C, H, W, size;
    float alpha, beta, bias;
} lrn_ctx;

static double lrn_ref(void *ctx, int c, int y, int x, double *tol)
{
    const lrn_ctx *k = ctx;
    const int64_t hw = (int64_t)k->H * k->W, i = (int64_t)y * k->W + x;
    double sq = 0.0;
    for (int j = c - (k->size - 1) / 2; j <= c + k->size / 2; j++)
        if (j >= 0 && j < k->C)
            sq += (double)k->x[j * hw + i] * k->x[j * hw + i];
    double ref = k->x[c * hw + i] /
                 pow((double)k->bias + (double)k->alpha / k->size * sq,
                     k->beta);
    *tol = 2e-5 * fabs(ref) + 1e-7;
    return ref;
}

static void run_lrn(int C, int H, int W, int size, float alpha, float beta,
                    float bias)
{
    float *x = buf_new((int64_t)C * H * W);
    fill(x, (int64_t)C * H * W, -3.0f, 3.0f);
    tlayer t;
    tl_init(&t, "LRN");
    tl_ints(&t, "size", 1, &size);
    tl_float(&t, "alpha", alpha);
    tl_float(&t, "beta", beta);
    tl_float(&t, "bias", bias);
    arena ar = {0};
    node n;
    CHECK(t_node(&t, 1, &n, &ar) == FCN_OK, "lrn: parse: %s",
          fcn_last_error());
    lrn_ctx k = {x, C, H, W, size, alpha, beta, bias};
    char desc[160];
    snprintf(desc, sizeof desc, "lrn C=%d in=%dx%d size=%d alpha=%g beta=%g "
             "bias=%g", C, H, W, size, alpha, beta, bias);
    shape s = {C, H, W};
    t_check_full(&n, &x, &s, 1, s, lrn_ref, &k, desc);
    arena_free(&ar);
    buf_free(x);
}

void test_op_lrn(void)
{
    run_lrn(16, 5, 5, 5, 1e-4f, 0.75f, 1.0f);   /* AlexNet */
    run_lrn(16, 4, 3, 5, 2e-5f, 0.75f, 2.0f);   /* CaffeNet-style k=2 */
    run_lrn(8, 3, 3, 4, 0.5f, 0.75f, 1.0f);     /* even size, big alpha */
    run_lrn(3, 2, 2, 8, 1.0f, 1.0f, 0.5f);      /* size > C */
    run_lrn(1, 3, 3, 1, 1.0f, 0.5f, 1.0f);      /* single channel */
    for (int i = 0; i < 30; i++)
        run_lrn(irand(1, 12), irand(1, 7), irand(1, 7), irand(1, 8),
                frand(1e-4f, 1.0f), frand(0.5f, 1.0f), frand(0.5f, 2.0f));
    tlayer t;
    tl_init(&t, "LRN");
    int zero = 0;
    tl_ints(&t, "size", 1, &zero);
    arena ar = {0};
    node n;
    CHECK(t_node(&t, 1, &n, &ar) == FCN_ERR_FORMAT, "lrn: size 0 accepted");
    arena_free(&ar);
}
