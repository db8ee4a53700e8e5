/*
** test_pool.c: MaxPool and AvgPool windows against a direct loop (PyTorch's
** definition: the window in padded coordinates, clipped to the padded
** bounds for the divisor and to the input for the sum; ceil mode drops a
** window that would start in the right padding): max exact, avg within
** 1e-5 * max(1, max|window|). The global pools exist only at load: models
** with them are run at the trained size (the mean / max of the map) and
** on larger inputs (the same over every window of the trained size, or
** per location with FCN_GAP_LOCAL), and so is a pool whose window covers
** the trained map (a global pool in disguise).
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static int pool_dropped;

typedef struct pool_case {
    int max, C, H, W, kh, kw, sh, sw, pt, pl, pb, pr, ceil, cip;
} pool_case;

static double pool_ref(const pool_case *p, const float *x, int c, int oy,
                       int ox, double *tol)
{
    int h0 = oy * p->sh - p->pt, w0 = ox * p->sw - p->pl;
    int h1 = h0 + p->kh < p->H + p->pb ? h0 + p->kh : p->H + p->pb;
    int w1 = w0 + p->kw < p->W + p->pr ? w0 + p->kw : p->W + p->pr;
    int pool_size = (h1 - h0) * (w1 - w0);
    int ha = h0 > 0 ? h0 : 0, wa = w0 > 0 ? w0 : 0;
    int hb = h1 < p->H ? h1 : p->H, wb = w1 < p->W ? w1 : p->W;
    double s = 0.0, mx = -INFINITY, amax = 0.0;
    int cnt = 0;
    for (int y = ha; y < hb; y++)
        for (int xx = wa; xx < wb; xx++) {
            double v = x[((int64_t)c * p->H + y) * p->W + xx];
            s += v;
            mx = v > mx ? v : mx;
            amax = fabs(v) > amax ? fabs(v) : amax;
            cnt++;
        }
    *tol = p->max ? 0.0 : 1e-5 * (amax > 1.0 ? amax : 1.0);
    return p->max ? mx : s / (p->cip ? pool_size : cnt);
}

static void run_pool(const pool_case *p)
{
    int k[2] = {p->kh, p->kw}, s[2] = {p->sh, p->sw},
        pad[4] = {p->pt, p->pl, p->pb, p->pr};
    tlayer t;
    tl_init(&t, p->max ? "MaxPool" : "AvgPool");
    tl_ints(&t, "kernel", 2, k);
    tl_ints(&t, "stride", 2, s);
    tl_ints(&t, "pad", 4, pad);
    tl_ints(&t, "ceil_mode", 1, &p->ceil);
    if (!p->max)
        tl_ints(&t, "count_include_pad", 1, &p->cip);
    arena ar = {0};
    node n;
    CHECK(t_node(&t, 1, &n, &ar) == FCN_OK, "pool: parse: %s",
          fcn_last_error());
    const int OH = window_ref(p->H, p->kh, p->sh, 1, p->pt, p->pb, p->ceil),
              OW = window_ref(p->W, p->kw, p->sw, 1, p->pl, p->pr, p->ceil);
    char desc[300];
    snprintf(desc, sizeof desc, "%s C=%d in=%dx%d k=%dx%d s=%dx%d pad(t,l,b,r)"
             "=%d,%d,%d,%d ceil_mode=%d count_include_pad=%d out=%dx%d",
             p->max ? "maxpool" : "avgpool", p->C, p->H, p->W, p->kh, p->kw,
             p->sh, p->sw, p->pt, p->pl, p->pb, p->pr, p->ceil, p->cip, OH,
             OW);
    shape is = {p->C, p->H, p->W}, os;
    int fits = t_infer(&n, &is, 1, &os);
    CHECK(fits == (OH >= 1 && OW >= 1) && (!fits || (os.h == OH &&
          os.w == OW && os.c == p->C)), "%s: infer gives %dx%d", desc, os.h,
          os.w);
    if (fits && OH >= 1 && OW >= 1) {
        if (p->ceil && (window_ref(p->H, p->kh, p->sh, 1, p->pt, p->pb, 0) !=
                            OH ||
                        window_ref(p->W, p->kw, p->sw, 1, p->pl, p->pr, 0) != OW))
            pool_dropped++; /* ceil mode made a difference */
        const int64_t in_n = (int64_t)p->C * p->H * p->W,
                      on = (int64_t)p->C * OH * OW;
        float *x = buf_new(in_n), *out[2] = {buf_new(on), buf_new(on)};
        fill(x, in_n, -1.0f, 1.0f);
        if (p->C > 1) /* one channel all negative: max must not return 0 */
            for (int64_t i = 0; i < (int64_t)p->H * p->W; i++)
                x[i] = -1.0f - fabsf(x[i]);
        for (int r = 0; r < 2; r++) {
            view vi = view_full(x, is), vo = view_full(out[r], os);
            t_forward(&n, &vi, &vo, NULL, NULL, r ? 3 : 1);
        }
        int64_t worst = -1;
        double we = 0.0, wref = 0.0;
        for (int64_t o = 0; o < on; o++) {
            double tol;
            double ref = pool_ref(p, x, (int)(o / (OH * OW)),
                                  (int)(o % (OH * OW) / OW), (int)(o % OW),
                                  &tol);
            double e = fabs((double)out[0][o] - ref);
            if (!(e <= tol) && (worst < 0 || !(e <= we))) {
                worst = o;
                we = isnan(e) ? INFINITY : e;
                wref = ref;
            }
        }
        CHECK(worst < 0, "%s: worst at element %lld: got %.9g, ref %.9g",
              desc, (long long)worst, worst >= 0 ? out[0][worst] : 0.0, wref);
        CHECK(canary_ok(out[0], on) && canary_ok(out[1], on) &&
              !memcmp(out[0], out[1], sizeof(float) * on),
              "%s: wrote past the output, or 1 and 3 threads differ", desc);
        buf_free(x);
        buf_free(out[0]);
        buf_free(out[1]);
    }
    node_release(&n);
    arena_free(&ar);
}

