/*
** gemm.h: C = A B for the convolutions: A the weights, packed once at load,
** B the im2col of a block of output pixels, in column panels.
**
** A (M x K) is packed by gemm_pack in slices of GEMM_KC columns; a slice
** holds panels of GEMM_MR rows one after another, each k-major (row r of k
** at [k*6 + r]; rows past M zero): the block of A one pass of the kernel
** reads is one contiguous run of memory. It replaces the row-major weights
** on this path, so it costs no memory beyond them. B is written by
** im2col_panels (kernels/im2col.c) straight into the layout the kernel
** reads: panels of GEMM_NR columns, each K rows of 16 contiguous floats
** (columns past N zero). C is row-major, ldc apart, overwritten.
**
** The micro-kernels are ISA-specific (gemm_avx2.c), chosen at run time
** from the table in gemm.c; where no variant runs on the CPU, the layers
** keep their row-major weights and run through OpenBLAS (kernels/blas.h).
*/
#ifndef FCN_KERNELS_GEMM_H
#define FCN_KERNELS_GEMM_H

#include <stdint.h>

#define GEMM_MR 6
#define GEMM_NR 16
#define GEMM_KC 256

/* One ISA's micro-kernels (gemm_<isa>.c). */
typedef struct gemm_isa {
    const char *name;   /* for fcn_gemm_info() */
    int (*supported)(void);
    /* C[mr x nr] (+)= A[6 x kc] B[kc x 16], A and B packed (acc: add to
    ** C); rows past mr and columns past nr are computed and dropped */
    void (*kernel)(int kc, const float *a, int mr, const float *b, float *c,
                   int64_t ldc, int nr, int acc);
    /* the same for panels of at most 8 columns (the tail of N) */
    void (*kernel8)(int kc, const float *a, int mr, const float *b,
                    float *c, int64_t ldc, int nr, int acc);
    /* y[m * incy] += rows m < M of one packed slice (n = kc*6 floats per
    ** panel) times xe, x repeated 6 times per k */
    void (*gemv_slice)(const float *p, int M, int n, const float *xe,
                       float *y, int64_t incy);
} gemm_isa;

/* The variant this CPU runs, or NULL (then: OpenBLAS). */
const gemm_isa *gemm_isa_get(void);
/* Every variant built in, best first (n of them), whether the CPU runs it
** or not; and the one to use from now on (tests and benchmarks run each
** supported one; not to be called while a run is in progress). */
const gemm_isa *const *gemm_isa_variants(int *n);
void gemm_isa_set(const gemm_isa *isa);
static inline int gemm_available(void) { return gemm_isa_get() != 0; }

/* Rows of A packed (Mp): M rounded up to GEMM_MR; floats: Mp x K. */
int gemm_packed_rows(int M);
int64_t gemm_packed_floats(int M, int K);
/* Pack row-major A (M x K). release: A lies in a read-only file mapping,
** whose pages are dropped (mem_release_pages) as they are packed. */
void gemm_pack(int M, int K, const float *A, float *Ap, int release);
/* C (M x N, ldc) = rows [m0, m0+M) of packed A (Mp rows; m0 a multiple of
** GEMM_MR) times B, B in panels: panel j (columns [16j, 16j+16)) at
** B + j*K*16, row k of it at + k*16 (zeros past N). Each output is one
** fixed sequence of FMAs in k order, whatever M, N or the caller's
** blocking: results do not depend on tiling or threads. */
void gemm_panels(const float *Ap, int Mp, int m0, int M, int N, int K,
                 const float *B, float *C, int64_t ldc);
/* The same for one output pixel: y = A x. */
void gemv_panels(const float *Ap, int Mp, int m0, int M, int K,
                 const float *x, int64_t incx, float *y, int64_t incy);

#endif
