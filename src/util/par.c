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
**
** The barrier spins for a short while (SPIN_NS), then sleeps on a futex
** until the last thread arrives. A team whose threads all run arrives
** within microseconds and never sleeps; on a machine whose cores are busy
** with other work, a thread waiting for one that the scheduler has taken
** off its core gives the core away instead of spinning for the rest of
** its time slice at every barrier (OpenMP's own barrier, with libgomp's
** default spin count, can spin for milliseconds: ResNet-18 224 at 2
** threads beside two busy processes was 20x slower than alone).
*/
#define _DEFAULT_SOURCE /* syscall(), MAP_ANONYMOUS, MAP_NORESERVE */
#include <omp.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#else
#include <sched.h>
#endif

#include "par.h"

/* How long a thread at the barrier spins before it sleeps. Measured on the
** 2-core Zen 5 EPYC, ResNet-18 224 at 2 threads (benchmarks/busy.py):
** idle, 5 to 50 us are within the machine's noise (a futex wake-up costs
** a few microseconds, paid only where a wait outlasts the spin); beside
** two busy processes, 5-20 us gave 40-54 ms, 50 us 40-56 ms, 500 us 80
** ms, 5 ms (about libgomp's default spin) 392 ms. */
#define SPIN_NS 10000

struct par_team {
    _Alignas(64) _Atomic uint64_t counter;
    _Alignas(64) _Atomic uint32_t arrived;
    _Atomic uint32_t gen;      /* barriers completed */
    _Atomic uint32_t sleepers; /* threads asleep (or going to sleep) on gen */
};

void par_run(int threads, void (*fn)(void *ctx, par *p), void *ctx)
{
    par_team team;
    atomic_init(&team.counter, 0);
    atomic_init(&team.arrived, 0);
    atomic_init(&team.gen, 0);
    atomic_init(&team.sleepers, 0);
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

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Sleep while *w == v (or return at once where it no longer is). */
static void wait_on(_Atomic uint32_t *w, uint32_t v)
{
#if defined(__linux__)
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
#else
    (void)w;
    (void)v;
    sched_yield();
#endif
}

static void wake_all(_Atomic uint32_t *w)
{
#if defined(__linux__)
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL,
            NULL, 0);
#else
    (void)w;
#endif
}

void par_barrier(const par *p)
{
    par_team *t = p->team;
    if (p->nth == 1)
        return;
    const uint32_t g = atomic_load(&t->gen);
    if (atomic_fetch_add(&t->arrived, 1) + 1 == (uint32_t)p->nth) {
        /* the last one: no thread can arrive again before gen moves */
        atomic_store(&t->arrived, 0);
        atomic_fetch_add(&t->gen, 1);
        if (atomic_load(&t->sleepers))
            wake_all(&t->gen);
        return;
    }
    const int64_t until = now_ns() + SPIN_NS;
    for (int i = 1;; i++) {
        if (atomic_load_explicit(&t->gen, memory_order_acquire) != g)
            return;
        cpu_relax();
        if (i % 64 == 0 && now_ns() > until)
            break;
    }
    /* sleepers is raised before gen is read again, and the last thread
    ** moves gen before it reads sleepers (both sequentially consistent):
    ** either it sees this sleeper, or this sleeper sees the new gen */
    atomic_fetch_add(&t->sleepers, 1);
    while (atomic_load(&t->gen) == g)
        wait_on(&t->gen, g);
    atomic_fetch_sub(&t->sleepers, 1);
}

/* The stack libgomp gives a thread: OMP_STACKSIZE (GOMP_STACKSIZE), a
** number with an optional B, K, M or G (K by default), else the default
** of the threads library (glibc: RLIMIT_STACK, 8 MiB on Debian). */
static size_t stack_bytes(void)
{
    const char *env = getenv("OMP_STACKSIZE");
    if (!env)
        env = getenv("GOMP_STACKSIZE");
    char *end;
    unsigned long long v = env ? strtoull(env, &end, 10) : 0;
    if (v > 0) {
        while (*end == ' ')
            end++;
        int shift = *end == 'B' || *end == 'b'   ? 0
                    : *end == 'M' || *end == 'm' ? 20
                    : *end == 'G' || *end == 'g' ? 30
                                                 : 10;
        return v < (1ull << (40 - shift)) ? (size_t)(v << shift)
                                          : (size_t)1 << 40;
    }
    size_t n = 0;
    pthread_attr_t a;
    if (pthread_attr_init(&a) == 0) {
        pthread_attr_getstacksize(&a, &n);
        pthread_attr_destroy(&a);
    }
    return n ? n : (size_t)8 << 20;
}

size_t par_unmappable(int threads)
{
    /* the team this thread's pool has started (libgomp keeps one pool per
    ** thread that opens regions); inside an active region, a team of one */
    static _Thread_local int started = 1;
    if (threads <= started || omp_in_parallel())
        return 0;
    const size_t per = stack_bytes() + ((size_t)64 << 10), /* guard, TLS */
                 need = (size_t)(threads - started) * per;
    void *p = mmap(NULL, need, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return need;
    munmap(p, need);
    started = threads;
    return 0;
}

int par_default_threads(void) { return omp_get_max_threads(); }

double par_time(void) { return omp_get_wtime(); }
