/*
** test_softmax.c: softmax over the channels of every pixel against double
** exp / sum (max subtracted first): |err| <= 1e-5 * ref + 1e-7, on
** ordinary, large, mixed and equal logits; one class gives ones.
*/
#include <math.h>
#include <stdio.h>

#include "harness.h"

typedef struct sm_ctx {
    const float *x;
    int C, H, W;
} sm_ctx;

static double sm_ref(void *ctx, int c, int y, int x, double *tol)
{
    const sm_ctx *a = ctx;
    const int64_t hw = (int64_t)a->H * a->W, i = (int64_t)y * a->W + x;
    double mx = -INFINITY, sum = 0.0;
    for (int k = 0; k < a->C; k++)
        mx = a->x[k * hw + i] > mx ? a->x[k * hw + i] : mx;
    for (int k = 0; k < a->C; k++)
        sum += exp((double)a->x[k * hw + i] - mx);
    double ref = exp((double)a->x[c * hw + i] - mx) / sum;
    *tol = 1e-5 * ref + 1e-7;
    return ref;
}

static void run_softmax(int C, int H, int W, int mode)
{
    const int64_t nn = (int64_t)C * H * W;
    float *x = buf_new(nn);
    fill(x, nn, -5.0f, 5.0f);
    static const char *what[] = {"uniform[-5,5]", "1000 + uniform[-5,5]",
                                 "+-1000 mixed", "all 1000",
                                 "uniform[-5,5] * 30"};
    for (int64_t i = 0; i < nn; i++)
        x[i] = mode == 1 ? x[i] + 1000.0f
             : mode == 2 ? x[i] + (irand(0, 1) ? 1000.0f : -1000.0f)
             : mode == 3 ? 1000.0f
             : mode == 4 ? x[i] * 30.0f : x[i];
    tlayer t;
    tl_init(&t, "Softmax");
    arena ar = {0};
    node n;
    CHECK(t_node(&t, 1, &n, &ar) == FCN_OK, "softmax: parse: %s",
          fcn_last_error());
    sm_ctx ctx = {x, C, H, W};
    char desc[120];
    snprintf(desc, sizeof desc, "softmax C=%d in=%dx%d logits %s", C, H, W,
             what[mode]);
    shape s = {C, H, W};
    t_check_full(&n, &x, &s, 1, s, sm_ref, &ctx, desc);
    arena_free(&ar);
    buf_free(x);
}

void test_op_softmax(void)
{
    run_softmax(1, 3, 4, 0); /* one class: all ones */
    run_softmax(1000, 1, 1, 0);
    for (int mode = 0; mode < 5; mode++)
        for (int i = 0; i < 6; i++)
            run_softmax(irand(2, 20), irand(1, 8), irand(1, 8), mode);
}
