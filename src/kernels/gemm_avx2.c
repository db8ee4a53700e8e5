/*
** gemm_avx2.c: the AVX2/FMA kernels of gemm.h: a 6x16 register block
** (12 ymm accumulators), a 6x8 one for tail panels, the packed GEMV slice,
** and the Winograd transforms (winograd_tf.h) built for AVX2.
*/
#include <stddef.h>

#include "kernels/gemm.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>

#define FMA_ROW(r)                                                         \
    t = _mm256_broadcast_ss(a + r);                                        \
    c##r##0 = _mm256_fmadd_ps(t, b0, c##r##0);                             \
    c##r##1 = _mm256_fmadd_ps(t, b1, c##r##1);

#define STORE_ROW(r)                                                       \
    if (acc) {                                                             \
        c##r##0 = _mm256_add_ps(_mm256_loadu_ps(c + r * ldc), c##r##0);    \
        c##r##1 = _mm256_add_ps(_mm256_loadu_ps(c + r * ldc + 8), c##r##1);\
    }                                                                      \
    _mm256_storeu_ps(c + r * ldc, c##r##0);                                \
    _mm256_storeu_ps(c + r * ldc + 8, c##r##1);

#define SPILL_ROW(r)                                                       \
    _mm256_storeu_ps(tmp[r], c##r##0);                                     \
    _mm256_storeu_ps(tmp[r] + 8, c##r##1);

__attribute__((target("avx2,fma")))
static void kernel_6x16(int kc, const float *a, int mr, const float *b,
                        float *c, int64_t ldc, int nr, int acc)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00,
           c20 = c00, c21 = c00, c30 = c00, c31 = c00, c40 = c00, c41 = c00,
           c50 = c00, c51 = c00;
    for (int k = 0; k < kc; k++) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8), t;
        FMA_ROW(0) FMA_ROW(1) FMA_ROW(2) FMA_ROW(3) FMA_ROW(4) FMA_ROW(5)
        a += GEMM_MR;
        b += GEMM_NR;
    }
    if (mr == GEMM_MR && nr == GEMM_NR) {
        STORE_ROW(0) STORE_ROW(1) STORE_ROW(2) STORE_ROW(3) STORE_ROW(4)
        STORE_ROW(5)
        return;
    }
    float tmp[GEMM_MR][GEMM_NR];
    SPILL_ROW(0) SPILL_ROW(1) SPILL_ROW(2) SPILL_ROW(3) SPILL_ROW(4)
    SPILL_ROW(5)
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < nr; j++)
            c[r * ldc + j] = (acc ? c[r * ldc + j] : 0.0f) + tmp[r][j];
}

/* Half the FMAs: reads the first 8 floats of each 16-float row of B. */
#define FMA_ROW8(r)                                                        \
    t = _mm256_broadcast_ss(a + r);                                        \
    c##r##0 = _mm256_fmadd_ps(t, b0, c##r##0);

__attribute__((target("avx2,fma")))
static void kernel_6x8(int kc, const float *a, int mr, const float *b,
                       float *c, int64_t ldc, int nr, int acc)
{
    __m256 c00 = _mm256_setzero_ps(), c10 = c00, c20 = c00, c30 = c00,
           c40 = c00, c50 = c00;
    for (int k = 0; k < kc; k++) {
        __m256 b0 = _mm256_loadu_ps(b), t;
        FMA_ROW8(0) FMA_ROW8(1) FMA_ROW8(2) FMA_ROW8(3) FMA_ROW8(4)
        FMA_ROW8(5)
        a += GEMM_MR;
        b += GEMM_NR;
    }
    float tmp[GEMM_MR][8];
    _mm256_storeu_ps(tmp[0], c00);
    _mm256_storeu_ps(tmp[1], c10);
    _mm256_storeu_ps(tmp[2], c20);
    _mm256_storeu_ps(tmp[3], c30);
    _mm256_storeu_ps(tmp[4], c40);
    _mm256_storeu_ps(tmp[5], c50);
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < nr; j++)
            c[r * ldc + j] = (acc ? c[r * ldc + j] : 0.0f) + tmp[r][j];
}

/* The slice's panels of B outer, its panels of A inner: a panel of B
** (KC x 16 floats, 16 KB) stays in L1 while the kernel walks down A. */
static void tile(int kc, const float *a, int mc, const float *b,
                 int64_t pstride, int nc, float *c, int64_t ldc, int acc)
{
    for (int j = 0; j < nc; j += GEMM_NR) {
        const int nr = nc - j < GEMM_NR ? nc - j : GEMM_NR;
        const float *bj = b + (j / GEMM_NR) * pstride;
        for (int m = 0; m < mc; m += GEMM_MR) {
            const int mr = mc - m < GEMM_MR ? mc - m : GEMM_MR;
            (nr <= 8 ? kernel_6x8 : kernel_6x16)(
                kc, a + (int64_t)m * kc, mr, bj, c + (int64_t)m * ldc + j,
                ldc, nr, acc);
        }
    }
}

/* GEMV: 24 floats of A meet 24 of xe; lane j of the sums belongs to row
** j % 6. Sum of the 24 lanes that belong to row r (r, r+6, r+12, r+18): */
#define GV_ROW(acc, r) ((acc)[r] + (acc)[(r) + 6] + (acc)[(r) + 12] + \
                        (acc)[(r) + 18])

