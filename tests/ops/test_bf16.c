/*
** test_bf16.c: the bf16 path (gemm_bf16.h, fcn_options.precision
** FCN_PRECISION_BF16), run by `test_ops bf16`:
**   - rounding: gemm_bf16_round and the vector conversion of the panels
**     against an independent nearest-even rounding (from the two bf16
**     neighbours, in double), on random bits, ties, denormals, Inf, NaN;
**   - GEMM and GEMV against a naive product of the bf16-rounded operands
**     accumulated in double: |err| <= (K + 2) * 2^-24 * sum |a||b| (fp32
**     accumulation, at most two roundings per pair of k); the GEMV the
**     bits of the GEMM's column, row and column blocks the same bits;
**   - a model (3x3 conv + Flatten -> Dense head) loaded with bf16, at its
**     trained size (one-pixel GEMV) and larger (GEMM), against a naive
**     forward that rounds each GEMM's inputs to bf16: the conv within the
**     bound above, the head within it plus sum |w| (2^-8 |z| + dz), the
**     rounding of an input z that may fall to the other bf16 neighbour;
**     and the same map whatever the tiling, thread count and region
**     (memcmp, as tests/test_exact.c);
**   - the load refusing bf16 with FCN_ISA=avx2 / FCN_GEMM_BLAS.
** Where the CPU lacks AVX512_BF16 the test says SKIPPED and checks only
** that the load refuses bf16.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "kernels/gemm.h"
#include "kernels/gemm_bf16.h"

static float bf_val(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static float f_of(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Nearest-even rounding to bf16, from the neighbours below and above
** (in double); denormals read as zero, as the hardware does. */
static double ref_round(float x)
{
    if (isnan(x) || isinf(x) || x == 0.0f)
        return x;
    if (fabsf(x) < 1.17549435e-38f)
        return copysign(0.0, x);
    int e;
    double m = frexp(fabs((double)x), &e); /* [0.5, 1): 8 bits kept */
    double lo = floor(m * 256.0), d = m * 256.0 - lo;
    double r = d > 0.5 || (d == 0.5 && fmod(lo, 2.0) == 1.0) ? lo + 1 : lo;
    return copysign(ldexp(r, e - 8), x);
}

static float rbf(float x) { return bf_val(gemm_bf16_round(x)); }

static void test_round(void)
{
    enum { N = 4096 };
    float *pan = malloc(sizeof(float) * 2 * GEMM_NR * (N / GEMM_NR / 2 + 1));
    uint32_t bits[N];
    int bad = 0, badv = 0;
    for (int i = 0; i < N; i++) {
        uint32_t u = (uint32_t)rnd();
        if (i % 4 == 1)
            u = (u & 0xffff0000u) | 0x8000u; /* ties */
        if (i % 8 == 2)
            u &= 0x807fffffu;                /* denormals */
        if (i == 3)
            u = 0x7f800000u;                 /* +Inf */
        if (i == 5)
            u = 0x7fffffffu;                 /* NaN */
        if (i == 7)
            u = 0x7f7fffffu;                 /* rounds to +Inf */
        bits[i] = u;
        float x = f_of(u), got = rbf(x);
        double want = ref_round(x);
        if (!(isnan(want) ? isnan(got) : got == (float)want &&
                                             !signbit(got) == !signbit(want)))
            if (bad++ < 5)
                CHECK(0, "bf16 round %08x: %g, expected %g", u, got, want);
    }
    CHECK(!bad, "bf16 rounding: %d of %d wrong", bad, N);
    if (!gemm_bf16_supported()) {
        free(pan);
        return;
    }
    /* the in-place panel conversion: panels of K = 2 rows */
    const int np = N / (2 * GEMM_NR);
    for (int j = 0; j < np; j++)
        for (int k = 0; k < 2; k++)
            for (int c = 0; c < GEMM_NR; c++)
                pan[j * 2 * GEMM_NR + k * GEMM_NR + c] =
                    f_of(bits[j * 2 * GEMM_NR + k * GEMM_NR + c]);
    gemm_bf16_convert(pan, 2, np);
    for (int j = 0; j < np; j++)
        for (int k = 0; k < 2; k++)
            for (int c = 0; c < GEMM_NR; c++) {
                uint16_t got = ((uint16_t *)(pan + j * 2 * GEMM_NR))[2 * c + k];
                uint16_t want = gemm_bf16_round(
                    f_of(bits[j * 2 * GEMM_NR + k * GEMM_NR + c]));
                int nan = isnan(bf_val(want)) && isnan(bf_val(got));
                if (got != want && !nan && badv++ < 5)
                    CHECK(0, "bf16 panel conversion %08x: %04x, expected %04x",
                          bits[j * 2 * GEMM_NR + k * GEMM_NR + c], got, want);
            }
    CHECK(!badv, "bf16 panel conversion: %d of %d differ from the rounding",
          badv, np * 2 * GEMM_NR);
    free(pan);
}

