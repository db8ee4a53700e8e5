/*
** par.c: the library's only OpenMP parallel region (par_run), a barrier,
** static shares, and a dynamic loop counter.
**
** Dynamic loops share one 64-bit counter per team: the high half holds the
** loop's sequence number, the low half the next item. Every thread enters
** the same dynamic loops in the same order, so a thread's own count of
** loops entered names the loop. The first thread to reach loop L finds an
** older sequence number and restarts the counter at (L, 1), taking item 0;
** a thread that finds a newer number knows the loop is over (a thread
** leaves loop L only once every item has been taken). No reset between
** loops, and no barrier is needed around them.
*/
#include <omp.h>

#include "par.h"

struct par_team {
    _Alignas(64) _Atomic uint64_t counter;
};

void par_run(int threads, void (*fn)(void *ctx, par *p), void *ctx)
{
    par_team team;
    atomic_init(&team.counter, 0);
    #pragma omp parallel num_threads(threads)
    {
        /* BLAS called from here runs on the calling thread alone: the
        ** OpenMP build of OpenBLAS sizes its own team from this thread's
        ** nthreads-var where the region is not active (one thread) */
        omp_set_num_threads(1);
        par p = {omp_get_thread_num(), omp_get_num_threads(), &team, 0};
        fn(ctx, &p);
    }
}

void par_range(const par *p, int64_t n, int64_t *lo, int64_t *hi)
{
    int64_t chunk = (n + p->nth - 1) / p->nth;
    int64_t a = chunk * p->ith, b = a + chunk;
    *lo = a < n ? a : n;
    *hi = b < n ? b : n;
}

static int claim(par *p, int n)
{
    const uint64_t L = p->loop;
    uint64_t v = atomic_load_explicit(&p->team->counter, memory_order_relaxed);
    for (;;) {
        uint64_t seq = v >> 32, next = v & 0xffffffffu, want;
        int item;
        if (seq > L)
            return -1;        /* a later loop has begun: this one is done */
        if (seq < L) {        /* first here: start the loop */
            want = L << 32 | 1;
            item = 0;
        } else {
            if (next >= (uint64_t)n)
                return -1;
            want = v + 1;
            item = (int)next;
        }
        if (item >= n)
            return -1;
        if (atomic_compare_exchange_weak_explicit(&p->team->counter, &v, want,
                                                  memory_order_acq_rel,
                                                  memory_order_relaxed))
            return item;
    }
}

int par_first(par *p, int n)
{
    p->loop++;
    return claim(p, n);
}

int par_next(par *p, int n) { return claim(p, n); }

void par_barrier(const par *p)
{
    (void)p;
    #pragma omp barrier
}

int par_default_threads(void) { return omp_get_max_threads(); }

double par_time(void) { return omp_get_wtime(); }