static void pool_tests(int max)
{
    static const int hand[][11] = {
        {3, 7, 7, 3, 3, 2, 2, 1, 1, 1, 1}, {2, 6, 6, 2, 2, 2, 2, 1, 1, 1, 1},
        {2, 5, 8, 3, 2, 2, 3, 0, 1, 2, 0}, {2, 13, 11, 5, 5, 3, 3, 2, 2, 2, 2},
        {4, 7, 9, 7, 9, 1, 1, 0, 0, 0, 0}, {3, 10, 10, 1, 1, 3, 3, 0, 0, 0, 0},
        {1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0}, {2, 2, 3, 3, 3, 2, 1, 1, 0, 2, 2}};
    for (int cip = 0; cip < 2; cip++)
        for (int ceil = 0; ceil < 2; ceil++)
            for (size_t i = 0; i < sizeof hand / sizeof hand[0]; i++) {
                const int *h = hand[i];
                pool_case p = {max, h[0], h[1], h[2], h[3], h[4], h[5], h[6],
                               h[7], h[8], h[9], h[10], ceil, cip};
                run_pool(&p);
            }
    for (int i = 0; i < 150; i++) {
        pool_case p = {max, irand(1, 4), irand(1, 20), irand(1, 20), 0, 0, 0,
                       0, 0, 0, 0, 0, irand(0, 1), irand(0, 1)};
        p.kh = irand(1, 5);
        p.kw = irand(0, 2) ? p.kh : irand(1, 5);
        p.sh = irand(1, 3);
        p.sw = irand(0, 2) ? p.sh : irand(1, 3);
        p.pt = irand(0, p.kh - 1);
        p.pb = irand(0, p.kh - 1);
        p.pl = irand(0, p.kw - 1);
        p.pr = irand(0, p.kw - 1);
        if (irand(0, 1)) {
            p.pb = p.pt;
            p.pr = p.pl;
        }
        run_pool(&p);
    }
}

