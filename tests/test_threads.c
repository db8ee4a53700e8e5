/*
** test_threads: what include/fcn.h says about threads, tried. K threads
** (pthreads) at once:
**   - load their own copies of the models, as the first thing the process
**     does (the lazy one-time set-ups, kernel choice and OpenBLAS, raced);
**   - share one loaded model each, every thread with its own sessions of
**     1 and 2 threads (an OpenMP team inside each pthread), of the same and
**     of different input sizes, each run several times;
**   - run their own detectors on the bundled model;
**   - keep their own fcn_last_error() while the others set theirs.
** Every score map must be bit-identical to the one a single-threaded run
** gave (fcn's results do not depend on the thread count).
**
** usage: test_threads MODELS_DIR FIXTURES_ONNX [MAX_TEAM]
** MAX_TEAM (default 2): the largest session thread count. 1 keeps OpenMP
** from starting any team, for ThreadSanitizer, which does not see
** libgomp's fork and join and reports every region as a race.
*/
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fcn_detect.h"

#define K 4       /* pthreads */
#define REPS 2    /* runs per session */

/* A model, the options it loads with, and the sizes its jobs run at. */
typedef struct model_case {
    const char *name;
    char path[1024];
    fcn_options opt;
    int c, sizes[K][2];  /* per thread: h, w (some equal, some not) */
    fcn_model *m;        /* the shared copy */
    float *want[K];      /* the single-threaded score map per size */
    size_t n[K];         /* its floats */
} model_case;

static model_case models[3];
static int n_models;
static int max_team = 2;

static float *make_input(int c, int h, int w, int seed)
{
    float *x = malloc(sizeof(float) * (size_t)c * h * w);
    for (size_t i = 0; i < (size_t)c * h * w; i++)
        x[i] = (float)(((i + (size_t)seed * 7919) * 2654435761u) % 1000) /
                   500.0f - 1.0f;
    return x;
}

/* The score map of m at h x w (input seeded by the size), with `threads`,
** into a malloc'd copy (NULL on failure, with the message in err). */
static float *score_map(const fcn_model *m, int c, int h, int w, int threads,
                        size_t *n, char *err, size_t err_size)
{
    fcn_session_options so = {.threads = threads, .mem_limit = 0, .tile = 0};
    fcn_session *s = NULL;
    fcn_scores sc;
    float *x = make_input(c, h, w, h * 1000 + w), *out = NULL;
    fcn_status st = fcn_session_create(m, h, w, &so, &s);
    if (!st)
        st = fcn_session_run(s, x, &sc);
    if (!st) {
        *n = (size_t)sc.classes * sc.out_h * sc.out_w;
        out = malloc(sizeof(float) * *n);
        memcpy(out, sc.data, sizeof(float) * *n);
    } else {
        snprintf(err, err_size, "%s", fcn_last_error());
    }
    fcn_session_free(s);
    free(x);
    return out;
}

static int same_map(const float *a, size_t na, const float *b, size_t nb)
{
    return a && b && na == nb && !memcmp(a, b, sizeof(float) * na);
}

/* ---- phase 1: concurrent loads, first thing in the process ---- */

static pthread_barrier_t start;

typedef struct load_job {
    int id;
    float *got[3];
    size_t n[3];
    char err[256];
} load_job;

static void *load_thread(void *arg)
{
    load_job *j = arg;
    pthread_barrier_wait(&start);
    for (int i = 0; i < n_models; i++) {
        model_case *mc = &models[i];
        fcn_model *m = NULL;
        if (fcn_model_load(mc->path, &mc->opt, &m)) {
            snprintf(j->err, sizeof j->err, "%s", fcn_last_error());
            continue;
        }
        j->got[i] = score_map(m, mc->c, mc->sizes[j->id][0],
                              mc->sizes[j->id][1], 1 + j->id % max_team,
                              &j->n[i],
                              j->err, sizeof j->err);
        fcn_model_free(m);
    }
    return NULL;
}

/* ---- phase 2: one model shared, sessions per thread ---- */

typedef struct run_job {
    int id;
    int bad_maps, runs;
    char err[256];
    int err_kept;       /* fcn_last_error stayed this thread's */
} run_job;

