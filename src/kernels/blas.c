/*
** blas.c: OpenBLAS calls, with OpenBLAS opened on first use (dlopen).
**
** libfcn does not link OpenBLAS: its library constructor allocates one
** buffer of 128 MiB per CPU, and when that allocation fails (ulimit -v,
** strict overcommit) blas_memory_alloc retries forever, so a program
** linked with it hangs before main. A model whose convolutions run on
** OpenBLAS opens it at load (blas_load), after checking that the address
** space its constructor takes is there; a run checks the same for the
** buffer each calling thread takes (blas_enter). Where it is not there,
** both fail with FCN_ERR_NOMEM instead of hanging.
**
** The figures are Debian's OpenBLAS 0.3.21 (x86-64, BUFFER_SIZE 128 MiB),
** measured from /proc/self/maps: the library and its dependencies map
** 39 MiB, the constructor takes a buffer per OpenBLAS thread (OMP_NUM_THREADS,
** else the CPUs), and each thread calling SGEMM at the same time takes one
** more, kept for reuse. A failed probe only refuses; it never allocates.
*/
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MAP_NORESERVE, RTLD_NOLOAD */
#include <cblas.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "kernels/blas.h"
#include "util/err.h"
#include "util/mem.h"

#ifndef FCN_OPENBLAS_PATH /* meson passes the OpenMP build's full path */
#define FCN_OPENBLAS_PATH "libopenblas.so.0"
#endif
#define SONAME "libopenblas.so.0"

#define MIB ((size_t)1 << 20)
#define IMAGE_BYTES (48 * MIB)   /* the library and its dependencies */
#define BUFFER_BYTES (136 * MIB) /* one buffer, with OpenBLAS's alignment */
#define MAX_BLAS_THREADS 64      /* Debian's MAX_THREADS: buffers at most */

/* The prototypes are cblas.h's; the symbols come from dlsym. */
typedef __typeof__(cblas_sgemm) sgemm_fn;
typedef __typeof__(cblas_sgemv) sgemv_fn;
typedef char *config_fn(void);
typedef int parallel_fn(void);
typedef void set_threads_fn(int);

static sgemm_fn *p_sgemm;
static sgemv_fn *p_sgemv;
static config_fn *p_config;
static parallel_fn *p_parallel;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_msg[512];              /* written before load_status */
static _Atomic fcn_status load_status; /* set once, under load_once */
static _Atomic int loaded;     /* 1 once load_once succeeded */

static pthread_mutex_t callers_lock = PTHREAD_MUTEX_INITIALIZER;
static int callers;       /* threads of runs now calling BLAS */
static int callers_ready; /* the most there have been: buffers OpenBLAS has */

/* The threads OpenBLAS's constructor sizes its buffers for: the first
** number of OMP_NUM_THREADS, else the CPUs online, at most its maximum. */
static int ctor_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    const char *env = getenv("OMP_NUM_THREADS");
    long e = env ? strtol(env, NULL, 10) : 0;
    if (e > 0 && (e < n || n < 1))
        n = e;
    if (n < 1)
        n = 1;
    return n > MAX_BLAS_THREADS ? MAX_BLAS_THREADS : (int)n;
}

static fcn_status fail(fcn_status st, const char *what, const char *why)
{
    snprintf(load_msg, sizeof load_msg, "%s%s", what, why ? why : "");
    return st;
}

static fcn_status open_blas(void)
{
    /* already in the process (a program linked with it, as fcn-bench):
    ** its constructor has run */
    void *h = dlopen(FCN_OPENBLAS_PATH, RTLD_NOW | RTLD_NOLOAD);
    if (!h) {
        const int n = ctor_threads();
        if (!mem_address_space_for(IMAGE_BYTES + (size_t)n * BUFFER_BYTES)) {
            snprintf(load_msg, sizeof load_msg,
                     "out of memory: OpenBLAS needs %zu MiB of address space "
                     "to load (a 128 MiB buffer for each of %d threads), "
                     "which this process cannot map (ulimit -v?)",
                     (IMAGE_BYTES + (size_t)n * BUFFER_BYTES) / MIB, n);
            return FCN_ERR_NOMEM;
        }
        h = dlopen(FCN_OPENBLAS_PATH, RTLD_NOW | RTLD_LOCAL);
    }
    int by_soname = 0;
    if (!h) {
        char first[256];
        snprintf(first, sizeof first, "%s", dlerror());
        h = dlopen(SONAME, RTLD_NOW | RTLD_LOCAL);
        if (!h)
            return fail(FCN_ERR_UNSUPPORTED, "OpenBLAS could not be loaded: ",
                        first);
        by_soname = 1;
    }
    p_sgemm = (sgemm_fn *)dlsym(h, "cblas_sgemm");
    p_sgemv = (sgemv_fn *)dlsym(h, "cblas_sgemv");
    if (!p_sgemm || !p_sgemv) {
        p_sgemm = NULL;
        p_sgemv = NULL;
        return fail(FCN_ERR_UNSUPPORTED, "OpenBLAS could not be loaded: no "
                    "cblas_sgemm/cblas_sgemv in ", FCN_OPENBLAS_PATH);
    }
    p_config = (config_fn *)dlsym(h, "openblas_get_config");
    p_parallel = (parallel_fn *)dlsym(h, "openblas_get_parallel");
    /* The OpenMP build runs on the calling thread inside fcn's region by
    ** itself; another flavour, found by its soname where the OpenMP one is
    ** missing, is told to use one thread (its own pool would oversubscribe
    ** the cores fcn's threads already use). */
    set_threads_fn *set = (set_threads_fn *)dlsym(h,
                                                  "openblas_set_num_threads");
    if (by_soname && set && (!p_parallel || p_parallel() != 2))
        set(1);
    return FCN_OK;
}

