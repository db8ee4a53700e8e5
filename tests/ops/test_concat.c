/*
** test_concat.c: Concat along channels of 1 to 5 inputs against direct
** indexing (exact: it only moves values), on whole maps and on a window
** of the output; shape checks.
*/
#include <stdio.h>
#include <string.h>

#include "harness.h"

typedef struct cat_ctx {
    float *const *in;
    const int *c0;   /* first output channel of each input */
    int k, H, W;
} cat_ctx;

static double cat_ref(void *ctx, int c, int y, int x, double *tol)
{
    const cat_ctx *a = ctx;
    int j = a->k - 1;
    while (a->c0[j] > c)
        j--;
    *tol = 0;
    return a->in[j][((int64_t)(c - a->c0[j]) * a->H + y) * a->W + x];
}

void test_op_concat(void)
{
    for (int i = 0; i < 30; i++) {
        int k = irand(1, 5), H = irand(1, 9), W = irand(1, 9), c0[5], C = 0;
        float *in[5];
        shape s[5];
        for (int j = 0; j < k; j++) {
            s[j] = (shape){irand(1, 6), H, W};
            c0[j] = C;
            C += s[j].c;
            in[j] = buf_new((int64_t)s[j].c * H * W);
            fill(in[j], (int64_t)s[j].c * H * W, -1.0f, 1.0f);
        }
        tlayer t;
        tl_init(&t, "Concat");
        arena ar = {0};
        node n;
        CHECK(t_node(&t, k, &n, &ar) == FCN_OK, "concat: parse: %s",
              fcn_last_error());
        shape o;
        CHECK(t_infer(&n, s, k, &o) && o.c == C && o.h == H && o.w == W,
              "concat: infer gives %dx%dx%d, expected %dx%dx%d", o.c, o.h,
              o.w, C, H, W);
        cat_ctx ctx = {in, c0, k, H, W};
        char desc[100];
        snprintf(desc, sizeof desc, "concat of %d inputs into %dx%dx%d", k, C,
                 H, W);
        t_check_full(&n, in, s, k, o, cat_ref, &ctx, desc);
        /* a window of the output, as the tiled run computes it */
        const int y0 = irand(0, H - 1), x0 = irand(0, W - 1),
                  h = irand(1, H - y0), w = irand(1, W - x0);
        float *win = buf_new((int64_t)C * h * w);
        view vin[5], vo = {win, C, y0, x0, h, w, H, W, w, (int64_t)h * w};
        for (int j = 0; j < k; j++)
            vin[j] = view_full(in[j], s[j]);
        t_forward(&n, vin, &vo, NULL, NULL, 3);
        int bad = 0;
        for (int c = 0; c < C; c++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    double tol;
                    bad += win[((int64_t)c * h + y) * w + x] !=
                           (float)cat_ref(&ctx, c, y0 + y, x0 + x, &tol);
                }
        CHECK(!bad && canary_ok(win, (int64_t)C * h * w), "%s: window "
              "%dx%d at %d,%d: %d wrong", desc, h, w, y0, x0, bad);
        if (k > 1) {
            s[k - 1].h++;
            CHECK(!t_infer(&n, s, k, &o), "concat: inputs of different "
                  "heights accepted");
        }
        buf_free(win);
        for (int j = 0; j < k; j++)
            buf_free(in[j]);
        arena_free(&ar);
    }
}
