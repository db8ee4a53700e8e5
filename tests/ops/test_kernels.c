/*
** test_kernels.c: the kernels below the ops: window arithmetic against an
** enumeration of window starts, im2col (rows and panels) against direct
** indexing (exact: it only moves values), and the packed GEMM and GEMV of
** every ISA variant this CPU runs against a double-precision product
** (|err| <= 1e-5 * sum |a*b| per output); the variants against each other
** (gemm.h promises bit-identical GEMM, GEMV and Winograd transforms).
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "kernels/conv.h"
#include "kernels/gemm.h"

void test_window(void)
{
    int fails = 0;
    for (int i = 0; i < 4000; i++) {
        int in = irand(1, 60), k = irand(1, 9), s = irand(1, 4),
            d = irand(1, 3), ceil = irand(0, 1);
        int keff = (k - 1) * d + 1;
        int pmax = ceil ? keff - 1 : keff + 2;
        if (pmax > 6)
            pmax = 6;
        int pa = irand(0, pmax), pb = irand(0, pmax);
        int got = win_out(in, k, s, d, pa, pb, ceil);
        int ref = window_ref(in, k, s, d, pa, pb, ceil);
        if (got != ref && fails++ < 10)
            CHECK(0, "win_out(in=%d k=%d s=%d d=%d pa=%d pb=%d ceil=%d) = %d, "
                  "expected %d", in, k, s, d, pa, pb, ceil, got, ref);
    }
    CHECK(fails == 0, "win_out: %d of 4000 random cases wrong", fails);
    CHECK(win_out(224, 3, 2, 1, 0, 0, 0) == 111, "win_out 224/3/2 floor");
    CHECK(win_out(224, 3, 2, 1, 0, 0, 1) == 112, "win_out 224/3/2 ceil");
    CHECK(win_out(5, 2, 2, 1, 1, 1, 1) == 3, "win_out 5/2/2 pad 1 ceil");
    CHECK(win_out(4, 2, 2, 1, 1, 1, 1) == 3, "win_out 4/2/2 pad 1 ceil (last "
          "window would start in the padding)");
    CHECK(win_out(4, 5, 1, 1, 0, 0, 0) < 1, "win_out: kernel > input");
    CHECK(win_out(7, 3, 1, 3, 0, 0, 0) == 1, "win_out: dilated fit");
    CHECK(win_out(7, 3, 1, 4, 0, 0, 0) < 1, "win_out: dilated no fit");
    CHECK(win_out(10, 3, 0, 1, 0, 0, 0) < 1, "win_out: stride 0");
    CHECK(win_out(MEM_MAX_DIM, 1, 1, 1, 1, 1, 0) < 1,
          "win_out: result above MEM_MAX_DIM");
}

/* One im2col case: rows, then panels, each checked value by value. */
static void im2col_case(void)
{
    int C = irand(1, 4), h = irand(1, 12), w = irand(1, 12), kh = irand(1, 4),
        kw = irand(1, 4), sh = irand(1, 3), sw = irand(0, 1) ? 1 : irand(1, 3),
        dh = irand(1, 2), dw = irand(1, 2), pt = irand(0, 3), pl = irand(0, 3),
        pb = irand(0, 3), pr = irand(0, 3);
    int oh = window_ref(h, kh, sh, dh, pt, pb, 0),
        ow = window_ref(w, kw, sw, dw, pl, pr, 0);
    if (oh < 1 || ow < 1)
        return;
    const int64_t N = (int64_t)oh * ow;
    const int c0 = irand(0, C - 1), cn = irand(1, C - c0);
    const int64_t n0 = irand(0, (int)N - 1);
    const int nt = irand(1, (int)(N - n0)), np = (nt + GEMM_NR - 1) / GEMM_NR;
    const int64_t K = (int64_t)cn * kh * kw;
    float *x = buf_new((int64_t)C * h * w), *rows = buf_new(K * nt),
          *pan = buf_new(K * np * GEMM_NR);
    fill(x, (int64_t)C * h * w, -1.0f, 1.0f);
    win2d win = {kh, kw, sh, sw, dh, dw, pt, pl, pb, pr};
    view vx = view_full(x, (shape){C, h, w});
    im2col_rows(&vx, c0, cn, &win, 0, 0, ow, n0, nt, rows);
    im2col_panels(&vx, c0, cn, &win, 0, 0, ow, n0, nt, K * GEMM_NR, pan);
    int64_t bad_r = -1, bad_p = -1;
    for (int64_t k = 0; k < K; k++) {
        const int c = (int)(k / (kh * kw)), ky = (int)(k / kw % kh),
                  kx = (int)(k % kw);
        for (int j = 0; j < np * GEMM_NR; j++) {
            float v = 0.0f;
            if (j < nt) {
                int64_t p = n0 + j;
                int iy = (int)(p / ow) * sh - pt + ky * dh,
                    ix = (int)(p % ow) * sw - pl + kx * dw;
                if (iy >= 0 && iy < h && ix >= 0 && ix < w)
                    v = x[((int64_t)(c0 + c) * h + iy) * w + ix];
                if (bad_r < 0 && memcmp(&v, &rows[k * nt + j], sizeof v))
                    bad_r = k * nt + j;
            }
            int64_t q = (j / GEMM_NR) * K * GEMM_NR + k * GEMM_NR + j % GEMM_NR;
            if (bad_p < 0 && memcmp(&v, &pan[q], sizeof v))
                bad_p = q;
        }
    }
    CHECK(bad_r < 0 && bad_p < 0 && canary_ok(rows, K * nt) &&
          canary_ok(pan, K * np * GEMM_NR),
          "im2col C=%d h=%d w=%d k=%dx%d s=%dx%d d=%dx%d pad(t,l,b,r)="
          "%d,%d,%d,%d out_w=%d c0=%d cn=%d n0=%lld nt=%d: first bad row "
          "element %lld, panel element %lld (or a write past the end)", C, h,
          w, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, ow, c0, cn,
          (long long)n0, nt, (long long)bad_r, (long long)bad_p);
    buf_free(x);
    buf_free(rows);
    buf_free(pan);
}

