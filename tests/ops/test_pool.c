/*
** test_pool.c: MaxPool and AvgPool windows against a direct loop (PyTorch's
** definition: the window in padded coordinates, clipped to the padded
** bounds for the divisor and to the input for the sum; ceil mode drops a
** window that would start in the right padding): max exact (the sign of a
** zero too: the first of equals in row-major order wins), avg within
** 1e-5 * max(1, max|window|). Windows of more than 64 taps take the
** separable path (pool.c): max still exact, NaN skipped and infinities
** kept; avg, summed in double, within 2^-23 |ref| + 1e-10 max|window|
** (the final rounding to float). Every case also runs through its plan
** and workspace with 1, 2 and 3 threads and in 2 x 2 tiles, all bit-
** identical. Dilated windows (the a-trous rewrite of fcn_options.
** stride_divisor dilates pools: the op's densify) against the same loop
** over the dilated taps. The global pools exist only at load: models
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
    int special;  /* 1: some infinities and NaNs; 2: zeros of either sign */
    int dh, dw;   /* dilation (0: 1), by densify; pads are multiples */
} pool_case;

static int dil(int d) { return d > 1 ? d : 1; }

/* The separable path: large undilated windows. */
static int big(const pool_case *p)
{
    return p->kh * p->kw > 64 && dil(p->dh) == 1 && dil(p->dw) == 1;
}

static double pool_ref(const pool_case *p, const float *x, int c, int oy,
                       int ox, double *tol)
{
    const int h0 = oy * p->sh - p->pt, w0 = ox * p->sw - p->pl,
              dh = dil(p->dh), dw = dil(p->dw);
    int ph = 0, pw = 0;  /* taps inside the padded map */
    for (int i = 0; i < p->kh; i++)
        ph += h0 + i * dh < p->H + p->pb;
    for (int j = 0; j < p->kw; j++)
        pw += w0 + j * dw < p->W + p->pr;
    const int pool_size = ph * pw;
    double s = 0.0, mx = -INFINITY, amax = 0.0;
    int cnt = 0;
    for (int i = 0; i < p->kh; i++)
        for (int j = 0; j < p->kw; j++) {
            const int y = h0 + i * dh, xx = w0 + j * dw;
            if (y < 0 || y >= p->H || xx < 0 || xx >= p->W)
                continue;
            double v = x[((int64_t)c * p->H + y) * p->W + xx];
            s += v;
            mx = v > mx ? v : mx;
            amax = fabs(v) > amax ? fabs(v) : amax;
            cnt++;
        }
    *tol = p->max ? 0.0 : 1e-5 * (amax > 1.0 ? amax : 1.0);
    return p->max ? mx : s / (p->cip ? pool_size : cnt);
}

/* A window's bounds along one axis: [*a, *b) in the input, *np its size
** clipped to the padded bounds. */
static void ref_axis(int o, int k, int s, int pa, int pe, int n, int *a,
                     int *b, int *np)
{
    int u = o * s - pa, e = u + k;
    *np = (e < n + pe ? e : n + pe) - u;
    *a = u > 0 ? u : 0;
    *b = e < n ? e : n;
}