/* One random GEMM: M x K by K x N. */
static void gemm_case(int M, int K, int N)
{
    const int Mp = gemm_packed_rows(M), np = (N + GEMM_NR - 1) / GEMM_NR;
    float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N);
    float *pan = aligned_alloc(64, sizeof(float) * ((size_t)np * K * GEMM_NR + 16));
    uint16_t *ap = malloc(sizeof(uint16_t) * (size_t)gemm_bf16_packed_elems(M, K));
    float *C = buf_new((int64_t)M * N), *C2 = buf_new((int64_t)M * N),
          *y = buf_new(M);
    fill(A, (int64_t)M * K, -1.0f, 1.0f);
    fill(B, (int64_t)K * N, -1.0f, 1.0f);
    for (int j = 0; j < np * GEMM_NR; j++)
        for (int k = 0; k < K; k++)
            pan[(int64_t)(j / GEMM_NR) * K * GEMM_NR + k * GEMM_NR +
                j % GEMM_NR] = j < N ? B[(int64_t)k * N + j] : 0.0f;
    gemm_bf16_pack(M, K, A, ap, 0);
    gemm_bf16_convert(pan, K, np);
    gemm_bf16_panels(ap, Mp, 0, M, N, K, (const uint16_t *)pan, C, N);
    int bad = 0;
    double worst = 0;
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double s = 0, sa = 0;
            for (int k = 0; k < K; k++) {
                double p = (double)rbf(A[(int64_t)m * K + k]) *
                           rbf(B[(int64_t)k * N + n]);
                s += p;
                sa += fabs(p);
            }
            double err = fabs(C[(int64_t)m * N + n] - s),
                   tol = (K + 2) * ldexp(1.0, -24) * sa;
            if (sa > 0 && err / sa > worst)
                worst = err / sa;
            if (!(err <= tol) && bad++ < 3)
                CHECK(0, "bf16 gemm %dx%dx%d (%d,%d): %g, expected %g", M, K,
                      N, m, n, C[(int64_t)m * N + n], s);
        }
    CHECK(!bad && canary_ok(C, (int64_t)M * N),
          "bf16 gemm %dx%dx%d: %d outputs out of tolerance (worst %.3g of "
          "sum|ab|)", M, K, N, bad, worst);
    /* row blocks from a multiple of 6 and column blocks from a panel
    ** boundary: the same bits */
    const int m0 = irand(0, (M - 1) / GEMM_MR) * GEMM_MR, mn = irand(1, M - m0);
    const int j0 = irand(0, np - 1), nn = irand(1, N - j0 * GEMM_NR);
    gemm_bf16_panels(ap, Mp, m0, mn, nn, K,
                     (const uint16_t *)(pan + (int64_t)j0 * K * GEMM_NR),
                     C2, N);
    int diff = 0;
    for (int m = 0; m < mn; m++)
        diff += memcmp(C2 + (int64_t)m * N, C + (int64_t)(m0 + m) * N +
                       j0 * GEMM_NR, sizeof(float) * nn) != 0;
    CHECK(!diff, "bf16 gemm %dx%dx%d: rows %d+%d, columns %d+%d not the "
          "bits of the whole", M, K, N, m0, mn, j0 * GEMM_NR, nn);
    /* the GEMV of column n: the bits of the GEMM's column */
    const int n = irand(0, N - 1);
    gemv_bf16_panels(ap, Mp, 0, M, K, B + n, N, y, 1);
    diff = 0;
    for (int m = 0; m < M; m++)
        diff += memcmp(&y[m], &C[(int64_t)m * N + n], sizeof(float)) != 0;
    CHECK(!diff && canary_ok(y, M), "bf16 gemv %dx%d: %d rows not the bits "
          "of the GEMM's column %d", M, K, diff, n);
    free(A);
    free(B);
    free(pan);
    free(ap);
    buf_free(C);
    buf_free(C2);
    buf_free(y);
}

