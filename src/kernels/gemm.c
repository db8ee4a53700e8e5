/*
** gemm.c: packing, blocking and the choice of micro-kernels (gemm.h).
**
** Blocking (Goto's scheme): K in slices of KC; per slice, blocks of NC
** panels of B (L2) and of MC rows of A (MC x KC, 120 KB, L2), each handed
** to the variant's tile(), which keeps its panel (AVX2: 16 KB) or pair of
** panels (AVX-512: 32 KB) of B in L1 while its kernel walks down the A
** block.
**
** Adding an ISA variant: a gemm_<isa>.c defining a gemm_isa, one line in
** `variants` below (best first), and its id in tests/meson.build's ops-<isa>
** list (docs/architecture.md, "Adding a kernel variant").
*/
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/gemm.h"
#include "util/mem.h"

#define MC 120 /* rows of A per block: a multiple of GEMM_MR */
#define NC 16  /* panels of B per block */

extern const gemm_isa gemm_isa_avx2, gemm_isa_avx512;

static const gemm_isa *const variants[] = {&gemm_isa_avx512, &gemm_isa_avx2};

static const gemm_isa *chosen;
static pthread_once_t chosen_once = PTHREAD_ONCE_INIT;

static void choose(void)
{
    /* FCN_ISA: a variant by name, where the CPU runs it (else the best) */
    const char *want = getenv("FCN_ISA");
    if (want && strcmp(want, "blas") == 0)
        return;
    for (size_t i = 0; want && i < sizeof variants / sizeof variants[0]; i++)
        if (strcmp(want, variants[i]->id) == 0 && variants[i]->supported()) {
            chosen = variants[i];
            return;
        }
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++)
        if (variants[i]->supported()) {
            chosen = variants[i];
            return;
        }
}

const gemm_isa *gemm_isa_get(void)
{
    pthread_once(&chosen_once, choose);
    return chosen;
}

const gemm_isa *const *gemm_isa_variants(int *n)
{
    *n = (int)(sizeof variants / sizeof variants[0]);
    return variants;
}

void gemm_isa_set(const gemm_isa *isa)
{
    pthread_once(&chosen_once, choose);
    chosen = isa;
}

int gemm_packed_rows(int M)
{
    return (M + GEMM_MR - 1) / GEMM_MR * GEMM_MR;
}

int64_t gemm_packed_floats(int M, int K)
{
    return (int64_t)gemm_packed_rows(M) * K;
}

/* Where row m (a multiple of 6) of slice k0 starts. */
static inline const float *slice(const float *Ap, int Mp, int m, int k0,
                                 int kc)
{
    return Ap + (int64_t)k0 * Mp + (int64_t)m * kc;
}

void gemm_pack(int M, int K, const float *A, float *Ap, int release)
{
    const int Mp = gemm_packed_rows(M);
    /* panel by panel, so that A is read once, in order, and (release) its
    ** pages can be dropped as soon as a panel is packed */
    for (int m0 = 0; m0 < Mp; m0 += GEMM_MR) {
        for (int k0 = 0; k0 < K; k0 += GEMM_KC) {
            int kc = K - k0 < GEMM_KC ? K - k0 : GEMM_KC;
            float *p = (float *)slice(Ap, Mp, m0, k0, kc);
            for (int r = 0; r < GEMM_MR; r++) {
                if (m0 + r >= M) { /* padding rows */
                    for (int k = 0; k < kc; k++)
                        p[k * GEMM_MR + r] = 0.0f;
                    continue;
                }
                const float *row = A + (int64_t)(m0 + r) * K + k0;
                for (int k = 0; k < kc; k++)
                    p[k * GEMM_MR + r] = row[k];
            }
        }
        if (release && m0 < M)
            mem_release_pages(A + (int64_t)m0 * K, sizeof(float) * (size_t)K *
                              (M - m0 < GEMM_MR ? M - m0 : GEMM_MR));
    }
}

void gemm_panels(const float *Ap, int Mp, int m0, int M, int N, int K,
                 const float *B, float *C, int64_t ldc)
{
    const gemm_isa *isa = gemm_isa_get();
    const int64_t pstride = (int64_t)K * GEMM_NR;
    for (int k0 = 0; k0 < K; k0 += GEMM_KC) {
        int kc = K - k0 < GEMM_KC ? K - k0 : GEMM_KC;
        for (int n0 = 0; n0 < N; n0 += NC * GEMM_NR) { /* B slice within L2 */
            int nc = N - n0 < NC * GEMM_NR ? N - n0 : NC * GEMM_NR;
            const float *b = B + (n0 / GEMM_NR) * pstride +
                             (int64_t)k0 * GEMM_NR;
            for (int b0 = 0; b0 < M; b0 += MC) {
                int mc = M - b0 < MC ? M - b0 : MC;
                isa->tile(kc, slice(Ap, Mp, m0 + b0, k0, kc), mc, b, pstride,
                          nc, C + b0 * ldc + n0, ldc, k0 > 0);
            }
        }
    }
}

/* y[m * incy] = sum_k A[m0 + m][k] x[k * incx] for m < M, A packed: one
** sequential pass over A, slice by slice. x is repeated 6 times per k (xe),
** to match A's layout. */
void gemv_panels(const float *Ap, int Mp, int m0, int M, int K,
                 const float *x, int64_t incx, float *y, int64_t incy)
{
    const gemm_isa *isa = gemm_isa_get();
    float xe[GEMM_KC * GEMM_MR];
    for (int m = 0; m < M; m++)
        y[m * incy] = 0.0f;
    for (int k0 = 0; k0 < K; k0 += GEMM_KC) {
        const int kc = K - k0 < GEMM_KC ? K - k0 : GEMM_KC, n = kc * GEMM_MR;
        for (int i = 0; i < n; i++)
            xe[i] = x[(int64_t)(k0 + i / GEMM_MR) * incx];
        isa->gemv_slice(slice(Ap, Mp, m0, k0, kc), M, n, xe, y, incy);
    }
}