/* References of the large windows, every output at once (the direct loop
** would cost the window's area per output): max as the row-wise maxima of
** direct loops, then the column-wise maximum of those (the first of equals
** in row-major order is the first row's first, so signs of zeros are
** exact too); avg from summed-area tables in long double of the finite
** values and of the counts of +inf, -inf and NaN (IEEE's sum: NaN with a
** NaN or both infinities, else the infinity, else the sum). tol: 2^-23
** |ref| + 1e-10 max|x| for avg (the final rounding to float), 0 for max. */
static void big_ref(const pool_case *p, const float *x, int OH, int OW,
                    double *ref, double *tol)
{
    const int H = p->H, W = p->W;
    const int64_t sz = (int64_t)(H + 1) * (W + 1);
    double *rm = malloc(sizeof(double) * H * OW);
    long double *sat = malloc(sizeof(long double) * sz);
    int64_t *cnt[3];
    for (int k = 0; k < 3; k++)
        cnt[k] = malloc(sizeof(int64_t) * sz);
    for (int c = 0; c < p->C; c++) {
        const float *xc = x + (int64_t)c * H * W;
        double amax = 0.0;
        for (int i = 0; i <= W; i++) {
            sat[i] = 0;
            cnt[0][i] = cnt[1][i] = cnt[2][i] = 0;
        }
        for (int y = 0; y < H; y++) {
            long double row = 0;
            int64_t rc[3] = {0, 0, 0};
            const int64_t o = (int64_t)(y + 1) * (W + 1), q = o - (W + 1);
            sat[o] = 0;
            cnt[0][o] = cnt[1][o] = cnt[2][o] = 0;
            for (int i = 0; i < W; i++) {
                const float v = xc[(int64_t)y * W + i];
                if (isnan(v))
                    rc[2]++;
                else if (isinf(v))
                    rc[v < 0]++;
                else {
                    row += v;
                    amax = fabs(v) > amax ? fabs(v) : amax;
                }
                sat[o + i + 1] = sat[q + i + 1] + row;
                for (int k = 0; k < 3; k++)
                    cnt[k][o + i + 1] = cnt[k][q + i + 1] + rc[k];
            }
            for (int ox = 0; ox < OW; ox++) {
                int a, b, np;
                ref_axis(ox, p->kw, p->sw, p->pl, p->pr, W, &a, &b, &np);
                double m = -INFINITY;
                for (int i = a; i < b; i++)
                    m = xc[(int64_t)y * W + i] > m ? xc[(int64_t)y * W + i] : m;
                rm[(int64_t)y * OW + ox] = m;
            }
        }
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                int ha, hb, hn, wa, wb, wn;
                ref_axis(oy, p->kh, p->sh, p->pt, p->pb, H, &ha, &hb, &hn);
                ref_axis(ox, p->kw, p->sw, p->pl, p->pr, W, &wa, &wb, &wn);
                const int64_t o = ((int64_t)c * OH + oy) * OW + ox;
                const int64_t i11 = (int64_t)hb * (W + 1) + wb,
                              i01 = (int64_t)ha * (W + 1) + wb,
                              i10 = (int64_t)hb * (W + 1) + wa,
                              i00 = (int64_t)ha * (W + 1) + wa;
                if (p->max) {
                    double m = -INFINITY;
                    for (int y = ha; y < hb; y++)
                        m = rm[(int64_t)y * OW + ox] > m
                                ? rm[(int64_t)y * OW + ox] : m;
                    ref[o] = m;
                    tol[o] = 0.0;
                    continue;
                }
                int64_t n[3];
                for (int k = 0; k < 3; k++)
                    n[k] = cnt[k][i11] - cnt[k][i01] - cnt[k][i10] +
                           cnt[k][i00];
                double sum = (double)(sat[i11] - sat[i01] - sat[i10] +
                                      sat[i00]);
                if (n[2] || (n[0] && n[1]))
                    sum = NAN;
                else if (n[0] || n[1])
                    sum = n[0] ? INFINITY : -INFINITY;
                const double div = p->cip ? (double)hn * wn
                                          : (double)(hb - ha) * (wb - wa);
                ref[o] = sum / div;
                tol[o] = 0x1p-23 * fabs(ref[o]) + 1e-10 * amax;
            }
    }
    free(rm);
    free(sat);
    for (int k = 0; k < 3; k++)
        free(cnt[k]);
}

/* Whether got matches ref within tol: NaN for NaN, the same infinity, and
** for max the same value and sign (of a zero too). */
static int pool_match(const pool_case *p, float got, double ref, double tol)
{
    if (isnan(ref) || isinf(ref))
        return isnan(ref) ? isnan(got) : got == ref;
    if (p->max)
        return got == ref && !signbit(got) == !signbit(ref);
    return fabs((double)got - ref) <= tol;
}

