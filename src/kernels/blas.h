/*
** blas.h: the library's only calls into BLAS (OpenBLAS, OpenMP build,
** opened on first use: blas.c says why). Row-major, no transposes:
** C (M x N) = A (M x K) B (K x N). Called from inside the parallel region,
** where the OpenMP build of OpenBLAS runs on the calling thread alone.
*/
#ifndef FCN_KERNELS_BLAS_H
#define FCN_KERNELS_BLAS_H

#include "fcn.h"

/* Open OpenBLAS (once; later calls return the first answer): FCN_ERR_NOMEM
** where the address space its constructor allocates is not there (the
** constructor would hang), FCN_ERR_UNSUPPORTED where it cannot be found.
** Load calls it for a model whose convolutions run on BLAS. */
fcn_status blas_load(void);
/* Around a run whose `threads` threads call BLAS: FCN_ERR_NOMEM where the
** buffers OpenBLAS takes per calling thread cannot be mapped (it would
** hang inside the region); blas_leave after the run, where enter succeeded. */
fcn_status blas_enter(int threads);
void blas_leave(int threads);

void blas_sgemm(int M, int N, int K, const float *A, int lda, const float *B,
                int ldb, float *C, int ldc);
/* y[m * incy] = sum_k A[m][k] x[k * incx] */
void blas_sgemv(int M, int K, const float *A, int lda, const float *x,
                int incx, float *y, int incy);
/* e.g. "OpenBLAS 0.3.21 ... (OpenMP)"; "OpenBLAS not loaded (...)" where
** nothing has used it (it is not opened for this) or it could not be. */
const char *blas_info(void);

#endif
