/*
** blas.c: OpenBLAS calls.
*/
#include <cblas.h>
#include <stdio.h>

#include "kernels/blas.h"

/* Not declared by every cblas.h; both exist in OpenBLAS. */
extern char *openblas_get_config(void);
extern int openblas_get_parallel(void);

void blas_sgemm(int M, int N, int K, const float *A, int lda, const float *B,
                int ldb, float *C, int ldc)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A,
                lda, B, ldb, 0.0f, C, ldc);
}

void blas_sgemv(int M, int K, const float *A, int lda, const float *x,
                int incx, float *y, int incy)
{
    cblas_sgemv(CblasRowMajor, CblasNoTrans, M, K, 1.0f, A, lda, x, incx,
                0.0f, y, incy);
}

const char *blas_info(void)
{
    static _Thread_local char buf[256];
    int par = openblas_get_parallel();
    snprintf(buf, sizeof buf, "%s (%s)", openblas_get_config(),
             par == 2 ? "OpenMP" : par == 1 ? "pthreads" : "sequential");
    return buf;
}
