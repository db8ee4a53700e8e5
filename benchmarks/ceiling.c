/*
** ceiling.c: the FMA peak and bare SGEMM measurements of ceiling.h.
**
** OpenBLAS is opened on first use (dlopen), not linked: its library
** constructor takes a 128 MiB buffer per thread and, where the address
** space is not there (ulimit -v), retries forever, before main. As libfcn
** does (src/kernels/blas.c), the address space it takes is mapped and
** unmapped first; where it is not there, there is no SGEMM ceiling and
** ceiling_sgemm_error says why.
*/
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MAP_NORESERVE, RTLD_NOLOAD */
#include <cblas.h>
#include <dlfcn.h>
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ceiling.h"

#ifndef CEILING_OPENBLAS_PATH /* meson passes the OpenMP build's path */
#define CEILING_OPENBLAS_PATH "libopenblas.so.0"
#endif
#define MIB ((size_t)1 << 20)
/* Debian's OpenBLAS 0.3.21: the library and its dependencies, one buffer
** a thread with its alignment, at most 64 threads (src/kernels/blas.c) */
#define IMAGE_BYTES (48 * MIB)
#define BUFFER_BYTES (136 * MIB)

typedef __typeof__(cblas_sgemm) sgemm_fn;
static sgemm_fn *p_sgemm;
static int blas_tried, blas_called;
static char blas_error[256];

/* n bytes of address space can be mapped now (mapped and unmapped); else
** blas_error says so. */
static int room_for(size_t n, const char *what)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p != MAP_FAILED) {
        munmap(p, n);
        return 1;
    }
    snprintf(blas_error, sizeof blas_error, "OpenBLAS needs %zu MiB of "
             "address space %s, which this process cannot map (ulimit -v?)",
             n / MIB, what);
    return 0;
}

/* The threads OpenBLAS's constructor takes a buffer for: OMP_NUM_THREADS,
** else the CPUs online, at most 64. */
static long blas_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    const char *env = getenv("OMP_NUM_THREADS");
    long e = env ? strtol(env, NULL, 10) : 0;
    n = e > 0 && (e < n || n < 1) ? e : n;
    return n < 1 ? 1 : n > 64 ? 64 : n;
}

/* cblas_sgemm, OpenBLAS opened the first time; NULL (blas_error) if it
** cannot be. */
static sgemm_fn *blas_sgemm(void)
{
    if (blas_tried)
        return p_sgemm;
    blas_tried = 1;
    void *h = dlopen(CEILING_OPENBLAS_PATH, RTLD_NOW | RTLD_NOLOAD);
    /* its buffers, and the calling thread's (taken at the first call) */
    if (!h && !room_for(IMAGE_BYTES + (size_t)(blas_threads() + 1) *
                                          BUFFER_BYTES, "to load and run"))
        return NULL;
    if (!h)
        h = dlopen(CEILING_OPENBLAS_PATH, RTLD_NOW | RTLD_LOCAL);
    if (h)
        p_sgemm = (sgemm_fn *)dlsym(h, "cblas_sgemm");
    if (!p_sgemm)
        snprintf(blas_error, sizeof blas_error, "OpenBLAS could not be "
                 "loaded: %s", h ? "no cblas_sgemm" : dlerror());
    return p_sgemm;
}

const char *ceiling_sgemm_error(void)
{
    return blas_tried && !p_sgemm ? blas_error : NULL;
}

#define CHAINS 12
#define CACHE 512

__attribute__((target("avx512f"))) static double fma_loop512(long iters)
{
    __m512 a[CHAINS], b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < CHAINS; i++)
        a[i] = _mm512_set1_ps((float)i);
    for (long it = 0; it < iters; it++)
        for (int i = 0; i < CHAINS; i++)
            a[i] = _mm512_fmadd_ps(a[i], b, c);
    float s = 0;
    for (int i = 0; i < CHAINS; i++)
        s += _mm512_reduce_add_ps(a[i]);
    return s;
}

