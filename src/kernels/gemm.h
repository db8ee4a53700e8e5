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
** The micro-kernels are ISA-specific (gemm_avx2.c, gemm_avx512.c), chosen
** at run time from the table in gemm.c; both read the same packed layouts
** (the AVX-512 kernel two panels of each at once), so the weights are
** packed one way whichever runs, and each output is the same FMA sequence:
** the variants give bit-identical results. Where no variant runs on the
** CPU, the layers keep their row-major weights and run through OpenBLAS
** (kernels/blas.h).
*/
#ifndef FCN_KERNELS_GEMM_H
#define FCN_KERNELS_GEMM_H

#include <stdint.h>

#define GEMM_MR 6
#define GEMM_NR 16
#define GEMM_KC 256

/* The Winograd F(4x4, 3x3) transforms of 16 blocks (winograd_tf.h):
** o = B^T d B per block, and y = A^T m A + bias. */
typedef void wtf_input_fn(float d[36][GEMM_NR], float o[36][GEMM_NR]);
typedef void wtf_output_fn(float m[36][GEMM_NR], float bias,
                           float y[16][GEMM_NR]);

/* One ISA's kernels (gemm_<isa>.c). */
typedef struct gemm_isa {
    const char *id;     /* the name FCN_ISA selects it by: "avx2" */
    const char *name;   /* for fcn_gemm_info() */
    int (*supported)(void);
    /* C[mc x nc] (+)= A[mc x kc] B[kc x nc] (acc: add to C), for one slice:
    ** A from a, the slice's panels of 6 rows one after another (6*kc
    ** floats each); B from b, panels of 16 columns pstride floats apart.
    ** The ISA chooses its register blocking; each output is the FMA
    ** sequence over k = 0..kc-1 in order, added to C at the end (acc). */
    void (*tile)(int kc, const float *a, int mc, const float *b,
                 int64_t pstride, int nc, float *c, int64_t ldc, int acc);
    /* y[m * incy] += rows m < M of one packed slice (n = kc*6 floats per
    ** panel) times x (xe[6k] = x[k]), each row summed as tile sums a
    ** column: one FMA per k, in k order, from zero */
    void (*gemv_slice)(const float *p, int M, int n, const float *xe,
                       float *y, int64_t incy);
    /* for the layer stats: "gemm/<isa>", "winograd/<isa>", "gemv/<isa of
    ** gemv_slice's code>" */
    const char *gemm_path, *wino_path, *gemv_path;
    wtf_input_fn *wino_input;
    wtf_output_fn *wino_output;
} gemm_isa;

/* The AVX2 GEMV slice, shared by the AVX-512 variant (gemm_avx512.c). */
void gemv_slice_avx2(const float *p, int M, int n, const float *xe,
                     float *y, int64_t incy);

/* The variant this CPU runs, or NULL (then: OpenBLAS): the best the CPU
** supports, or the one the environment variable FCN_ISA names ("avx2",
** "avx512"; "blas" for none) where the CPU supports it. */
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
/* The same for one output pixel: y = A x, the same bits as column 0 of
** gemm_panels on a B whose column 0 is x. */
void gemv_panels(const float *Ap, int Mp, int m0, int M, int K,
                 const float *x, int64_t incx, float *y, int64_t incy);

#endif