static void load(void)
{
    fcn_status st = open_blas();
    atomic_store(&load_status, st);
    if (!st)
        atomic_store(&loaded, 1);
}

fcn_status blas_load(void)
{
    pthread_once(&load_once, load);
    fcn_status st = atomic_load(&load_status);
    return st ? err_set(st, "%s", load_msg) : FCN_OK;
}

fcn_status blas_enter(int threads)
{
    fcn_status st = blas_load();
    if (st)
        return st;
    pthread_mutex_lock(&callers_lock);
    const int want = callers + threads, more = want - callers_ready;
    if (more > 0 && !mem_address_space_for((size_t)more * BUFFER_BYTES)) {
        pthread_mutex_unlock(&callers_lock);
        return err_set(FCN_ERR_NOMEM, "out of memory: OpenBLAS needs %zu MiB "
                       "more address space (a 128 MiB buffer per calling "
                       "thread, %d more), which this process cannot map "
                       "(ulimit -v?)",
                       (size_t)more * BUFFER_BYTES / MIB, more);
    }
    callers = want;
    if (want > callers_ready)
        callers_ready = want;
    pthread_mutex_unlock(&callers_lock);
    return FCN_OK;
}

void blas_leave(int threads)
{
    pthread_mutex_lock(&callers_lock);
    callers -= threads;
    pthread_mutex_unlock(&callers_lock);
}

/* Reached only where a caller skipped blas_load (it failed): the product
** done plainly, so that nothing calls through a NULL pointer. */
static void plain_gemm(int M, int N, int K, const float *A, int lda,
                       const float *B, int ldb, float *C, int ldc)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float s = 0;
            for (int k = 0; k < K; k++)
                s += A[(size_t)i * lda + k] * B[(size_t)k * ldb + j];
            C[(size_t)i * ldc + j] = s;
        }
}

void blas_sgemm(int M, int N, int K, const float *A, int lda, const float *B,
                int ldb, float *C, int ldc)
{
    pthread_once(&load_once, load);
    if (!p_sgemm) {
        plain_gemm(M, N, K, A, lda, B, ldb, C, ldc);
        return;
    }
    p_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, lda,
            B, ldb, 0.0f, C, ldc);
}

void blas_sgemv(int M, int K, const float *A, int lda, const float *x,
                int incx, float *y, int incy)
{
    pthread_once(&load_once, load);
    if (!p_sgemv) {
        for (int i = 0; i < M; i++) {
            float s = 0;
            for (int k = 0; k < K; k++)
                s += A[(size_t)i * lda + k] * x[(size_t)k * incx];
            y[(size_t)i * incy] = s;
        }
        return;
    }
    p_sgemv(CblasRowMajor, CblasNoTrans, M, K, 1.0f, A, lda, x, incx, 0.0f, y,
            incy);
}

const char *blas_info(void)
{
    static _Thread_local char buf[600];
    /* not opened for the question alone, unless already in the process */
    void *h;
    if (!atomic_load(&loaded) &&
        (h = dlopen(FCN_OPENBLAS_PATH, RTLD_NOW | RTLD_NOLOAD))) {
        dlclose(h);
        pthread_once(&load_once, load);
    }
    if (!atomic_load(&loaded)) {
        if (atomic_load(&load_status))
            snprintf(buf, sizeof buf, "OpenBLAS not loaded (%s)", load_msg);
        else
            snprintf(buf, sizeof buf, "OpenBLAS not loaded (unused)");
        return buf;
    }
    int par = p_parallel ? p_parallel() : -1;
    snprintf(buf, sizeof buf, "%s (%s)",
             p_config ? p_config() : "OpenBLAS",
             par == 2 ? "OpenMP" : par == 1 ? "pthreads"
                       : par == 0 ? "sequential" : "?");
    return buf;
}
