/*
** gemm_bf16.c: the bf16 GEMM and GEMV of gemm_bf16.h.
**
** The GEMM is gemm.c's blocking (slices of GEMM_KC k, blocks of MC rows of
** A and NC panels of B) around a 12x32 register block, as the fp32
** AVX-512 kernel: 24 zmm accumulators, per pair of k two zmm of B (two
** panels: 16 columns x 2 k each) and 12 broadcasts of a row's pair of A,
** 24 vdpbf16ps (48 multiply-adds per lane pair: twice the fp32 kernel's
** work per instruction). Tails use the same code with one A or B panel
** and masked stores. The GEMV keeps one ymm per 6-row panel (a lane per
** row, the pair of x broadcast), four panels at a time, so each row is
** summed as the GEMM sums a column.
*/
#include <stddef.h>
#include <string.h>

#include "kernels/gemm.h"
#include "kernels/gemm_bf16.h"
#include "util/mem.h"

#define MC 120 /* rows of A per block: a multiple of GEMM_MR */
#define NC 16  /* panels of B per block */

const char gemm_bf16_name[] = "fcn AVX512_BF16 12x32 kernel (vdpbf16ps), "
                              "bf16 weights packed at load",
           gemm_bf16_path[] = "gemm/avx512bf16",
           gemv_bf16_path[] = "gemv/avx512bf16";

uint16_t gemm_bf16_round(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu))
        return (uint16_t)((u >> 16) | 0x0040u); /* NaN: quiet, sign kept */
    if ((u & 0x7f800000u) == 0)
        return (uint16_t)((u >> 16) & 0x8000u); /* zero, denormal: zero */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static int even(int K) { return K + (K & 1); }

int64_t gemm_bf16_packed_elems(int M, int K)
{
    return (int64_t)gemm_packed_rows(M) * even(K);
}

/* Where row m (a multiple of 6) of the slice at k0 (kc k) starts. */
static inline const uint16_t *slice(const uint16_t *ap, int Mp, int m,
                                    int k0, int kc)
{
    return ap + (int64_t)k0 * Mp + (int64_t)m * kc;
}