void test_im2col(void)
{
    for (int i = 0; i < 120; i++)
        im2col_case();
}

/* C = A B on packed A and panels of B, and y = A x, against double. */
static void gemm_case(const gemm_isa *isa, int M, int N, int K, int m0)
{
    const int Mp = gemm_packed_rows(m0 + M), np = (N + GEMM_NR - 1) / GEMM_NR;
    float *A = buf_new((int64_t)(m0 + M) * K), *Ap = buf_new((int64_t)Mp * K),
          *B = buf_new((int64_t)np * K * GEMM_NR), *C = buf_new((int64_t)M * N),
          *y = buf_new(M);
    fill(A, (int64_t)(m0 + M) * K, -1.0f, 1.0f);
    fill(B, (int64_t)np * K * GEMM_NR, -1.0f, 1.0f);
    gemm_pack(m0 + M, K, A, Ap, 0);
    gemm_panels(Ap, Mp, m0, M, N, K, B, C, N);
    /* y = A x with x = B's column 0 (stride GEMM_NR in the first panel) */
    gemv_panels(Ap, Mp, m0, M, K, B, GEMM_NR, y, 1);
    double worst = 0;
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double s = 0, a = 0;
            for (int k = 0; k < K; k++) {
                double t = (double)A[(int64_t)(m0 + m) * K + k] *
                           B[(int64_t)(n / GEMM_NR) * K * GEMM_NR +
                             (int64_t)k * GEMM_NR + n % GEMM_NR];
                s += t;
                a += fabs(t);
            }
            double e = fabs(C[(int64_t)m * N + n] - s) / (1e-5 * (a + 1e-30));
            double ey = n ? 0 : fabs(y[m] - s) / (1e-5 * (a + 1e-30));
            if (!(e <= worst))
                worst = isnan(e) ? INFINITY : e;
            if (!(ey <= worst))
                worst = isnan(ey) ? INFINITY : ey;
        }
    CHECK(worst <= 1.0 && canary_ok(C, (int64_t)M * N) && canary_ok(y, M),
          "gemm (%s) M=%d N=%d K=%d m0=%d: %.3g x tolerance (or a write past "
          "the end)", isa->name, M, N, K, m0, worst);
    buf_free(A);
    buf_free(Ap);
    buf_free(B);
    buf_free(C);
    buf_free(y);
}

