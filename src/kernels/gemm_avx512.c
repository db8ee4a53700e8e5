/*
** gemm_avx512.c: the AVX-512 micro-kernels of gemm.h.
**
** A 12x32 register block: 24 zmm accumulators, two zmm rows of B (two
** 16-column panels side by side) and one broadcast of A, 27 of the 32
** registers. It reads A as two consecutive 6-row panels of the packed
** slice and B as two consecutive panels: the packed layouts are the AVX2
** kernel's, so the weights are packed the same way for both, and each
** output is the same sequence of FMAs in k order: this kernel's results
** are bit-identical to the AVX2 kernel's. Per k, 24 FMAs need 14 loads
** (12 broadcasts, 2 rows of B); the B pair of one slice (KC x 32 floats,
** 32 KB) stays in L1 while the kernel walks down the rows of A.
** Tails (fewer than 12 rows, fewer than 32 columns) use the same code with
** one A panel or one B panel, and masked loads and stores.
**
** The GEMV is the AVX2 variant's (gemv_slice_avx2): it streams the
** weights from memory, as fast with ymm as zmm would, and sums each row
** as the GEMM kernels sum a column, so it gives their bits. The Winograd
** transforms are winograd_tf.h built for AVX-512 (16 blocks: one zmm).
*/
#include <stddef.h>

#include "kernels/gemm.h"

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>

#include "kernels/gemm_zmm.h"

#ifdef __clang__  /* clang has no GCC target pragma */
#pragma clang attribute push( \
    __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma"))), \
    apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,fma")
#endif

#define ROW_FMA(r, src)                                                    \
    t = _mm512_set1_ps((src)[(r) % 6]);                                    \
    c##r##_0 = _mm512_fmadd_ps(t, b0, c##r##_0);                           \
    if (two_b)                                                             \
        c##r##_1 = _mm512_fmadd_ps(t, b1, c##r##_1);

#ifndef PF
#define PF 384
#endif
#ifndef PFM
#define PFM 1
#endif
/* C[mr x nr] (+)= A B for one (6 or 12) x (16 or 32) block: a and a + as
** the two A panels, b and b + bs the two B panels. two_a, two_b are
** constants at every call. */
static inline __attribute__((always_inline)) void
block(int kc, const float *a, int64_t as, int mr, const float *b, int64_t bs,
      float *c, int64_t ldc, int nr, int acc, const int two_a, const int two_b)
{
    ZMM_ACC_DECL;
    const float *a2 = a + as;
    for (int k = 0; k < kc; k++) {
        __m512 b0 = _mm512_loadu_ps(b), b1 = z, t;
        if (two_b)
            b1 = _mm512_loadu_ps(b + bs);
        if (!(k & PFM)) {
            _mm_prefetch((const char *)(a + PF), _MM_HINT_T0);
            if (two_a)
                _mm_prefetch((const char *)(a2 + PF), _MM_HINT_T0);
        }
        ROW_FMA(0, a) ROW_FMA(1, a) ROW_FMA(2, a) ROW_FMA(3, a)
        ROW_FMA(4, a) ROW_FMA(5, a)
        if (two_a) {
            ROW_FMA(6, a2) ROW_FMA(7, a2) ROW_FMA(8, a2) ROW_FMA(9, a2)
            ROW_FMA(10, a2) ROW_FMA(11, a2)
        }
        a += GEMM_MR;
        a2 += GEMM_MR;
        b += GEMM_NR;
    }
    ZMM_STORE_ALL
}

static void tile(int kc, const float *a, int mc, const float *b,
                 int64_t pstride, int nc, float *c, int64_t ldc, int acc)
{
    const int64_t as = (int64_t)GEMM_MR * kc;
    ZMM_TILE(kc, a, as, mc, b, pstride, nc, c, ldc, acc);
}

#define WTF_NAME(x) x##_avx512
#include "kernels/winograd_tf.h"

#ifdef __clang__
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

static int supported(void)
{
    return __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq");
}

const gemm_isa gemm_isa_avx512 = {
    "avx512", "fcn AVX-512 12x32 kernel, weights packed at load", supported,
    tile, gemv_slice_avx2, "gemm/avx512", "winograd/avx512",
    "gemv/avx2", wtf_input_avx512, wtf_output_avx512};

#else
static int supported(void) { return 0; }
const gemm_isa gemm_isa_avx512 = {"avx512", "none", supported, NULL, NULL,
                                  NULL, NULL, NULL, NULL, NULL};
#endif