/* n's forward of out's window from in, through its plan for that window
** and a workspace for `threads` threads. */
static void forward_planned(const node *n, const view *in, const view *out,
                            int threads, const char *desc)
{
    op_plan op;
    op_get(n->op)->plan(n, (shape){out->c, out->H, out->W}, out->h, out->w,
                        threads, &op);
    float *ws = buf_new((int64_t)op.ws_floats);
    t_forward(n, in, out, &op, ws, threads);
    CHECK(canary_ok(ws, (int64_t)op.ws_floats), "%s: wrote past the "
          "workspace (%zu floats, %d threads)", desc, op.ws_floats, threads);
    buf_free(ws);
}

/* The output in 2 x 2 tiles cut at (ty, tx), each from an input view of
** just the rows and columns it reads, into y (C x OH x OW). */
static void forward_tiled(const pool_case *p, const node *n, float *x,
                          float *y, int OH, int OW, int ty, int tx,
                          const char *desc)
{
    const int ry[3] = {0, ty, OH}, rx[3] = {0, tx, OW};
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            const int y0 = ry[a], th = ry[a + 1] - y0, x0 = rx[b],
                      tw = rx[b + 1] - x0;
            if (th < 1 || tw < 1)
                continue;
            int i0 = y0 * p->sh - p->pt, i1 = (y0 + th - 1) * p->sh - p->pt +
                                              (p->kh - 1) * dil(p->dh) + 1;
            int j0 = x0 * p->sw - p->pl, j1 = (x0 + tw - 1) * p->sw - p->pl +
                                              (p->kw - 1) * dil(p->dw) + 1;
            i0 = i0 < 0 ? 0 : i0;
            j0 = j0 < 0 ? 0 : j0;
            i1 = i1 < p->H ? i1 : p->H;
            j1 = j1 < p->W ? j1 : p->W;
            view vi = {x + (int64_t)i0 * p->W + j0, p->C, i0, j0, i1 - i0,
                       j1 - j0, p->H, p->W, p->W, (int64_t)p->H * p->W};
            float *t = buf_new((int64_t)p->C * th * tw);
            view vo = {t, p->C, y0, x0, th, tw, OH, OW, tw,
                       (int64_t)th * tw};
            forward_planned(n, &vi, &vo, 2, desc);
            CHECK(canary_ok(t, (int64_t)p->C * th * tw), "%s: tile wrote "
                  "past its output", desc);
            for (int c = 0; c < p->C; c++)
                for (int r = 0; r < th; r++)
                    memcpy(y + ((int64_t)c * OH + y0 + r) * OW + x0,
                           t + ((int64_t)c * th + r) * tw, sizeof(float) * tw);
            buf_free(t);
        }
}

/* The special values of a case into x. */
static void fill_special(const pool_case *p, float *x, int64_t n)
{
    if (p->special == 1)
        for (int i = 0; i < 6; i++)
            x[rnd() % (uint64_t)n] = i < 2 ? INFINITY : i < 4 ? -INFINITY
                                                                : NAN;
    if (p->special == 2)
        for (int64_t i = 0; i < n; i++)
            x[i] = x[i] < 0.5f ? (rnd() & 1 ? 0.0f : -0.0f) : -x[i];
}