void gemm_bf16_pack(int M, int K, const float *A, uint16_t *ap, int release)
{
    const int Mp = gemm_packed_rows(M), Kp = even(K);
    for (int m0 = 0; m0 < Mp; m0 += GEMM_MR) {
        for (int k0 = 0; k0 < Kp; k0 += GEMM_KC) {
            const int kc = Kp - k0 < GEMM_KC ? Kp - k0 : GEMM_KC;
            uint16_t *p = (uint16_t *)slice(ap, Mp, m0, k0, kc);
            for (int r = 0; r < GEMM_MR; r++) {
                const float *row = A + (int64_t)(m0 + r) * K;
                for (int k = 0; k < kc; k++) {
                    const int kk = k0 + k;
                    p[(k >> 1) * 2 * GEMM_MR + 2 * r + (k & 1)] =
                        m0 + r < M && kk < K ? gemm_bf16_round(row[kk]) : 0;
                }
            }
        }
        if (release && m0 < M)
            mem_release_pages(A + (int64_t)m0 * K, sizeof(float) * (size_t)K *
                              (M - m0 < GEMM_MR ? M - m0 : GEMM_MR));
    }
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>

#include "kernels/gemm_zmm.h"

#ifdef __clang__
#pragma clang attribute push( \
    __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx512bf16," \
                          "fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,avx512bf16,fma")
#endif

/* 16 floats rounded to bf16 (vcvtneps2bf16: nearest even). */
static inline __m256i cvt16(__m512 v)
{
    return (__m256i)_mm512_cvtneps_pbh(v);
}

void gemm_bf16_convert(float *b, int K, int np)
{
    /* pair q of a panel: [k=2q col 0, k=2q+1 col 0, k=2q col 1, ...] */
    const __m512i idx = _mm512_set_epi16(
        31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7,
        22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    for (int j = 0; j < np; j++) {
        float *p = b + (int64_t)j * K * GEMM_NR;
        uint16_t *o = (uint16_t *)p;
        /* in place: pair q reads floats [32q, 32q+32) and writes bytes
        ** [64q, 64q+64), which lie below what is still to be read */
        for (int q = 0; 2 * q < K; q++) {
            __m512 r0 = _mm512_loadu_ps(p + 2 * q * GEMM_NR);
            __m512 r1 = 2 * q + 1 < K
                            ? _mm512_loadu_ps(p + (2 * q + 1) * GEMM_NR)
                            : _mm512_setzero_ps();
            __m512i both = _mm512_inserti64x4(
                _mm512_castsi256_si512(cvt16(r0)), cvt16(r1), 1);
            _mm512_storeu_si512(o + q * 32,
                                _mm512_permutexvar_epi16(idx, both));
        }
    }
}

#define ROW_DP(r, src)                                                     \
    t = (__m512bh)_mm512_set1_epi32((int)(src)[(r) % 6]);                  \
    c##r##_0 = _mm512_dpbf16_ps(c##r##_0, t, b0);                          \
    if (two_b)                                                             \
        c##r##_1 = _mm512_dpbf16_ps(c##r##_1, t, b1);

/* C[mr x nr] (+)= A B for one (6 or 12) x (16 or 32) block over kq pairs:
** a and a + as (dwords) the two A panels, b and b + bs (uint16) the two B
** panels; two_a, two_b constants at every call. */
static inline __attribute__((always_inline)) void
block(int kq, const uint32_t *a, int64_t as, int mr, const uint16_t *b,
      int64_t bs, float *c, int64_t ldc, int nr, int acc, const int two_a,
      const int two_b)
{
    ZMM_ACC_DECL;
    const uint32_t *a2 = a + as;
    for (int q = 0; q < kq; q++) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(b), b1 = b0, t;
        if (two_b)
            b1 = (__m512bh)_mm512_loadu_si512(b + bs);
        if (!(q & 1)) {
            _mm_prefetch((const char *)(a + 384), _MM_HINT_T0);
            if (two_a)
                _mm_prefetch((const char *)(a2 + 384), _MM_HINT_T0);
        }
        ROW_DP(0, a) ROW_DP(1, a) ROW_DP(2, a) ROW_DP(3, a) ROW_DP(4, a)
        ROW_DP(5, a)
        if (two_a) {
            ROW_DP(6, a2) ROW_DP(7, a2) ROW_DP(8, a2) ROW_DP(9, a2)
            ROW_DP(10, a2) ROW_DP(11, a2)
        }
        a += GEMM_MR;
        a2 += GEMM_MR;
        b += 2 * GEMM_NR;
    }
    ZMM_STORE_ALL
}

/* One slice (kc k, even) of mc rows by nc columns, as gemm_isa.tile. */
static void tile(int kc, const uint16_t *ap, int mc, const uint16_t *b,
                 int64_t pstride, int nc, float *c, int64_t ldc, int acc)
{
    const int kq = kc / 2;
    const int64_t as = (int64_t)GEMM_MR * kq; /* dwords per A panel */
    const uint32_t *a = (const uint32_t *)ap;
    ZMM_TILE(kq, a, as, mc, b, pstride, nc, c, ldc, acc);
}

void gemm_bf16_panels(const uint16_t *ap, int Mp, int m0, int M, int N,
                      int K, const uint16_t *b, float *c, int64_t ldc)
{
    const int Kp = even(K);
    const int64_t pstride = (int64_t)2 * K * GEMM_NR;
    for (int k0 = 0; k0 < Kp; k0 += GEMM_KC) {
        const int kc = Kp - k0 < GEMM_KC ? Kp - k0 : GEMM_KC;
        for (int n0 = 0; n0 < N; n0 += NC * GEMM_NR) {
            const int nc = N - n0 < NC * GEMM_NR ? N - n0 : NC * GEMM_NR;
            const uint16_t *bs = b + (n0 / GEMM_NR) * pstride +
                                 (int64_t)k0 * GEMM_NR;
            for (int b0 = 0; b0 < M; b0 += MC) {
                const int mc = M - b0 < MC ? M - b0 : MC;
                tile(kc, slice(ap, Mp, m0 + b0, k0, kc), mc, bs, pstride, nc,
                     c + b0 * ldc + n0, ldc, k0 > 0);
            }
        }
    }
}

/* y[m * incy] += rows m < M of one slice (kq pairs per panel) times the
** pairs of x: one ymm chain per panel from zero, four panels at once. */
static void gemv_slice(const uint32_t *a, int M, int kq, const uint32_t *xq,
                       float *y, int64_t incy)
{
    const int64_t as = (int64_t)GEMM_MR * kq;
    const __mmask8 six = 0x3f;
    for (int m = 0; m < M; m += 4 * GEMM_MR) {
        const uint32_t *a0 = a + (m / GEMM_MR) * as;
        const int np = (M - m + GEMM_MR - 1) / GEMM_MR;
        __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
        for (int q = 0; q < kq; q++) {
            const __m256bh x = (__m256bh)_mm256_set1_epi32((int)xq[q]);
            const uint32_t *p = a0 + q * GEMM_MR;
            s0 = _mm256_dpbf16_ps(
                s0, (__m256bh)_mm256_maskz_loadu_epi32(six, p), x);
            if (np > 1)
                s1 = _mm256_dpbf16_ps(
                    s1, (__m256bh)_mm256_maskz_loadu_epi32(six, p + as), x);
            if (np > 2)
                s2 = _mm256_dpbf16_ps(
                    s2, (__m256bh)_mm256_maskz_loadu_epi32(six, p + 2 * as),
                    x);
            if (np > 3)
                s3 = _mm256_dpbf16_ps(
                    s3, (__m256bh)_mm256_maskz_loadu_epi32(six, p + 3 * as),
                    x);
        }
        float out[4 * 8];
        _mm256_storeu_ps(out, s0);
        _mm256_storeu_ps(out + 8, s1);
        _mm256_storeu_ps(out + 16, s2);
        _mm256_storeu_ps(out + 24, s3);
        const int n = M - m < 4 * GEMM_MR ? M - m : 4 * GEMM_MR;
        for (int i = 0; i < n; i++)
            y[(m + i) * incy] += out[i / GEMM_MR * 8 + i % GEMM_MR];
    }
}

void gemv_bf16_panels(const uint16_t *ap, int Mp, int m0, int M, int K,
                      const float *x, int64_t incx, float *y, int64_t incy)
{
    const int Kp = even(K);
    float xs[GEMM_KC];
    uint32_t xq[GEMM_KC / 2];
    for (int m = 0; m < M; m++)
        y[m * incy] = 0.0f;
    for (int k0 = 0; k0 < Kp; k0 += GEMM_KC) {
        const int kc = Kp - k0 < GEMM_KC ? Kp - k0 : GEMM_KC;
        for (int k = 0; k < GEMM_KC; k++)
            xs[k] = k0 + k < K ? x[(int64_t)(k0 + k) * incx] : 0.0f;
        /* the GEMM's rounding (cvt16), 16 at a time */
        for (int k = 0; k < kc; k += 16)
            _mm256_storeu_si256((__m256i *)((uint16_t *)xq + k),
                                cvt16(_mm512_loadu_ps(xs + k)));
        gemv_slice((const uint32_t *)slice(ap, Mp, m0, k0, kc), M, kc / 2,
                   xq, y, incy);
    }
}

#ifdef __clang__
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

int gemm_bf16_supported(void)
{
    return __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512bf16");
}

#else
int gemm_bf16_supported(void) { return 0; }
void gemm_bf16_convert(float *b, int K, int np)
{
    (void)b, (void)K, (void)np;
}
void gemm_bf16_panels(const uint16_t *ap, int Mp, int m0, int M, int N,
                      int K, const uint16_t *b, float *c, int64_t ldc)
{
    (void)ap, (void)Mp, (void)m0, (void)M, (void)N, (void)K, (void)b;
    (void)c, (void)ldc;
}
void gemv_bf16_panels(const uint16_t *ap, int Mp, int m0, int M, int K,
                      const float *x, int64_t incx, float *y, int64_t incy)
{
    (void)ap, (void)Mp, (void)m0, (void)M, (void)K, (void)x, (void)incx;
    (void)y, (void)incy;
}
#endif