/* The supported variants' GEMM, GEMV and Winograd transforms on the same
** data give the same bits. Returns how many variants took part. */
static int identity_case(int M, int N, int K, int m0)
{
    const int Mp = gemm_packed_rows(m0 + M), np = (N + GEMM_NR - 1) / GEMM_NR;
    int n, used = 0;
    const gemm_isa *const *v = gemm_isa_variants(&n);
    float *A = buf_new((int64_t)(m0 + M) * K), *Ap = buf_new((int64_t)Mp * K),
          *B = buf_new((int64_t)np * K * GEMM_NR);
    float *C[2] = {buf_new((int64_t)M * N), buf_new((int64_t)M * N)},
          *y[2] = {buf_new(M), buf_new(M)};
    static float d[36][GEMM_NR], o[2][36][GEMM_NR], yw[2][16][GEMM_NR];
    fill(A, (int64_t)(m0 + M) * K, -1.0f, 1.0f);
    fill(B, (int64_t)np * K * GEMM_NR, -1.0f, 1.0f);
    fill(&d[0][0], 36 * GEMM_NR, -4.0f, 4.0f);
    gemm_pack(m0 + M, K, A, Ap, 0);
    for (int i = 0; i < n; i++) {
        if (!v[i]->supported())
            continue;
        const int s = used ? 1 : 0;
        gemm_isa_set(v[i]);
        gemm_panels(Ap, Mp, m0, M, N, K, B, C[s], N);
        gemv_panels(Ap, Mp, m0, M, K, B, GEMM_NR, y[s], 1);
        v[i]->wino_input(d, o[s]);
        v[i]->wino_output(d, 0.25f, yw[s]);
        if (used++)
            CHECK(!memcmp(C[0], C[1], sizeof(float) * M * N) &&
                  !memcmp(y[0], y[1], sizeof(float) * M) &&
                  !memcmp(o[0], o[1], sizeof o[0]) &&
                  !memcmp(yw[0], yw[1], sizeof yw[0]),
                  "gemm: %s differs from the first variant (M=%d N=%d K=%d "
                  "m0=%d: GEMM %d, GEMV %d, Winograd %d %d)", v[i]->name, M,
                  N, K, m0, !!memcmp(C[0], C[1], sizeof(float) * M * N),
                  !!memcmp(y[0], y[1], sizeof(float) * M),
                  !!memcmp(o[0], o[1], sizeof o[0]),
                  !!memcmp(yw[0], yw[1], sizeof yw[0]));
    }
    buf_free(A);
    buf_free(Ap);
    buf_free(B);
    for (int s = 0; s < 2; s++) {
        buf_free(C[s]);
        buf_free(y[s]);
    }
    return used;
}

void test_gemm(void)
{
    const gemm_isa *chosen = gemm_isa_get();
    int n, ran = 0;
    const gemm_isa *const *v = gemm_isa_variants(&n);
    for (int i = 0; i < n; i++) {
        if (!v[i]->supported())
            continue;
        gemm_isa_set(v[i]);
        ran++;
        static const int shapes[][4] = {{6, 16, 1, 0},   {1, 1, 1, 0},
                                        {7, 17, 257, 0}, {130, 40, 300, 6},
                                        {5, 8, 3, 12},   {23, 9, 513, 0},
                                        {121, 33, 64, 0}, {48, 1, 600, 0}};
        for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++)
            gemm_case(v[i], shapes[k][0], shapes[k][1], shapes[k][2],
                      shapes[k][3]);
        for (int r = 0; r < 30; r++)
            gemm_case(v[i], irand(1, 140), irand(1, 70), irand(1, 700),
                      GEMM_MR * irand(0, 3));
    }
    int used = 0;
    for (int r = 0; r < 20; r++)
        used = identity_case(irand(1, 100), irand(1, 80), irand(1, 600),
                             GEMM_MR * irand(0, 3));
    gemm_isa_set(chosen);
    CHECK(ran > 0 || !chosen, "no GEMM variant ran, but one was chosen");
    printf("gemm: %d of %d variants run on this CPU", ran, n);
    for (int i = 0; i < n; i++)
        printf("%s %s%s", i ? "," : ":", v[i]->id,
               v[i]->supported() ? "" : " (SKIPPED: not on this CPU)");
    printf("; bit-identity %s\n", used > 1 ? "checked" :
           "not checked (fewer than two variants run here)");
}