/* ---- a model: Conv 3x3 pad 1 (C -> F, bias) -> Flatten -> Dense ---- */

enum { MC_ = 3, MH = 6, MW = 7, MF = 7, MCLS = 13 };

typedef struct bmodel {
    float wc[MF * MC_ * 9], bc[MF], wd[MCLS * MF * MH * MW], bd[MCLS];
} bmodel;

static fcn_model *b_load(const bmodel *d, fcn_precision prec, fcn_gemm gemm)
{
    const int64_t wdims[4] = {MF, MC_, 3, 3}, bdims[1] = {MF},
                  ddims[2] = {MCLS, MF * MH * MW}, dbd[1] = {MCLS};
    int s[2] = {1, 1}, p[4] = {1, 1, 1, 1}, dl[2] = {1, 1}, g = 1;
    tmodel *tm = tm_new(MC_, MH, MW);
    tlayer t;
    tl_init(&t, "Conv");
    tl_ints(&t, "stride", 2, s);
    tl_ints(&t, "pad", 4, p);
    tl_ints(&t, "dilation", 2, dl);
    tl_ints(&t, "groups", 1, &g);
    tl_weight(&t, "weight", 4, wdims, d->wc);
    tl_weight(&t, "bias", 1, bdims, d->bc);
    tm_layer(tm, "Conv", "conv", "input", "c", &t);
    tl_init(&t, "Flatten");
    tm_layer(tm, "Flatten", "flat", "c", "f", &t);
    tl_init(&t, "Dense");
    tl_weight(&t, "weight", 2, ddims, d->wd);
    tl_weight(&t, "bias", 1, dbd, d->bd);
    tm_layer(tm, "Dense", "fc", "f", "out", &t);
    size_t n;
    unsigned char *b = tm_finish(tm, &n);
    fcn_options opt = {0};
    opt.precision = prec;
    opt.gemm = gemm;
    fcn_model *m = NULL;
    fcn_status st = fcn_model_load_memory(b, n, &opt, &m);
    free(b);
    if (st != FCN_OK)
        return NULL;
    return m;
}