void test_op_maxpool(void)
{
    pool_dropped = 0;
    pool_tests(1);
    CHECK(pool_dropped >= 5, "maxpool coverage: ceil_mode changed the output "
          "size only %d times", pool_dropped);
}

void test_op_avgpool(void)
{
    pool_dropped = 0;
    pool_tests(0);
    CHECK(pool_dropped >= 5, "avgpool coverage: ceil_mode changed the output "
          "size only %d times", pool_dropped);
}

/* ---- global pools, through models ---- */

/* A model C x h x w -> `op` (a global pool, or a pool of kernel h x w) ->
** Mul by 1 at the trained size, run at H x W; every cell against the mean / max of its
** window (h x w, stride 1), or of its pixel (local). */
static void global_case(const char *op, int max, int local, int C, int h,
                        int w, int H, int W)
{
    tmodel *tm = tm_new(C, h, w);
    tlayer t;
    tl_init(&t, op);
    if (strstr(op, "Global") == NULL) {
        int k[2] = {h, w};
        tl_ints(&t, "kernel", 2, k);
    }
    tm_layer(tm, op, "pool", "input", "pooled", &t);
    /* times 1 (exact): the model still computes something when the pool
    ** is removed (per location, or a 1x1 map) */
    tlayer one;
    tl_init(&one, "Mul");
    tl_float(&one, "value", 1.0f);
    tm_layer(tm, "Mul", "one", "pooled", "out", &one);
    fcn_options opt = {local ? FCN_GAP_LOCAL : FCN_GAP_WINDOW, 0, 0};
    fcn_model *m = tm_load(tm, &opt);
    if (!m)
        return;
    float *x = malloc(sizeof(float) * C * H * W);
    fill(x, (int64_t)C * H * W, -2.0f, 2.0f);
    int oc, oh, ow;
    float *y = t_run_model(m, x, H, W, &oc, &oh, &ow);
    const int wh = local ? 1 : h, ww = local ? 1 : w;
    int ok = y && oc == C && oh == H - wh + 1 && ow == W - ww + 1;
    double worst = 0;
    for (int c = 0; ok && c < C; c++)
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                double s = 0, mx = -INFINITY;
                for (int a = 0; a < wh; a++)
                    for (int b = 0; b < ww; b++) {
                        double v = x[((int64_t)c * H + i + a) * W + j + b];
                        s += v;
                        mx = v > mx ? v : mx;
                    }
                double ref = max ? mx : s / (wh * ww);
                double e = fabs(y[((int64_t)c * oh + i) * ow + j] - ref);
                worst = e > worst || isnan(e) ? (isnan(e) ? INFINITY : e)
                                              : worst;
            }
    CHECK(ok && worst <= (max ? 0.0 : 1e-5 * 2), "%s (%s) %dx%dx%d trained, "
          "run at %dx%d: score map %dx%dx%d, worst error %.3g", op,
          local ? "local" : "window", C, h, w, H, W, oc, oh, ow, worst);
    free(x);
    free(y);
    fcn_model_free(m);
}

void test_op_gap(void)
{
    global_case("GlobalAvgPool", 0, 0, 3, 5, 4, 5, 4);
    global_case("GlobalAvgPool", 0, 0, 3, 5, 4, 12, 9);
    global_case("GlobalAvgPool", 0, 1, 1, 5, 4, 12, 9);
    global_case("GlobalAvgPool", 0, 0, 1, 1, 1, 6, 7);
    /* an AvgPool over the whole trained map is a global pool */
    global_case("AvgPool", 0, 0, 3, 6, 3, 11, 8);
    global_case("AvgPool", 0, 1, 1, 6, 3, 11, 8);
}

void test_op_gmp(void)
{
    global_case("GlobalMaxPool", 1, 0, 3, 5, 4, 5, 4);
    global_case("GlobalMaxPool", 1, 0, 3, 4, 6, 13, 10);
    global_case("GlobalMaxPool", 1, 1, 1, 4, 6, 13, 10);
    global_case("MaxPool", 1, 0, 3, 3, 7, 9, 12);
}
