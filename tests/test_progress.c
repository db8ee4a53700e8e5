/*
** test_progress: fcn_session_options.progress (include/fcn.h). On the
** bundled model, with forced tiles and with none, and with 1 and 2
** threads: the callback is called once per tile (the count
** fcn_session_tiles reports), on the thread that called the run, with
** done counting 1, 2, ... up to total, total the same every time, and
** again from 1 on the next run; a session without a callback runs as
** before, and tiling with a callback gives the same map as without.
**
** usage: test_progress MODEL.bin
*/
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fcn.h"

typedef struct calls {
    int n, last_done, total, monotonic, off_thread;
    pthread_t caller;
} calls;

static void on_progress(void *ud, int done, int total)
{
    calls *c = ud;
    if (done != c->last_done + 1 || (c->n && total != c->total))
        c->monotonic = 0;
    if (!pthread_equal(pthread_self(), c->caller))
        c->off_thread = 1;
    c->n++;
    c->last_done = done;
    c->total = total;
}

static float *run_once(const fcn_model *m, const float *x, int h, int w,
                       fcn_session_options *so, int *tiles, size_t *n)
{
    fcn_session *s = NULL;
    fcn_scores sc;
    if (fcn_session_create(m, h, w, so, &s) != FCN_OK)
        return NULL;
    int th, tw;
    fcn_session_tiles(s, &th, &tw, tiles);
    float *out = NULL;
    if (fcn_session_run(s, x, &sc) == FCN_OK) {
        *n = (size_t)sc.classes * sc.out_h * sc.out_w;
        out = malloc(sizeof(float) * *n);
        memcpy(out, sc.data, sizeof(float) * *n);
    }
    fcn_session_free(s);
    return out;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_progress MODEL.bin\n");
        return 2;
    }
    fcn_model *m;
    if (fcn_model_load(argv[1], NULL, &m) != FCN_OK) {
        fprintf(stderr, "%s\n", fcn_last_error());
        return 1;
    }
    const int h = 120, w = 150;
    float *x = malloc(sizeof(float) * h * w);
    for (int i = 0; i < h * w; i++)
        x[i] = (float)((i * 2654435761u) % 1000) / 1000.0f;
    size_t n0 = 0;
    fcn_session_options plain = {1, 0, 0, NULL, NULL};
    int t0;
    float *want = run_once(m, x, h, w, &plain, &t0, &n0);
    CHECK(want && t0 == 1, "untiled run without a callback (%d tiles)", t0);
    for (int threads = 1; threads <= 2; threads++)
        for (int tile = 0; tile <= 4; tile += 2) {
            calls c = {0, 0, 0, 1, 0, pthread_self()};
            fcn_session_options so = {threads, 0, tile, on_progress, &c};
            int tiles = 0;
            size_t n = 0;
            float *got = run_once(m, x, h, w, &so, &tiles, &n);
            CHECK(got != NULL, "run: %s", fcn_last_error());
            CHECK(tile == 0 ? tiles == 1 : tiles > 4,
                  "tile %d: %d tiles", tile, tiles);
            CHECK(c.n == tiles, "tile %d, %d threads: %d calls for %d tiles",
                  tile, threads, c.n, tiles);
            CHECK(c.monotonic && c.last_done == c.total && c.total == tiles,
                  "tile %d, %d threads: done counts 1..total (last %d/%d)",
                  tile, threads, c.last_done, c.total);
            CHECK(!c.off_thread, "tile %d, %d threads: called on another "
                  "thread", tile, threads);
            double worst = 0;
            for (size_t i = 0; got && want && i < n && n == n0; i++)
                worst = fmax(worst, fabs(got[i] - want[i]));
            CHECK(got && n == n0 && worst < 1e-4,
                  "tile %d, %d threads: map differs by %g", tile, threads,
                  worst);
            free(got);
        }
    /* two runs of one session: the count starts again */
    calls c = {0, 0, 0, 1, 0, pthread_self()};
    fcn_session_options so = {2, 0, 3, on_progress, &c};
    fcn_session *s = NULL;
    fcn_scores sc;
    int th, tw, tiles = 0;
    if (fcn_session_create(m, h, w, &so, &s) == FCN_OK) {
        fcn_session_tiles(s, &th, &tw, &tiles);
        fcn_session_run(s, x, &sc);
        c.last_done = 0;
        fcn_session_run(s, x, &sc);
    }
    CHECK(s && c.n == 2 * tiles && c.monotonic && c.last_done == tiles,
          "second run: %d calls for 2 x %d tiles", c.n, tiles);
    fcn_session_free(s);
    free(want);
    free(x);
    fcn_model_free(m);
    return check_done();
}
