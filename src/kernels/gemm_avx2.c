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

/* GEMV, computing each output exactly as the GEMM kernels compute a
** column: per row, one FMA per k, in k order, from zero, so that a window
** of one pixel gives the bits the same pixel gets inside a larger window.
** A panel's 6 rows of one k are contiguous (p[6k + r]): one ymm holds them
** (lanes 6 and 7, the next k's first rows, are ignored; the last k's load
** is masked, so as not to read past the slice). Eight panels at a time:
** eight independent chains of FMAs hide the FMA latency while A streams
** from memory (12 or 16 panels, or prefetching, measured slower); k
** unrolled by two. */
#define GV_PANELS 8
__attribute__((target("avx2,fma"))) static inline
    __attribute__((always_inline)) void
    gemv_group(const float *p, int n, const int g, const float *xe,
               __m256 *acc)
{
    const int kc = n / GEMM_MR;
    const __m256i last = _mm256_setr_epi32(-1, -1, -1, -1, -1, -1, 0, 0);
    for (int i = 0; i < g; i++)
        acc[i] = _mm256_setzero_ps();
    int k = 0;
    for (; k + 2 < kc; k += 2) {
        const __m256 x0 = _mm256_broadcast_ss(xe + GEMM_MR * k),
                     x1 = _mm256_broadcast_ss(xe + GEMM_MR * (k + 1));
        for (int i = 0; i < g; i++)
            acc[i] = _mm256_fmadd_ps(
                _mm256_loadu_ps(p + (int64_t)i * n + GEMM_MR * k), x0, acc[i]);
        for (int i = 0; i < g; i++)
            acc[i] = _mm256_fmadd_ps(
                _mm256_loadu_ps(p + (int64_t)i * n + GEMM_MR * (k + 1)), x1,
                acc[i]);
    }
    for (; k < kc - 1; k++) {
        const __m256 x = _mm256_broadcast_ss(xe + GEMM_MR * k);
        for (int i = 0; i < g; i++)
            acc[i] = _mm256_fmadd_ps(
                _mm256_loadu_ps(p + (int64_t)i * n + GEMM_MR * k), x, acc[i]);
    }
    const __m256 x = _mm256_broadcast_ss(xe + GEMM_MR * k);
    for (int i = 0; i < g; i++)
        acc[i] = _mm256_fmadd_ps(
            _mm256_maskload_ps(p + (int64_t)i * n + GEMM_MR * k, last), x,
            acc[i]);
}

/* y[m * incy] += the rows m < M of one slice (panels of n = kc*6 floats)
** times x (xe[6k] = x[k]). */
__attribute__((target("avx2,fma")))
void gemv_slice_avx2(const float *p, int M, int n, const float *xe,
                     float *y, int64_t incy)
{
    const int np = (M + GEMM_MR - 1) / GEMM_MR;
    __m256 acc[GV_PANELS];
    float s[GV_PANELS][8];
    for (int j = 0; j < np;) {
        const int g = np - j >= GV_PANELS ? GV_PANELS : 1;
        if (g == GV_PANELS)
            gemv_group(p + (int64_t)j * n, n, GV_PANELS, xe, acc);
        else
            gemv_group(p + (int64_t)j * n, n, 1, xe, acc);
        for (int i = 0; i < g; i++) {
            _mm256_storeu_ps(s[i], acc[i]);
            const int m = (j + i) * GEMM_MR; /* the last panel may be short */
            for (int r = 0; r < GEMM_MR && m + r < M; r++)
                y[(m + r) * incy] += s[i][r];
        }
        j += g;
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