static void *run_thread(void *arg)
{
    run_job *j = arg;
    /* an error of this thread's own, to be found unchanged at the end */
    char mine[512];
    fcn_session *tiny = NULL;
    fcn_session_create(models[0].m, 1 + j->id, 1 + j->id, NULL, &tiny);
    snprintf(mine, sizeof mine, "%s", fcn_last_error());
    pthread_barrier_wait(&start);
    for (int i = 0; i < n_models; i++) {
        model_case *mc = &models[i];
        const int h = mc->sizes[j->id][0], w = mc->sizes[j->id][1];
        float *x = make_input(mc->c, h, w, h * 1000 + w);
        for (int threads = 1; threads <= max_team; threads++) {
            fcn_session_options so = {.threads = threads,
                                      .mem_limit = 0, .tile = 0};
            fcn_session *s = NULL;
            if (fcn_session_create(mc->m, h, w, &so, &s)) {
                snprintf(j->err, sizeof j->err, "%s", fcn_last_error());
                continue;
            }
            for (int r = 0; r < REPS; r++) {
                fcn_scores sc;
                j->runs++;
                if (fcn_session_run(s, x, &sc)) {
                    snprintf(j->err, sizeof j->err, "%s", fcn_last_error());
                    j->bad_maps++;
                    continue;
                }
                size_t n = (size_t)sc.classes * sc.out_h * sc.out_w;
                j->bad_maps += !same_map(sc.data, n, mc->want[j->id],
                                         mc->n[j->id]);
            }
            fcn_session_free(s);
        }
        free(x);
    }
    pthread_barrier_wait(&start);  /* every thread has set errors since */
    j->err_kept = tiny == NULL && strstr(mine, "input") &&
                  !strcmp(fcn_last_error(), mine);
    if (!j->err_kept)
        snprintf(j->err, sizeof j->err, "last error: %s", fcn_last_error());
    return NULL;
}

/* ---- phase 3: detectors, one per thread, on the shared model ---- */

typedef struct detect_job {
    const fcn_model *m;
    const fcn_image *img;
    fcn_detection *d;   /* the kept detections, copied */
    size_t n;
    int threads;
    int wait;           /* start with the others */
    char err[256];
} detect_job;

static void *detect_thread(void *arg)
{
    detect_job *j = arg;
    fcn_detect_options o;
    fcn_detect_defaults(&o);
    o.threads = j->threads;
    o.threshold = 0.5f;
    fcn_detector *d = NULL;
    fcn_detect_result r;
    if (j->wait)
        pthread_barrier_wait(&start);
    if (fcn_detector_create(j->m, &o, &d) || fcn_detector_run(d, j->img, &r)) {
        snprintf(j->err, sizeof j->err, "%s", fcn_last_error());
    } else {
        j->n = r.n;
        j->d = malloc(sizeof *j->d * (r.n + 1));
        memcpy(j->d, r.d, sizeof *j->d * r.n);
    }
    fcn_detector_free(d);
    return NULL;
}

static void run_threads(void *(*fn)(void *), void *jobs, size_t size)
{
    pthread_t t[K];
    for (int i = 0; i < K; i++)
        if (pthread_create(&t[i], NULL, fn, (char *)jobs + i * size)) {
            fprintf(stderr, "pthread_create failed\n");
            exit(1);
        }
    for (int i = 0; i < K; i++)
        pthread_join(t[i], NULL);
}