static void run_pool(const pool_case *p)
{
    const int dh = dil(p->dh), dw = dil(p->dw);
    int k[2] = {p->kh, p->kw}, s[2] = {p->sh, p->sw},
        pad[4] = {p->pt / dh, p->pl / dw, p->pb / dh, p->pr / dw};
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
    if (dh > 1 || dw > 1) {  /* pads and dilation times dh, dw */
        op_get(n.op)->densify(&n, 0, dh, 1);
        op_get(n.op)->densify(&n, 1, dw, 1);
    }
    const int OH = window_ref(p->H, p->kh, p->sh, dh, p->pt, p->pb, p->ceil),
              OW = window_ref(p->W, p->kw, p->sw, dw, p->pl, p->pr, p->ceil);
    char desc[300];
    snprintf(desc, sizeof desc, "%s C=%d in=%dx%d k=%dx%d s=%dx%d d=%dx%d "
             "pad(t,l,b,r)=%d,%d,%d,%d ceil_mode=%d count_include_pad=%d "
             "out=%dx%d", p->max ? "maxpool" : "avgpool", p->C, p->H, p->W,
             p->kh, p->kw, p->sh, p->sw, dh, dw, p->pt, p->pl, p->pb, p->pr,
             p->ceil, p->cip, OH, OW);
    shape is = {p->C, p->H, p->W}, os;
    int fits = t_infer(&n, &is, 1, &os);
    CHECK(fits == (OH >= 1 && OW >= 1) && (!fits || (os.h == OH &&
          os.w == OW && os.c == p->C)), "%s: infer gives %dx%d", desc, os.h,
          os.w);
    if (fits && OH >= 1 && OW >= 1) {
        if (p->ceil && (window_ref(p->H, p->kh, p->sh, dh, p->pt, p->pb, 0) !=
                            OH ||
                        window_ref(p->W, p->kw, p->sw, dw, p->pl, p->pr, 0) != OW))
            pool_dropped++; /* ceil mode made a difference */
        const int64_t in_n = (int64_t)p->C * p->H * p->W,
                      on = (int64_t)p->C * OH * OW;
        float *x = buf_new(in_n), *out[6];
        fill(x, in_n, -1.0f, 1.0f);
        if (p->C > 1) /* one channel all negative: max must not return 0 */
            for (int64_t i = 0; i < (int64_t)p->H * p->W; i++)
                x[i] = -1.0f - fabsf(x[i]);
        fill_special(p, x, in_n);
        /* 0, 1: without a plan (1 and 3 threads); 2-4: planned, 1-3
        ** threads; 5: planned, in tiles */
        for (int r = 0; r < 6; r++) {
            out[r] = buf_new(on);
            view vi = view_full(x, is), vo = view_full(out[r], os);
            if (r < 2 && big(p))
                continue;  /* the direct loop: too slow, not used */
            if (r < 2)
                t_forward(&n, &vi, &vo, NULL, NULL, r ? 3 : 1);
            else if (r < 5)
                forward_planned(&n, &vi, &vo, r - 1, desc);
            else
                forward_tiled(p, &n, x, out[r], OH, OW, irand(0, OH),
                              irand(0, OW), desc);
        }
        double *bref = NULL, *btol = NULL;
        if (big(p)) {
            bref = malloc(sizeof(double) * on);
            btol = malloc(sizeof(double) * on);
            big_ref(p, x, OH, OW, bref, btol);
        }
        int64_t worst = -1;
        double wref = 0.0;
        for (int64_t o = 0; o < on && worst < 0; o++) {
            double tol;
            double ref = bref ? bref[o] : pool_ref(p, x, (int)(o / (OH * OW)),
                                                   (int)(o % (OH * OW) / OW),
                                                   (int)(o % OW), &tol);
            if (bref)
                tol = btol[o];
            if (!pool_match(p, out[2][o], ref, tol) ||
                (!big(p) && !pool_match(p, out[0][o], ref, tol))) {
                worst = o;
                wref = ref;
            }
        }
        CHECK(worst < 0, "%s: first wrong element %lld: got %.9g (planned), "
              "%.9g (direct), ref %.9g", desc, (long long)worst,
              worst >= 0 ? out[2][worst] : 0.0,
              worst >= 0 ? out[0][worst] : 0.0, wref);
        free(bref);
        free(btol);
        int same = 1, canaries = 1;
        for (int r = big(p) ? 2 : 0; r < 6; r++) {
            canaries &= canary_ok(out[r], on);
            if (r != 0 && r != 2)
                same &= !memcmp(out[r], out[r < 2 ? 0 : 2],
                                sizeof(float) * on);
        }
        CHECK(canaries && same, "%s: wrote past the output, or thread "
              "counts or tiles differ", desc);
        buf_free(x);
        for (int r = 0; r < 6; r++)
            buf_free(out[r]);
    }
    node_release(&n);
    arena_free(&ar);
}

