/*
** par.h: the one parallel region, and what a kernel sees of it.
**
** par_run() opens the library's only OpenMP parallel region; every thread
** of the team calls the same function with its own par. Kernels are
** written for (ith, nth), as ggml's are: each thread computes its share
** and knows nothing of OpenMP. Inside a kernel:
**   - par_range(p, n, &lo, &hi): this thread's contiguous share of n items
**     (static, like OpenMP's default schedule);
**   - for (int i = par_first(p, n); i >= 0; i = par_next(p, n)): items
**     handed out one at a time to whichever thread asks (dynamic); every
**     thread of the team must enter the loop, even one that gets nothing;
**   - par_barrier(p): every thread of the team waits for the others.
** Which thread computes which item never changes a result: each item is
** computed the same way whoever takes it, so results are bit-identical
** for any thread count.
*/
#ifndef FCN_UTIL_PAR_H
#define FCN_UTIL_PAR_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct par_team par_team;

typedef struct par {
    int ith, nth;        /* this thread, team size */
    par_team *team;
    uint32_t loop;       /* dynamic loops this thread has entered */
} par;

/* Run fn(ctx, p) on a team of up to threads threads (fewer when called
** from inside another parallel region: OpenMP then gives one). */
void par_run(int threads, void (*fn)(void *ctx, par *p), void *ctx);

void par_range(const par *p, int64_t n, int64_t *lo, int64_t *hi);
int par_first(par *p, int n);
int par_next(par *p, int n);
void par_barrier(const par *p);

/* 0 where a team of `threads` can start, else the bytes of thread stacks
** that cannot be mapped: libgomp exits the process where it cannot create
** a thread ("Thread creation failed", e.g. under ulimit -v), so a caller
** checks first. Only threads this calling thread's OpenMP pool has not
** started yet count (it keeps them); the check is a probe, not a
** reservation. */
size_t par_unmappable(int threads);

/* The thread count OpenMP would use by default (all cores). */
int par_default_threads(void);
/* Wall-clock seconds, for per-layer timings. */
double par_time(void);

#endif