static void add_model(const char *name, const char *dir, const char *file,
                      fcn_options opt, int c, const int sizes[K][2])
{
    model_case *mc = &models[n_models++];
    mc->name = name;
    snprintf(mc->path, sizeof mc->path, "%s/%s", dir, file);
    mc->opt = opt;
    mc->c = c;
    memcpy(mc->sizes, sizes, sizeof mc->sizes);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: test_threads MODELS FIXTURES_ONNX\n");
        return 2;
    }
    if (argc > 3)
        max_team = atoi(argv[3]) == 1 ? 1 : 2;
    /* Winograd (every 3x3) and packed GEMM; the bundled model; residual
    ** adds on OpenBLAS. Threads 0 and 1 share a size, 2 and 3 differ. */
    const int vgg_sizes[K][2] = {{64, 64}, {64, 64}, {80, 72}, {72, 96}};
    const int fashion_sizes[K][2] = {{40, 60}, {40, 60}, {28, 28}, {57, 33}};
    const int resnet_sizes[K][2] = {{48, 48}, {48, 48}, {40, 56}, {33, 33}};
    add_model("vgg11_bn (Winograd)", argv[2], "vgg11_bn/model.bin",
              (fcn_options){.winograd = FCN_WINOGRAD_ALWAYS}, 3, vgg_sizes);
    add_model("fashion.bin", argv[1], "fashion.bin", (fcn_options){0}, 1,
              fashion_sizes);
    add_model("resnet18 (OpenBLAS)", argv[2], "resnet18/model.bin",
              (fcn_options){.gemm = FCN_GEMM_BLAS}, 3, resnet_sizes);
    pthread_barrier_init(&start, NULL, K);

    /* 1: loads at once, before anything else */
    load_job lj[K];
    memset(lj, 0, sizeof lj);
    for (int i = 0; i < K; i++)
        lj[i].id = i;
    run_threads(load_thread, lj, sizeof lj[0]);

    /* the single-threaded reference, on the shared copies */
    for (int i = 0; i < n_models; i++) {
        model_case *mc = &models[i];
        char err[256] = "";
        CHECK(fcn_model_load(mc->path, &mc->opt, &mc->m) == FCN_OK,
              "%s: %s", mc->name, fcn_last_error());
        if (!mc->m)
            return check_done();
        for (int t = 0; t < K; t++) {
            mc->want[t] = score_map(mc->m, mc->c, mc->sizes[t][0],
                                    mc->sizes[t][1], 1, &mc->n[t], err,
                                    sizeof err);
            CHECK(mc->want[t] != NULL, "%s at %dx%d: %s", mc->name,
                  mc->sizes[t][1], mc->sizes[t][0], err);
        }
    }
    for (int t = 0; t < K; t++)
        for (int i = 0; i < n_models; i++)
            CHECK(same_map(lj[t].got[i], lj[t].n[i], models[i].want[t],
                           models[i].n[t]),
                  "concurrent loads: thread %d, %s: %s", t, models[i].name,
                  lj[t].got[i] ? "a different score map" : lj[t].err);

    /* 2: one model, K threads, sessions of 1 and 2 threads each */
    run_job rj[K];
    memset(rj, 0, sizeof rj);
    for (int i = 0; i < K; i++)
        rj[i].id = i;
    run_threads(run_thread, rj, sizeof rj[0]);
    int runs = 0;
    for (int t = 0; t < K; t++) {
        runs += rj[t].runs;
        CHECK(rj[t].runs == n_models * max_team * REPS && rj[t].bad_maps == 0,
              "shared models: thread %d: %d of %d runs differ from the "
              "single-threaded one%s%s", t, rj[t].bad_maps, rj[t].runs,
              rj[t].err[0] ? ": " : "", rj[t].err);
        CHECK(rj[t].err_kept, "thread %d: fcn_last_error is not its own (%s)",
              t, rj[t].err);
    }

    /* 3: detectors, one per thread, against one made alone */
    fcn_model *fm = models[1].m;
    fcn_image img = {0};
    char path[1024];
    snprintf(path, sizeof path, "%s/detect-demo.png", argv[1]);
    CHECK(fcn_image_decode(fm, path, 75, 100, &img) == FCN_OK, "%s: %s", path,
          fcn_last_error());
    detect_job dj[K + 1];
    memset(dj, 0, sizeof dj);
    for (int i = 0; i <= K; i++)
        dj[i] = (detect_job){fm, &img, NULL, 0, 1 + i % max_team, i < K, ""};
    if (img.pixels) {
        detect_thread(&dj[K]);  /* alone, first */
        CHECK(dj[K].d && dj[K].n > 0, "detector alone: %s", dj[K].err);
        run_threads(detect_thread, dj, sizeof dj[0]);
        for (int t = 0; t < K; t++)
            CHECK(dj[t].d && dj[K].d && dj[t].n == dj[K].n &&
                      !memcmp(dj[t].d, dj[K].d, sizeof *dj[t].d * dj[t].n),
                  "detector in thread %d: %zu detections, alone %zu, or they "
                  "differ %s", t, dj[t].n, dj[K].n, dj[t].err);
    }
    printf("%d threads: %d models loaded at once, %d shared-model runs, %d "
           "detectors\n", K, n_models, runs, K);

    for (int i = 0; i <= K; i++)
        free(dj[i].d);
    fcn_image_free(&img);
    for (int i = 0; i < n_models; i++) {
        for (int t = 0; t < K; t++) {
            free(models[i].want[t]);
            free(lj[t].got[i]);
        }
        fcn_model_free(models[i].m);
    }
    pthread_barrier_destroy(&start);
    return check_done();
}
