/*
** ceiling.h: what this machine can do at best, for fcn-bench's tables:
** the fp32 FMA peak (independent FMA chains on every thread, in ymm and in
** zmm where the CPU has them) and bare OpenBLAS SGEMM of a given shape.
*/
#ifndef FCN_BENCH_CEILING_H
#define FCN_BENCH_CEILING_H

#include <stddef.h>

/* GFLOP/s of fp32 FMA on `threads` threads in vectors of `bits` (256:
** AVX2 ymm, 512: AVX-512 zmm); 0 where the CPU has none. */
double ceiling_fma_width(int threads, int bits);
/* GFLOP/s of OpenBLAS SGEMM, C (M x N) = A (M x K) B (K x N), G times (the
** groups of a grouped conv), on `threads` threads; N above 32768 is capped
** (the throughput per column is what is compared). Measurements are
** cached by shape. 0 if the matrices cannot be allocated, or OpenBLAS
** cannot be opened (then ceiling_sgemm_error says why). */
double ceiling_sgemm(long M, long N, long K, long G, int threads);
/* Why OpenBLAS could not be opened (one line), NULL if it was or has not
** been tried. */
const char *ceiling_sgemm_error(void);
/* The logical cores OpenMP sees. */
int ceiling_cores(void);
/* The CPU's model name from /proc/cpuinfo. */
void ceiling_cpu_name(char *buf, size_t n);

#endif