/* The naive forward of an H x W input, GEMM inputs rounded to bf16 (rnd)
** or not; z: the conv output, and its tolerance dz. Checks fcn's map. */
static void b_check(const bmodel *d, const fcn_model *m, int H, int W)
{
    float *in = malloc(sizeof(float) * MC_ * H * W);
    double *z = malloc(sizeof(double) * MF * H * W),
           *dz = malloc(sizeof(double) * MF * H * W);
    fill(in, (int64_t)MC_ * H * W, -1.0f, 1.0f);
    for (int f = 0; f < MF; f++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                double s = 0, sa = 0;
                for (int c = 0; c < MC_; c++)
                    for (int i = 0; i < 9; i++) {
                        int iy = y + i / 3 - 1, ix = x + i % 3 - 1;
                        if (iy < 0 || ix < 0 || iy >= H || ix >= W)
                            continue;
                        double p = (double)rbf(d->wc[(f * MC_ + c) * 9 + i]) *
                                   rbf(in[((int64_t)c * H + iy) * W + ix]);
                        s += p;
                        sa += fabs(p);
                    }
                z[((int64_t)f * H + y) * W + x] = s + d->bc[f];
                dz[((int64_t)f * H + y) * W + x] =
                    (MC_ * 9 + 2) * ldexp(1.0, -24) * sa +
                    ldexp(fabs(s + d->bc[f]), -24);
            }
    int classes = 0, oh = 0, ow = 0;
    float *out = t_run_model(m, in, H, W, &classes, &oh, &ow);
    CHECK(out && classes == MCLS && oh == H - MH + 1 && ow == W - MW + 1,
          "bf16 model %dx%d: map %dx%dx%d", W, H, classes, oh, ow);
    int bad = 0, rounded = 0;
    for (int k = 0; out && k < MCLS; k++)
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                double s = d->bd[k], sa = 0, sw = 0, sf = d->bd[k], tf = 0;
                for (int f = 0; f < MF; f++)
                    for (int y = 0; y < MH; y++)
                        for (int x = 0; x < MW; x++) {
                            int64_t zi = ((int64_t)f * H + i + y) * W + j + x;
                            double w = rbf(d->wd[((int64_t)(k * MF + f) * MH +
                                                  y) * MW + x]);
                            double zr = rbf((float)z[zi]);
                            s += w * zr;
                            sa += fabs(w * zr);
                            sw += fabs(w) * (ldexp(fabs(z[zi]), -8) + dz[zi]);
                            sf += (double)d->wd[((int64_t)(k * MF + f) * MH +
                                                 y) * MW + x] * z[zi];
                            tf += fabs(w * zr);
                        }
                const double got = out[((int64_t)k * oh + i) * ow + j];
                const double tol = (MF * MH * MW + 2) * ldexp(1.0, -24) * sa +
                                   sw + ldexp(fabs(s), -23);
                if (!(fabs(got - s) <= tol) && bad++ < 3)
                    CHECK(0, "bf16 model %dx%d class %d cell (%d,%d): %g, "
                          "expected %g (tol %g)", W, H, k, i, j, got, s, tol);
                /* the fp32 answer is further off than fp32 rounding: bf16
                ** did run */
                rounded += fabs(got - sf) > 1e-5 * tf;
            }
    CHECK(out && !bad, "bf16 model %dx%d: %d scores out of tolerance", W, H,
          bad);
    CHECK(out && rounded > 0, "bf16 model %dx%d: scores match fp32 (was it "
          "rounded?)", W, H);
    /* the same bits whatever the tiling */
    for (int tile = 1; out && tile <= 3; tile++) {
        fcn_session_options so = {.threads = 1 + tile % 3, .tile = tile};
        fcn_session *s = NULL;
        fcn_scores sc;
        fcn_status st = fcn_session_create(m, H, W, &so, &s);
        if (!st)
            st = fcn_session_run(s, in, &sc);
        CHECK(!st && !memcmp(sc.data, out, sizeof(float) * MCLS * oh * ow),
              "bf16 model %dx%d: tile %d, %d threads: not the untiled bits",
              W, H, tile, 1 + tile % 3);
        fcn_session_free(s);
    }
    /* and in regions, each from its input window alone */
    for (int g = 0; out && g < 6; g++) {
        fcn_region r = {irand(0, oh - 1), irand(0, ow - 1), 0, 0};
        r.height = irand(1, oh - r.row);
        r.width = irand(1, ow - r.col);
        fcn_session_options so = {.threads = 1 + g % 3};
        fcn_session *s = NULL;
        fcn_scores sc;
        fcn_status st = fcn_session_create_region(m, H, W, &r, &so, &s);
        int y0 = 0, x0 = 0, h = 0, w = 0, differ = 0;
        if (!st)
            fcn_session_input_window(s, &y0, &x0, &h, &w);
        float *win = malloc(sizeof(float) * MC_ * (h ? h : 1) * (w ? w : 1));
        for (int c = 0; c < MC_; c++)
            for (int y = 0; y < h; y++)
                memcpy(win + ((int64_t)c * h + y) * w,
                       in + ((int64_t)c * H + y0 + y) * W + x0,
                       sizeof(float) * w);
        if (!st)
            st = fcn_session_run(s, win, &sc);
        for (int k = 0; !st && k < MCLS; k++)
            for (int i = 0; i < r.height; i++)
                differ += memcmp(sc.data + ((int64_t)k * r.height + i) *
                                               r.width,
                                 out + ((int64_t)k * oh + r.row + i) * ow +
                                     r.col,
                                 sizeof(float) * r.width) != 0;
        CHECK(!st && !differ, "bf16 model %dx%d: region %d,%d %dx%d: %s",
              W, H, r.row, r.col, r.height, r.width,
              st ? fcn_last_error() : "not the whole map's bits");
        free(win);
        fcn_session_free(s);
    }
    free(out);
    free(in);
    free(z);
    free(dz);
}

