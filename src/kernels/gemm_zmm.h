/*
** gemm_zmm.h: what the two 12x32 zmm kernels share (gemm_avx512.c, fp32
** FMA; gemm_bf16.c, vdpbf16ps): the 24 accumulators, their stores, and
** the walk of a slice's tile over 12x32 blocks. Each includes it inside
** its AVX-512 target region, and defines
**   static void block(int kn, A a, int64_t as, int mr, B b, int64_t bs,
**                     float *c, int64_t ldc, int nr, int acc,
**                     const int two_a, const int two_b);
** kn steps of k (fp32: k; bf16: pairs of k), A and B its operand pointer
** types, as and bs the distance of the second A and B panel, in them.
*/
#ifndef FCN_KERNELS_GEMM_ZMM_H
#define FCN_KERNELS_GEMM_ZMM_H

/* c<r>_0, c<r>_1 for rows 0..11 of the block: zeros */
#define ZMM_ACC_DECL                                                       \
    __m512 z = _mm512_setzero_ps();                                        \
    __m512 c0_0 = z, c0_1 = z, c1_0 = z, c1_1 = z, c2_0 = z, c2_1 = z,     \
           c3_0 = z, c3_1 = z, c4_0 = z, c4_1 = z, c5_0 = z, c5_1 = z,     \
           c6_0 = z, c6_1 = z, c7_0 = z, c7_1 = z, c8_0 = z, c8_1 = z,     \
           c9_0 = z, c9_1 = z, c10_0 = z, c10_1 = z, c11_0 = z, c11_1 = z

#define ZMM_ROW_STORE(r)                                                   \
    if ((r) < mr) {                                                        \
        float *cr = c + (int64_t)(r) * ldc;                                \
        if (acc) {                                                         \
            c##r##_0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, cr),        \
                                     c##r##_0);                            \
            if (two_b)                                                     \
                c##r##_1 = _mm512_add_ps(                                  \
                    _mm512_maskz_loadu_ps(m1, cr + 16), c##r##_1);         \
        }                                                                  \
        _mm512_mask_storeu_ps(cr, m0, c##r##_0);                           \
        if (two_b)                                                         \
            _mm512_mask_storeu_ps(cr + 16, m1, c##r##_1);                  \
    }

/* C[mr x nr] (+)= the accumulators (acc: added to C), masked to nr */
#define ZMM_STORE_ALL                                                      \
    const int n0 = nr < 16 ? nr : 16, n1 = nr - 16;                        \
    const __mmask16 m0 = (__mmask16)((1u << n0) - 1),                      \
                    m1 = (__mmask16)(n1 <= 0 ? 0 : (1u << n1) - 1);        \
    ZMM_ROW_STORE(0) ZMM_ROW_STORE(1) ZMM_ROW_STORE(2) ZMM_ROW_STORE(3)    \
    ZMM_ROW_STORE(4) ZMM_ROW_STORE(5)                                      \
    if (two_a) {                                                           \
        ZMM_ROW_STORE(6) ZMM_ROW_STORE(7) ZMM_ROW_STORE(8)                 \
        ZMM_ROW_STORE(9) ZMM_ROW_STORE(10) ZMM_ROW_STORE(11)               \
    }

/* The tile of one slice (mc rows, nc columns) in blocks of 12 x 32, the
** tails with one A or one B panel: a, b the first panels, as the distance
** between A panels, pstride between B panels. */
#define ZMM_TILE(kn, a, as, mc, b, pstride, nc, c, ldc, acc)               \
    for (int j = 0; j < (nc); j += 2 * GEMM_NR) {                          \
        const int nr = (nc) - j < 2 * GEMM_NR ? (nc) - j : 2 * GEMM_NR;    \
        __typeof__(b) bj = (b) + (j / GEMM_NR) * (pstride);                \
        for (int m = 0; m < (mc); m += 2 * GEMM_MR) {                      \
            const int mr = (mc) - m < 2 * GEMM_MR ? (mc) - m : 2 * GEMM_MR;\
            __typeof__(a) am = (a) + (m / GEMM_MR) * (as);                 \
            float *cm = (c) + (int64_t)m * (ldc) + j;                      \
            if (mr > GEMM_MR && nr > GEMM_NR)                              \
                block(kn, am, as, mr, bj, pstride, cm, ldc, nr, acc, 1, 1);\
            else if (mr > GEMM_MR)                                         \
                block(kn, am, as, mr, bj, pstride, cm, ldc, nr, acc, 1, 0);\
            else if (nr > GEMM_NR)                                         \
                block(kn, am, as, mr, bj, pstride, cm, ldc, nr, acc, 0, 1);\
            else                                                           \
                block(kn, am, as, mr, bj, pstride, cm, ldc, nr, acc, 0, 0);\
        }                                                                  \
    }

#endif
