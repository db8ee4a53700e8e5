/*
** test_par.c: the team primitives of src/util/par.h.
**   - the barrier holds every thread until the last one arrives, over many
**     rounds, and the dynamic loop hands out each item exactly once;
**   - a thread waiting at the barrier for one that is late (as on a busy
**     machine, where the scheduler has taken the other thread off its core)
**     gives its core away: its own CPU time while it waits stays far below
**     the wait. A barrier that spins for the whole wait (OpenMP's active
**     wait, which made runs beside busy processes 20x slower) burns CPU
**     time equal to the wait. This measures CPU time of one thread, not
**     wall time, so a busy machine does not make it flaky: a waiter that
**     sleeps uses next to none, whatever the load.
*/
#define _POSIX_C_SOURCE 200809L
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "util/par.h"

#define ROUNDS 2000
#define ITEMS 777
#define LATE_MS 60

typedef struct {
    _Atomic int phase[8];       /* rounds finished, per thread */
    int violations;             /* a thread saw another two rounds behind */
    _Atomic int taken[ITEMS];
    double waiter_cpu_ms[8];
    int nth;
} ctx_t;

static double thread_cpu_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void rounds(void *v, par *p)
{
    ctx_t *c = v;
    c->nth = p->nth;
    for (int r = 0; r < ROUNDS; r++) {
        atomic_store(&c->phase[p->ith], r + 1);
        par_barrier(p);
        /* after the barrier of round r, every thread has begun round r */
        for (int t = 0; t < p->nth; t++)
            if (atomic_load(&c->phase[t]) < r + 1)
                c->violations++;
        par_barrier(p);
    }
    for (int i = par_first(p, ITEMS); i >= 0; i = par_next(p, ITEMS))
        atomic_fetch_add(&c->taken[i], 1);
}

static void late(void *v, par *p)
{
    ctx_t *c = v;
    c->nth = p->nth;
    par_barrier(p);
    if (p->ith == p->nth - 1) {
        struct timespec d = {0, LATE_MS * 1000000L};
        nanosleep(&d, NULL);  /* the late thread: off its core */
    }
    double t0 = thread_cpu_ms();
    par_barrier(p);
    c->waiter_cpu_ms[p->ith] = thread_cpu_ms() - t0;
}

int main(void)
{
    static ctx_t c;
    par_run(2, rounds, &c);
    if (c.nth < 2) {
        /* OpenMP gave one thread (OMP_NUM_THREADS=1, or a limit): say so */
        printf("SKIPPED: the team has %d thread\n", c.nth);
    } else {
        CHECK(c.violations == 0, "barrier: %d times a thread passed it before "
              "another had arrived (%d rounds, %d threads)", c.violations,
              ROUNDS, c.nth);
        int once = 1;
        for (int i = 0; i < ITEMS; i++)
            once &= atomic_load(&c.taken[i]) == 1;
        CHECK(once, "dynamic loop: an item taken twice or never");

        memset(&c, 0, sizeof c);
        par_run(2, late, &c);
        /* the waiter may spin for its short spell, then must sleep: allow a
        ** third of the wait for scheduling noise and the futex calls */
        CHECK(c.waiter_cpu_ms[0] < LATE_MS / 3.0,
              "barrier: the thread waiting %d ms for a late one used %.1f ms "
              "of CPU (it spins instead of sleeping)", LATE_MS,
              c.waiter_cpu_ms[0]);
        printf("waiting %d ms at the barrier cost the waiter %.2f ms of CPU\n",
               LATE_MS, c.waiter_cpu_ms[0]);
    }
    return check_done();
}