/* One panel's rows (n = kc*6 floats at p) against xe, into y. */
__attribute__((target("avx2,fma")))
static void gemv_one(const float *p, int rows, int n, const float *xe,
                     float *y, int64_t incy)
{
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0;
    int i = 0;
    for (; i + 24 <= n; i += 24) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(p + i), _mm256_loadu_ps(xe + i),
                             a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(p + i + 8),
                             _mm256_loadu_ps(xe + i + 8), a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(p + i + 16),
                             _mm256_loadu_ps(xe + i + 16), a2);
    }
    float acc[4 * GEMM_MR];
    _mm256_storeu_ps(acc, a0);
    _mm256_storeu_ps(acc + 8, a1);
    _mm256_storeu_ps(acc + 16, a2);
    for (int j = 0; i + j < n; j++)
        acc[j] += p[i + j] * xe[i + j];
    for (int r = 0; r < rows; r++)
        y[r * incy] += GV_ROW(acc, r);
}

/* The panels of one slice (M rows, n floats each): four panels at a time,
** from the four quarters of the slice, so that four streams of A are in
** flight and each load of xe serves four panels. */
__attribute__((target("avx2,fma")))
void gemv_slice_avx2(const float *p, int M, int n, const float *xe,
                     float *y, int64_t incy)
{
    const int np = (M + GEMM_MR - 1) / GEMM_MR, q = np / 4;
    for (int j = 0; j < q; j++) {
        const float *p0 = p + (int64_t)j * n, *p1 = p0 + (int64_t)q * n,
                    *p2 = p1 + (int64_t)q * n, *p3 = p2 + (int64_t)q * n;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, b0 = a0, b1 = a0,
               b2 = a0, c0 = a0, c1 = a0, c2 = a0, d0 = a0, d1 = a0, d2 = a0;
        int i = 0;
        for (; i + 24 <= n; i += 24) {
            __m256 x0 = _mm256_loadu_ps(xe + i), x1 = _mm256_loadu_ps(xe + i + 8),
                   x2 = _mm256_loadu_ps(xe + i + 16);
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(p0 + i), x0, a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(p0 + i + 8), x1, a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(p0 + i + 16), x2, a2);
            b0 = _mm256_fmadd_ps(_mm256_loadu_ps(p1 + i), x0, b0);
            b1 = _mm256_fmadd_ps(_mm256_loadu_ps(p1 + i + 8), x1, b1);
            b2 = _mm256_fmadd_ps(_mm256_loadu_ps(p1 + i + 16), x2, b2);
            c0 = _mm256_fmadd_ps(_mm256_loadu_ps(p2 + i), x0, c0);
            c1 = _mm256_fmadd_ps(_mm256_loadu_ps(p2 + i + 8), x1, c1);
            c2 = _mm256_fmadd_ps(_mm256_loadu_ps(p2 + i + 16), x2, c2);
            d0 = _mm256_fmadd_ps(_mm256_loadu_ps(p3 + i), x0, d0);
            d1 = _mm256_fmadd_ps(_mm256_loadu_ps(p3 + i + 8), x1, d1);
            d2 = _mm256_fmadd_ps(_mm256_loadu_ps(p3 + i + 16), x2, d2);
        }
        float acc[4][4 * GEMM_MR];
        _mm256_storeu_ps(acc[0], a0);
        _mm256_storeu_ps(acc[0] + 8, a1);
        _mm256_storeu_ps(acc[0] + 16, a2);
        _mm256_storeu_ps(acc[1], b0);
        _mm256_storeu_ps(acc[1] + 8, b1);
        _mm256_storeu_ps(acc[1] + 16, b2);
        _mm256_storeu_ps(acc[2], c0);
        _mm256_storeu_ps(acc[2] + 8, c1);
        _mm256_storeu_ps(acc[2] + 16, c2);
        _mm256_storeu_ps(acc[3], d0);
        _mm256_storeu_ps(acc[3] + 8, d1);
        _mm256_storeu_ps(acc[3] + 16, d2);
        const float *pp[4] = {p0, p1, p2, p3};
        for (int g = 0; g < 4; g++) {
            for (int t = 0; i + t < n; t++)
                acc[g][t] += pp[g][i + t] * xe[i + t];
            int m = (j + g * q) * GEMM_MR; /* the last panel may be short */
            for (int r = 0; r < GEMM_MR && m + r < M; r++)
                y[(m + r) * incy] += GV_ROW(acc[g], r);
        }
    }
    for (int j = 4 * q; j < np; j++) {  /* the last np % 4 panels */
        int m = j * GEMM_MR;
        gemv_one(p + (int64_t)j * n, M - m < GEMM_MR ? M - m : GEMM_MR, n, xe,
                 y + m * incy, incy);
    }
}

#ifdef __clang__  /* clang has no GCC target pragma */
#pragma clang attribute push(__attribute__((target("avx2,fma"))), \
                             apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
#define WTF_NAME(x) x##_avx2
#include "kernels/winograd_tf.h"
#ifdef __clang__
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

static int supported(void)
{
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

const gemm_isa gemm_isa_avx2 = {
    "avx2", "fcn AVX2/FMA 6x16 kernel, weights packed at load", supported,
    tile, gemv_slice_avx2, "gemm/avx2", "winograd/avx2", "gemv/avx2",
    wtf_input_avx2, wtf_output_avx2};

#else
static int supported(void) { return 0; }
const gemm_isa gemm_isa_avx2 = {"avx2", "none", supported, NULL, NULL, NULL,
                                NULL, NULL, NULL, NULL};
#endif