__attribute__((target("avx2,fma"))) static double fma_loop256(long iters)
{
    __m256 a[CHAINS], b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < CHAINS; i++)
        a[i] = _mm256_set1_ps((float)i);
    for (long it = 0; it < iters; it++)
        for (int i = 0; i < CHAINS; i++)
            a[i] = _mm256_fmadd_ps(a[i], b, c);
    float t[8], s = 0;
    for (int i = 0; i < CHAINS; i++) {
        _mm256_storeu_ps(t, a[i]);
        for (int k = 0; k < 8; k++)
            s += t[k];
    }
    return s;
}

double ceiling_fma_width(int threads, int bits)
{
    int ok = bits == 512 ? __builtin_cpu_supports("avx512f")
             : bits == 256 ? __builtin_cpu_supports("avx2") &&
                                 __builtin_cpu_supports("fma")
                           : 0;
    if (!ok)
        return 0;
    long iters = 20000000;
    int lanes = bits / 32;
    double best = 0, sink = 0;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = omp_get_wtime();
        #pragma omp parallel num_threads(threads) reduction(+ : sink)
        sink += bits == 512 ? fma_loop512(iters) : fma_loop256(iters);
        double t = omp_get_wtime() - t0;
        double g = 2.0 * CHAINS * lanes * (double)iters * threads / t / 1e9;
        if (g > best)
            best = g;
    }
    if (sink == 12345.0)  /* keep the loops */
        puts("");
    return best;
}

typedef struct measured {
    long m, n, k, groups;
    int threads;
    double gflops;
} measured;

static measured cache[CACHE];
static int n_cache;

double ceiling_sgemm(long M, long N, long K, long G, int threads)
{
    if (N > 32768)
        N = 32768;
    for (int i = 0; i < n_cache; i++)
        if (cache[i].m == M && cache[i].n == N && cache[i].k == K &&
            cache[i].groups == G && cache[i].threads == threads)
            return cache[i].gflops;
    sgemm_fn *sgemm = blas_sgemm();
    if (!sgemm)
        return 0;
    float *a = malloc(sizeof(float) * M * K * G), *b = malloc(sizeof(float) * K * N * G),
          *c = malloc(sizeof(float) * M * N * G);
    if (!a || !b || !c) {
        free(a);
        free(b);
        free(c);
        return 0;
    }
    for (long i = 0; i < M * K * G; i++)
        a[i] = (float)(i % 7) * 0.1f;
    for (long i = 0; i < K * N * G; i++)
        b[i] = (float)(i % 5) * 0.1f;
    /* the calling thread's buffer, once the matrices have their memory */
    if (!blas_called && !room_for(BUFFER_BYTES, "for the calling thread")) {
        p_sgemm = NULL;
        free(a);
        free(b);
        free(c);
        return 0;
    }
    blas_called = 1;
    /* the OpenMP build of OpenBLAS sizes its team from this ICV */
    int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    double best = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = omp_get_wtime();
        for (long g = 0; g < G; g++)
            sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M,
                        (int)N, (int)K, 1.0f, a + g * M * K, (int)K,
                        b + g * K * N, (int)N, 0.0f, c + g * M * N, (int)N);
        double t = omp_get_wtime() - t0;
        if (t < best)
            best = t;
    }
    omp_set_num_threads(saved);
    free(a);
    free(b);
    free(c);
    double gf = 2.0 * M * N * K * G / best / 1e9;
    if (n_cache < CACHE)
        cache[n_cache++] = (measured){M, N, K, G, threads, gf};
    return gf;
}

int ceiling_cores(void) { return omp_get_num_procs(); }

void ceiling_cpu_name(char *buf, size_t n)
{
    snprintf(buf, n, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10)) {
            char *p = strchr(line, ':');
            if (p) {
                p += 2;
                p[strcspn(p, "\n")] = 0;
                snprintf(buf, n, "%s", p);
            }
            break;
        }
    fclose(f);
}