void test_bf16(void)
{
    test_round();
    bmodel *d = malloc(sizeof *d);
    fill(d->wc, MF * MC_ * 9, -0.5f, 0.5f);
    fill(d->bc, MF, -0.1f, 0.1f);
    fill(d->wd, MCLS * MF * MH * MW, -0.1f, 0.1f);
    fill(d->bd, MCLS, -0.1f, 0.1f);
    if (!gemm_bf16_supported()) {
        printf("bf16: SKIPPED, this CPU has no AVX512_BF16 (only the "
               "rounding and the load's refusal are checked)\n");
        fcn_model *m = b_load(d, FCN_PRECISION_BF16, FCN_GEMM_AUTO);
        CHECK(!m && strstr(fcn_last_error(), "AVX512_BF16"),
              "bf16 load without AVX512_BF16: %s", fcn_last_error());
        fcn_model_free(m);
        free(d);
        return;
    }
    /* the kernel bf16 loads with, whatever FCN_ISA says */
    int nv;
    const gemm_isa *const *v = gemm_isa_variants(&nv);
    const gemm_isa *was = gemm_isa_get();
    for (int i = 0; i < nv; i++)
        if (!strcmp(v[i]->id, "avx512"))
            gemm_isa_set(v[i]);
    static const int shapes[][3] = {{1, 1, 1}, {6, 2, 16}, {13, 255, 33},
                                    {12, 256, 32}, {25, 257, 47},
                                    {64, 600, 100}, {130, 77, 5},
                                    {7, 513, 1}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        gemm_case(shapes[i][0], shapes[i][1], shapes[i][2]);
    for (int i = 0; i < 12; i++)
        gemm_case(irand(1, 40), irand(1, 700), irand(1, 70));
    fcn_model *m = b_load(d, FCN_PRECISION_BF16, FCN_GEMM_AUTO);
    CHECK(m != NULL, "bf16 model load: %s", fcn_last_error());
    if (m) {
        b_check(d, m, MH, MW);          /* the head as a GEMV */
        b_check(d, m, MH + 9, MW + 12); /* the head as a GEMM */
    }
    fcn_model_free(m);
    fcn_model *mb = b_load(d, FCN_PRECISION_BF16, FCN_GEMM_BLAS);
    CHECK(!mb && strstr(fcn_last_error(), "AVX-512"),
          "bf16 load with FCN_GEMM_BLAS: %s", mb ? "loaded" : fcn_last_error());
    fcn_model_free(mb);
    /* FCN_ISA=avx2 */
    for (int i = 0; i < nv; i++)
        if (!strcmp(v[i]->id, "avx2") && v[i]->supported()) {
            gemm_isa_set(v[i]);
            fcn_model *ma = b_load(d, FCN_PRECISION_BF16, FCN_GEMM_AUTO);
            CHECK(!ma && strstr(fcn_last_error(), "avx2"),
                  "bf16 load on the avx2 kernel: %s",
                  ma ? "loaded" : fcn_last_error());
            fcn_model_free(ma);
        }
    gemm_isa_set(was);
    fcn_options bad = {0};
    bad.precision = (fcn_precision)7;
    fcn_model *mx = NULL;
    CHECK(fcn_model_load_memory("x", 1, &bad, &mx) == FCN_ERR_ARG && !mx,
          "precision 7 refused with FCN_ERR_ARG");
    free(d);
}
