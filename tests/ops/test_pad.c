/*
** test_pad.c: Pad against direct indexing (exact), with 0, -3e38 and
** random values, on whole maps; its window for the geometry.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

typedef struct pad_ctx {
    const float *x;
    int H, W, p[4];
    float value;
} pad_ctx;

static double pad_ref(void *ctx, int c, int y, int x, double *tol)
{
    const pad_ctx *a = ctx;
    int iy = y - a->p[0], ix = x - a->p[1];
    *tol = 0;
    return iy >= 0 && iy < a->H && ix >= 0 && ix < a->W
               ? a->x[((int64_t)c * a->H + iy) * a->W + ix]
               : a->value;
}

void test_op_pad(void)
{
    for (int i = 0; i < 30; i++) {
        int C = irand(1, 5), H = irand(1, 9), W = irand(1, 9);
        pad_ctx ctx = {NULL, H, W, {irand(0, 4), irand(0, 4), irand(0, 4),
                                    irand(0, 4)}, 0};
        if (i == 0)
            memset(ctx.p, 0, sizeof ctx.p);
        ctx.value = i == 1 ? -3e38f : i == 2 ? 0.0f : frand(-3.0f, 3.0f);
        float *x = buf_new((int64_t)C * H * W);
        fill(x, (int64_t)C * H * W, -1.0f, 1.0f);
        ctx.x = x;
        tlayer t;
        tl_init(&t, "Pad");
        tl_ints(&t, "pad", 4, ctx.p);
        tl_float(&t, "value", ctx.value);
        arena ar = {0};
        node n;
        CHECK(t_node(&t, 1, &n, &ar) == FCN_OK, "pad: parse: %s",
              fcn_last_error());
        shape s = {C, H, W}, o;
        CHECK(t_infer(&n, &s, 1, &o) && o.h == H + ctx.p[0] + ctx.p[2] &&
              o.w == W + ctx.p[1] + ctx.p[3], "pad: infer");
        int k, st, d, p;
        op_window(&n, 1, &k, &st, &d, &p);
        CHECK(k == 1 && st == 1 && d == 1 && p == ctx.p[1], "pad: window");
        char desc[120];
        snprintf(desc, sizeof desc, "pad C=%d in=%dx%d pad(t,l,b,r)=%d,%d,%d,"
                 "%d value=%g", C, H, W, ctx.p[0], ctx.p[1], ctx.p[2],
                 ctx.p[3], ctx.value);
        t_check_full(&n, &x, &s, 1, o, pad_ref, &ctx, desc);
        arena_free(&ar);
        buf_free(x);
    }
}
