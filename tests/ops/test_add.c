/*
** test_add.c: Add of 2 to 6 inputs, with and without a fused activation
** (fused through the op's fuse, as at load), against a double sum:
** |err| <= 1e-6 * L * max(1, sum |x_i|); shape checks.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

typedef struct add_ctx {
    float *const *in;
    int k;
    act_param act;
} add_ctx;

static double add_ref(void *ctx, int c, int y, int x, double *tol)
{
    const add_ctx *a = ctx;
    (void)c;
    (void)y;
    double s = 0.0, m = 0.0;
    for (int j = 0; j < a->k; j++) {
        s += a->in[j][x];
        m += fabs(a->in[j][x]);
    }
    *tol = 1e-6 * act_lipschitz(&a->act) * (m > 1.0 ? m : 1.0);
    return act_ref(&a->act, s);
}

void test_op_add(void)
{
    for (int i = 0; i < 30; i++) {
        int k = i < 12 ? 2 : i < 24 ? 3 : irand(2, 6);
        int cnt = irand(1, 5000);
        float *in[6];
        shape s[6];
        for (int j = 0; j < k; j++) {
            in[j] = buf_new(cnt);
            fill(in[j], cnt, -10.0f, 10.0f);
            s[j] = (shape){1, 1, cnt};
        }
        tlayer t;
        tl_init(&t, "Add");
        arena ar = {0};
        node n, a;
        CHECK(t_node(&t, k, &n, &ar) == FCN_OK, "add: parse: %s",
              fcn_last_error());
        add_ctx ctx = {in, k, act_random(i % 3 == 2 ? (act_kind)irand(1, 8)
                                                    : ACT_NONE)};
        if (ctx.act.kind != ACT_NONE) {
            int done = 0;
            t_act_node(ctx.act, &a, &ar);
            CHECK(op_get(OP_ADD)->fuse(&n, &a, &done) == FCN_OK && done,
                  "add: the activation was not fused");
        }
        shape o;
        CHECK(t_infer(&n, s, k, &o) && o.c == 1 && o.h == 1 && o.w == cnt,
              "add: infer");
        char desc[100];
        snprintf(desc, sizeof desc, "add n_in=%d count=%d act=%s", k, cnt,
                 act_name(ctx.act.kind));
        t_check_full(&n, in, s, k, s[0], add_ref, &ctx, desc);
        s[k - 1].c = 2;
        CHECK(!t_infer(&n, s, k, &o), "add: inputs of different shapes "
              "accepted");
        arena_free(&ar);
        for (int j = 0; j < k; j++)
            buf_free(in[j]);
    }
    tlayer t;
    tl_init(&t, "Add");
    arena ar = {0};
    node n;
    CHECK(t_node(&t, 1, &n, &ar) == FCN_ERR_FORMAT &&
          strstr(fcn_last_error(), "expects at least 2"),
          "add of one input: %s", fcn_last_error());
    arena_free(&ar);
}
