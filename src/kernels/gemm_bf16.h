/*
** gemm_bf16.h: the bf16 GEMM and GEMV (fcn_options.precision
** FCN_PRECISION_BF16) on AVX512_BF16's vdpbf16ps: bf16 products, fp32
** accumulation.
**
** vdpbf16ps multiplies pairs of bf16 along K, so both operands are packed
** in pairs of k (K rounded up to even, Kp, with a zero k past K):
**   A (weights, packed once at load): the layout of gemm.h in slices of
**     GEMM_KC k and panels of GEMM_MR rows, where each k step is a pair:
**     row r of pair q of a panel at [q * 12 + 2r] (k = 2q) and [+1]
**     (k = 2q + 1); a slice of kc k at ap + k0 * Mp + m * kc.
**   B (im2col panels): converted in place from gemm.h's float panels
**     (gemm_bf16_convert): panel j at j * pstride uint16 (pstride = 2 * K *
**     GEMM_NR, the float panel's bytes), pair q of it at q * 32: column c
**     at [2c] (k = 2q) and [2c + 1].
** Values are rounded to nearest even (weights at load, activations when
** converted; a denormal or a bf16 denormal reads as zero, as the
** instruction does). Each output is one sequence of vdpbf16ps over the
** pairs in order, per slice from zero, added to C slice by slice: the
** GEMV gives the bits of the GEMM's column, and no tiling, row block or
** thread changes them.
*/
#ifndef FCN_KERNELS_GEMM_BF16_H
#define FCN_KERNELS_GEMM_BF16_H

#include <stdint.h>

/* Whether this CPU runs it (AVX-512 F/BW/VL/DQ and AVX512_BF16), and the
** names for the layer stats and fcn_gemm_info(). */
int gemm_bf16_supported(void);
extern const char gemm_bf16_name[], gemm_bf16_path[], gemv_bf16_path[];

/* x rounded to bf16 (nearest even; NaN stays NaN), as its bits. */
uint16_t gemm_bf16_round(float x);
/* uint16 elements of A packed: Mp x Kp. */
int64_t gemm_bf16_packed_elems(int M, int K);
/* Pack row-major A (M x K) rounded to bf16; release as gemm_pack. */
void gemm_bf16_pack(int M, int K, const float *A, uint16_t *ap, int release);
/* Convert np float panels of K rows (gemm.h: panel j at j * K * GEMM_NR)
** to the bf16 pair panels in place. */
void gemm_bf16_convert(float *b, int K, int np);
/* C (M x N, ldc) = rows [m0, m0+M) of packed A times converted B. */
void gemm_bf16_panels(const uint16_t *ap, int Mp, int m0, int M, int N,
                      int K, const uint16_t *b, float *c, int64_t ldc);
/* y = A x for one output pixel (x: floats, incx apart, rounded here), the
** same bits as column 0 of gemm_bf16_panels. */
void gemv_bf16_panels(const uint16_t *ap, int Mp, int m0, int M, int K,
                      const float *x, int64_t incx, float *y, int64_t incy);

#endif
