/*
** blas.h: the library's only calls into BLAS (OpenBLAS, OpenMP build).
** Row-major, no transposes: C (M x N) = A (M x K) B (K x N). Called from
** inside the parallel region, where the OpenMP build of OpenBLAS runs on
** the calling thread alone.
*/
#ifndef FCN_KERNELS_BLAS_H
#define FCN_KERNELS_BLAS_H

void blas_sgemm(int M, int N, int K, const float *A, int lda, const float *B,
                int ldb, float *C, int ldc);
/* y[m * incy] = sum_k A[m][k] x[k * incx] */
void blas_sgemv(int M, int K, const float *A, int lda, const float *x,
                int incx, float *y, int incy);
/* e.g. "OpenBLAS 0.3.21 ... (OpenMP)" */
const char *blas_info(void);

#endif