/* Windows of more than 64 taps (the separable path): by hand (C, H, W,
** kh, kw, sh, sw, pt, pl, pb, pr, ceil, count_include_pad, special), then
** random ones. */
static void big_tests(int max)
{
    static const int hand[][14] = {
        {1, 130, 150, 65, 65, 1, 1, 0, 0, 0, 0, 0, 1, 0},
        {2, 140, 120, 65, 65, 2, 2, 32, 32, 10, 20, 1, 0, 0},
        {2, 140, 120, 65, 65, 2, 2, 32, 32, 10, 20, 1, 1, 1},
        {1, 250, 250, 100, 3, 1, 1, 40, 1, 20, 1, 0, 0, 0},
        {1, 250, 250, 3, 100, 2, 2, 1, 40, 1, 60, 1, 1, 0},
        {1, 250, 250, 100, 3, 2, 1, 99, 2, 50, 0, 0, 1, 2},
        {1, 230, 240, 200, 200, 1, 1, 0, 0, 0, 0, 0, 1, 0},
        {1, 250, 250, 200, 200, 2, 2, 150, 20, 0, 199, 1, 0, 1},
        {1, 90, 90, 70, 70, 1, 1, 30, 30, 30, 30, 0, 1, 2},
        {3, 40, 50, 9, 9, 1, 1, 4, 4, 4, 4, 0, 1, 0},
        {2, 60, 70, 13, 11, 3, 5, 6, 5, 0, 2, 1, 0, 0},
        {1, 30, 200, 2, 40, 1, 40, 0, 0, 1, 39, 1, 0, 0}};
    for (size_t i = 0; i < sizeof hand / sizeof hand[0]; i++) {
        const int *h = hand[i];
        pool_case p = {max, h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7],
                       h[8], h[9], h[10], h[11], h[12], h[13], 1, 1};
        run_pool(&p);
    }
    for (int i = 0; i < 40; i++) {
        pool_case p = {max, irand(1, 3), irand(10, 80), irand(10, 80), 0, 0,
                       0, 0, 0, 0, 0, 0, irand(0, 1), irand(0, 1),
                       irand(0, 2), 1, 1};
        do {
            p.kh = irand(1, 40);
            p.kw = irand(1, 40);
        } while (p.kh * p.kw <= 64);
        p.sh = irand(1, 4) == 4 ? irand(2, 50) : irand(1, 2);
        p.sw = irand(1, 4) == 4 ? irand(2, 50) : irand(1, 2);
        p.pt = irand(0, p.kh - 1);
        p.pb = irand(0, p.kh - 1);
        p.pl = irand(0, p.kw - 1);
        p.pr = irand(0, p.kw - 1);
        run_pool(&p);
    }
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
                               h[7], h[8], h[9], h[10], ceil, cip, 0, 1, 1};
                run_pool(&p);
            }
    for (int i = 0; i < 150; i++) {
        pool_case p = {max, irand(1, 4), irand(1, 20), irand(1, 20), 0, 0, 0,
                       0, 0, 0, 0, 0, irand(0, 1), irand(0, 1), 0, 1, 1};
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
    /* dilated (densify), up to 7x7 taps; floor mode (ceil mode's windows
    ** of a rewritten pool: tests/test_stride_divisor.py) */
    for (int i = 0; i < 60; i++) {
        pool_case p = {max, irand(1, 3), irand(1, 30), irand(1, 30), 0, 0, 0,
                       0, 0, 0, 0, 0, 0, irand(0, 1), i % 5 == 4,
                       irand(1, 4), irand(1, 4)};
        p.kh = irand(1, 7);
        p.kw = irand(0, 2) ? p.kh : irand(1, 7);
        p.sh = irand(1, 3);
        p.sw = irand(0, 2) ? p.sh : irand(1, 3);
        p.pt = irand(0, p.kh - 1) * p.dh;
        p.pb = irand(0, p.kh - 1) * p.dh;
        p.pl = irand(0, p.kw - 1) * p.dw;
        p.pr = irand(0, p.kw - 1) * p.dw;
        run_pool(&p);
    }
    big_tests(max);
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
    fcn_options opt = {local ? FCN_GAP_LOCAL : FCN_GAP_WINDOW, 0, 0, 0, {0}, 0, 0};
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
