/*
** test_alloc: the allocation hook (fcn_set_allocator). An allocator of the
** test's own counts the blocks it gives out and refuses the n-th; every
** entry point that allocates (model load, session create and run, image
** decode/resize/load, .npy read and write, the detector) runs for n = 1, 2,
** ... until a run completes without reaching n. Each refused allocation
** must come back as FCN_ERR_NOMEM with a message, with the outputs NULL,
** and leak nothing: the allocator's own count of live blocks is back where
** it was after the frees (ASan's leak checker is the second witness). The
** run that completes must give the bytes the default allocator gave.
**
** usage: test_alloc MODELS_DIR FIXTURES FIXTURES_ONNX TMPDIR
*/
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "fcn_detect.h"
#include "fcn_stream.h"

/* ---- the counting allocator ---- */

static struct {
    atomic_long calls;   /* allocations asked for since arm() */
    atomic_long live;    /* blocks out */
    atomic_long bad;     /* misuse seen: bad alignment, size, ud */
    long fail_at;        /* the allocation to refuse (1-based); 0: none */
    int hit;             /* fail_at was reached */
} A;

/* Where the refusal happened, for a debugger: break on refused() with
** `cond` on A.fail_at and phase. */
static const char *phase;
__attribute__((noinline)) static void refused(void)
{
    __asm__ volatile("" ::: "memory");
}

#define MAGIC 0x5eedf00dcafe1234ull

/* Our own header (the block's base, its size and a magic) in front of
** what fcn gets, so that free can check it is given back the size alloc
** was asked for, and find the base whatever the alignment. */
static void *t_alloc(void *ud, size_t size, size_t align)
{
    if (ud != &A || align < 16 || (align & (align - 1)))
        A.bad++;
    long k = ++A.calls;
    if (A.fail_at && k == A.fail_at) {
        A.hit = 1;
        refused();
        return NULL;
    }
    const size_t off = align < 32 ? 32 : align;
    void *base = NULL;
    if (posix_memalign(&base, align, off + size) != 0)
        return NULL;
    char *p = (char *)base + off;
    uint64_t *h = (uint64_t *)p - 3;
    h[0] = (uint64_t)(uintptr_t)base;
    h[1] = size;
    h[2] = MAGIC;
    A.live++;
    return p;
}

static void t_free(void *ud, void *p, size_t size)
{
    uint64_t *h = (uint64_t *)p - 3;
    if (ud != &A || h[2] != MAGIC || h[1] != size) {
        A.bad++;
        return;
    }
    h[2] = 0;
    A.live--;
    free((void *)(uintptr_t)h[0]);
}

static const fcn_allocator counting = {t_alloc, t_free, &A};

static void arm(long n)
{
    A.calls = 0;
    A.fail_at = n;
    A.hit = 0;
}

static void disarm(void) { A.fail_at = 0; }

/* ---- one sweep: the n-th allocation refused, for every n ---- */

typedef struct result {  /* the bytes a run produced (test's own malloc) */
    unsigned char *p;
    size_t n;
} result;

static void put(result *r, const void *p, size_t n)
{
    r->p = realloc(r->p, r->n + n + 1);
    if (!r->p)
        abort();
    memcpy(r->p + r->n, p, n);
    r->n += n;
}

/* A tensor call's outcome: on failure, whether it left data behind; else
** its shape and floats appended to r, and the tensor freed. */
static fcn_status put_tensor(result *r, fcn_status st, fcn_tensor *t,
                             int *bad_out)
{
    if (st) {
        *bad_out = t->data != NULL;
        return st;
    }
    int dims[3] = {t->c, t->h, t->w};
    put(r, dims, sizeof dims);
    put(r, t->data, sizeof(float) * (size_t)t->c * t->h * t->w);
    fcn_tensor_free(t);
    return FCN_OK;
}

static int same(const result *a, const result *b)
{
    return a->n == b->n && (!a->n || !memcmp(a->p, b->p, a->n));
}

/* A phase: does its work, calls disarm() once the calls under test are
** done (what follows only reads the results out), puts its output into r
** on success, sets *bad_out when a failing call left an output set, and
** frees everything it made. want: the default allocator's result (NULL
** while that is computed). */
typedef fcn_status (*phase_fn)(const void *ctx, const result *want,
                               result *r, int *bad_out);

#define MAX_POINTS 200000

static char sentinel[256];

/* A known message in fcn_last_error(), so that a failure that sets none
** shows. */
static void set_sentinel(void)
{
    fcn_session *s;
    fcn_session_create(NULL, 1, 1, NULL, &s);
    snprintf(sentinel, sizeof sentinel, "%s", fcn_last_error());
}

static long total_points;

static void sweep(const char *name, phase_fn fn, const void *ctx)
{
    result want = {0};
    int bad_out = 0;
    fcn_set_allocator(NULL);
    disarm();
    fcn_status st = fn(ctx, NULL, &want, &bad_out);
    CHECK(st == FCN_OK && want.n > 0, "%s: with the default allocator: %s",
          name, fcn_last_error());
    if (st) {
        free(want.p);
        return;
    }
    fcn_set_allocator(&counting);
    phase = name;
    const double t0 = check_now();
    const long live0 = A.live;
    long points = 0, absorbed = 0, fails = 0, first_absorbed = 0;
    for (long n = 1; n <= MAX_POINTS; n++) {
        result got = {0};
        bad_out = 0;
        set_sentinel();
        arm(n);
        st = fn(ctx, &want, &got, &bad_out);
        const int hit = A.hit;
        disarm();
        const char *msg = fcn_last_error();
        int ok = A.live == live0;
        if (!ok && fails++ < 5)
            CHECK(0, "%s: allocation %ld refused: %ld blocks leaked", name, n,
                  A.live - live0);
        if (!hit) {  /* ran to the end without reaching n */
            CHECK(st == FCN_OK && same(&got, &want), "%s: the run with the "
                  "counting allocator (%ld allocations): %s, %s", name,
                  n - 1, fcn_status_string(st),
                  st ? msg : "different bytes");
            free(got.p);
            break;
        }
        points++;
        if (st == FCN_OK) {  /* the library did without the block */
            if (!absorbed++)
                first_absorbed = n;
            ok = same(&got, &want);
            if (!ok && fails++ < 5)
                CHECK(0, "%s: allocation %ld refused, success reported, but "
                      "different bytes", name, n);
        } else {
            ok &= st == FCN_ERR_NOMEM && msg[0] && strcmp(msg, sentinel) &&
                  strcmp(msg, "no error") && !bad_out;
            if (!ok && fails++ < 5)
                CHECK(0, "%s: allocation %ld refused: %s (%s)%s", name, n,
                      fcn_status_string(st), msg,
                      bad_out ? ", an output left set" : "");
        }
        free(got.p);
        if (n == MAX_POINTS)
            CHECK(0, "%s: still allocating after %d", name, MAX_POINTS);
    }
    CHECK(fails == 0, "%s: %ld of %ld failure points wrong", name, fails,
          points);
    CHECK(A.bad == 0, "%s: the allocator was misused %ld times", name,
          (long)A.bad);
    A.bad = 0;
    printf("%-36s %5ld failure points (%.2f s)\n", name, points,
           check_now() - t0);
    if (absorbed)
        printf("%-36s %5ld of them absorbed (success, same bytes; the "
               "first: allocation %ld)\n", "", absorbed, first_absorbed);
    total_points += points;
    free(want.p);
    fcn_set_allocator(NULL);
}

/* ---- what the phases share ---- */

/* A deterministic input, c x h x w. */
static float *make_input(int c, int h, int w)
{
    float *x = malloc(sizeof(float) * (size_t)c * h * w);
    for (size_t i = 0; i < (size_t)c * h * w; i++)
        x[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
    return x;
}

/* The score map of m on x (c x h x w), one thread, into r. */
static fcn_status scores_of(const fcn_model *m, int h, int w,
                            const fcn_session_options *so, const float *x,
                            result *r)
{
    fcn_session *s = NULL;
    fcn_scores sc;
    fcn_status st = fcn_session_create(m, h, w, so, &s);
    if (!st)
        st = fcn_session_run(s, x, &sc);
    if (!st) {
        int dims[3] = {sc.classes, sc.out_h, sc.out_w};
        put(r, dims, sizeof dims);
        put(r, sc.data, sizeof(float) * (size_t)sc.classes * sc.out_h *
                            sc.out_w);
    }
    fcn_session_free(s);
    return st;
}

/* ---- load ---- */

typedef struct load_case {
    const char *path;
    fcn_options opt;
    int from_memory;
    int h, w;
} load_case;

static fcn_status ph_load(const void *ctx, const result *want, result *r,
                          int *bad_out)
{
    (void)want;
    const load_case *c = ctx;
    fcn_model *m = (fcn_model *)&A;  /* must become NULL on failure */
    fcn_status st;
    if (c->from_memory) {
        FILE *f = fopen(c->path, "rb");
        unsigned char *buf = malloc(1 << 20);
        size_t n = f && buf ? fread(buf, 1, 1 << 20, f) : 0;
        if (f)
            fclose(f);
        st = fcn_model_load_memory(buf, n, &c->opt, &m);
        free(buf);
    } else {
        st = fcn_model_load(c->path, &c->opt, &m);
    }
    disarm();
    if (st) {
        *bad_out = m != NULL;
        return st;
    }
    fcn_model_info info;
    fcn_model_get_info(m, &info);
    const char *sum = fcn_model_summary(m);
    put(r, sum, strlen(sum));
    put(r, &info.geom, sizeof info.geom);
    put(r, &info.weight_bytes, sizeof info.weight_bytes);
    float *x = make_input(info.in_c, c->h, c->w);
    fcn_session_options so = {.threads = 1, .mem_limit = 0, .tile = 0};
    st = scores_of(m, c->h, c->w, &so, x, r);
    free(x);
    fcn_model_free(m);
    return st;
}

/* ---- session create and run ---- */

typedef struct session_case {
    const fcn_model *m;
    int h, w;
    fcn_session_options so;
    const float *x;
    int min_tiles;      /* the plan must tile at least this much */
} session_case;

static fcn_status ph_session(const void *ctx, const result *want, result *r,
                             int *bad_out)
{
    (void)want;
    const session_case *c = ctx;
    fcn_session *s = (fcn_session *)&A;
    fcn_scores sc;
    fcn_status st = fcn_session_create(c->m, c->h, c->w, &c->so, &s);
    if (st) {
        disarm();
        *bad_out = s != NULL;
        return st;
    }
    st = fcn_session_run(s, c->x, &sc);
    disarm();
    int th, tw, nt;
    fcn_session_tiles(s, &th, &tw, &nt);
    if (!st && nt >= c->min_tiles) {
        int dims[4] = {sc.classes, sc.out_h, sc.out_w, nt};
        put(r, dims, sizeof dims);
        put(r, sc.data, sizeof(float) * (size_t)sc.classes * sc.out_h *
                            sc.out_w);
    } else if (!st) {
        st = FCN_ERR_ARG;  /* the case does not test what it says */
        fprintf(stderr, "session case: %d tiles, wanted %d\n", nt,
                c->min_tiles);
    }
    fcn_session_free(s);
    return st;
}

/* ---- images ---- */

typedef struct image_case {
    const fcn_model *m;
    const char *path;
    int out_h, out_w;
    const fcn_image *src;  /* resize this one (else decode path) */
    int as_floats;         /* fcn_image_load */
} image_case;

static fcn_status ph_image(const void *ctx, const result *want, result *r,
                           int *bad_out)
{
    (void)want;
    const image_case *c = ctx;
    fcn_status st;
    if (c->as_floats) {
        fcn_tensor t = {(float *)&A, 1, 1, 1};
        st = fcn_image_load(c->m, c->path, c->out_h, c->out_w, &t);
        disarm();
        return put_tensor(r, st, &t, bad_out);
    }
    fcn_image img = {(unsigned char *)&A, 1, 1, 1, 8};
    st = c->src ? fcn_image_resize(c->m, c->src, c->out_h, c->out_w, &img)
                : fcn_image_decode(c->m, c->path, c->out_h, c->out_w, &img);
    disarm();
    if (st) {
        *bad_out = img.pixels != NULL;
        return st;
    }
    int dims[3] = {img.c, img.h, img.w};
    put(r, dims, sizeof dims);
    put(r, img.pixels, (size_t)img.c * img.h * img.w);
    fcn_image_free(&img);
    return FCN_OK;
}

/* ---- .npy ---- */

typedef struct npy_case {
    const char *path;   /* read this */
    const char *out;    /* or write a 2x3x5 array here and read its bytes */
} npy_case;

static fcn_status ph_npy(const void *ctx, const result *want, result *r,
                         int *bad_out)
{
    (void)want;
    const npy_case *c = ctx;
    if (c->out) {
        float a[30];
        for (int i = 0; i < 30; i++)
            a[i] = (float)i * 0.25f - 3;
        const int shape[3] = {2, 3, 5};
        fcn_status st = fcn_npy_write(c->out, a, 3, shape);
        disarm();
        if (st)
            return st;
        FILE *f = fopen(c->out, "rb");
        unsigned char buf[4096];
        size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
        if (f)
            fclose(f);
        remove(c->out);
        put(r, buf, n);
        return FCN_OK;
    }
    fcn_tensor t = {(float *)&A, 1, 1, 1};
    fcn_status st = fcn_npy_read(c->path, &t);
    disarm();
    return put_tensor(r, st, &t, bad_out);
}

/* ---- streaming (fcn_stream.h): a source decoded whole, blocks, the .npy
** sink; on failure no file is left ---- */

typedef struct stream_case {
    const fcn_model *m;
    const char *in, *out;
    size_t mem_limit;
} stream_case;

static fcn_status ph_stream(const void *ctx, const result *want, result *r,
                            int *bad_out)
{
    (void)want;
    const stream_case *c = ctx;
    fcn_source *src = NULL;
    fcn_map_sink sink;
    const fcn_stream_options o = {.threads = 1, .mem_limit = c->mem_limit,
                                  .block_h = 5};  /* two blocks */
    fcn_status st = fcn_source_open(c->m, c->in, NULL, &src);
    if (!st)
        st = fcn_npy_sink_open(c->out, &sink);
    if (!st)
        st = fcn_stream_run(c->m, src, &o, &sink);
    fcn_source_free(src);
    disarm();
    FILE *f = fopen(c->out, "rb");
    if (st) {
        *bad_out = f != NULL;
        if (f)
            fclose(f);
        return st;
    }
    unsigned char buf[1 << 16];
    size_t n;
    while (f && (n = fread(buf, 1, sizeof buf, f)) > 0)
        put(r, buf, n);
    if (f)
        fclose(f);
    remove(c->out);
    return FCN_OK;
}

/* ---- the detector ---- */

typedef struct detect_case {
    const fcn_model *m;
    const fcn_image *img;   /* decoded (and made small) beforehand */
    fcn_detect_options o;
} detect_case;

static void put_result(result *r, const fcn_detect_result *res, int w, int h)
{
    put(r, &res->n, sizeof res->n);
    for (size_t k = 0; k < res->n; k++) {
        const fcn_detection *d = &res->d[k];
        put(r, &d->cls, sizeof d->cls);
        put(r, &d->score, sizeof d->score);
        put(r, &d->box, sizeof d->box);
        put(r, &d->level, sizeof d->level);
        put(r, &d->cell_i, sizeof d->cell_i);
        put(r, &d->cell_j, sizeof d->cell_j);
        put(r, &d->padded, sizeof d->padded);
    }
    for (int k = 0; k < res->n_levels; k++) {
        const fcn_detect_level *l = &res->levels[k];
        int v[4] = {l->out_h, l->out_w, l->tiles, l->skipped != NULL};
        put(r, v, sizeof v);
        put(r, &l->candidates, sizeof l->candidates);
    }
    if (res->heat)
        put(r, res->heat, sizeof(float) * (size_t)w * h);
}

static fcn_status ph_detect(const void *ctx, const result *want, result *r,
                            int *bad_out)
{
    const detect_case *c = ctx;
    fcn_detector *d = (fcn_detector *)&A;
    fcn_detect_result res;
    fcn_status st = fcn_detector_create(c->m, &c->o, &d);
    if (st) {
        disarm();
        *bad_out = d != NULL;
        return st;
    }
    memset(&res, 0xff, sizeof res);
    st = fcn_detector_run(d, c->img, &res);
    disarm();
    if (st) {
        *bad_out = res.d != NULL || res.n != 0;
        /* the detector stays usable: the same run, now with memory, gives
        ** the default allocator's result */
        fcn_status st2 = fcn_detector_run(d, c->img, &res);
        result again = {0};
        if (!st2)
            put_result(&again, &res, c->img->w, c->img->h);
        if (st2 || (want && !same(&again, want))) {
            *bad_out = 1;
            fprintf(stderr, "detector: the run after a refused allocation: "
                    "%s\n", st2 ? fcn_last_error() : "different results");
        }
        free(again.p);
    } else {
        put_result(r, &res, c->img->w, c->img->h);
    }
    fcn_detector_free(d);
    return st;
}

/* ---- the hook's own contract ---- */

static void test_setter(const char *model)
{
    fcn_allocator half = {t_alloc, NULL, &A};
    CHECK(fcn_set_allocator(&half) == FCN_ERR_ARG &&
          strstr(fcn_last_error(), "NULL"),
          "an allocator without free accepted");
    CHECK(fcn_set_allocator(NULL) == FCN_OK, "NULL: the default");
    /* a model made by one allocator and freed after another was set: each
    ** block goes back to the allocator that made it */
    const long live0 = A.live;
    fcn_model *a = NULL, *b = NULL;
    fcn_set_allocator(&counting);
    fcn_status st = fcn_model_load(model, NULL, &a);
    const long held = A.live - live0;
    fcn_set_allocator(NULL);
    st = st ? st : fcn_model_load(model, NULL, &b);
    fcn_set_allocator(&counting);
    fcn_model_free(b);
    CHECK(!st && held > 0 && A.live - live0 == held && !A.bad,
          "a default-allocated model freed under the hook: %s",
          fcn_last_error());
    fcn_set_allocator(NULL);
    fcn_model_free(a);
    CHECK(A.live == live0 && !A.bad, "a hook-allocated model freed after "
          "the hook was unset: %ld blocks left", A.live - live0);
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: test_alloc MODELS FIXTURES FIXTURES_ONNX "
                "TMPDIR\n");
        return 2;
    }
    char fashion[1024], padded[1024], vgg_bn[1024], resnet[1024], demo[1024],
        example[1024], npy_in[1024], npy_out[1024];
    snprintf(fashion, sizeof fashion, "%s/fashion.bin", argv[1]);
    snprintf(demo, sizeof demo, "%s/detect-demo.png", argv[1]);
    snprintf(example, sizeof example, "%s/example.png", argv[1]);
    snprintf(padded, sizeof padded, "%s/padded_vgg/model.bin", argv[2]);
    snprintf(npy_in, sizeof npy_in, "%s/padded_vgg/in_1.npy", argv[2]);
    snprintf(vgg_bn, sizeof vgg_bn, "%s/vgg11_bn/model.bin", argv[3]);
    snprintf(resnet, sizeof resnet, "%s/resnet18/model.bin", argv[3]);
    snprintf(npy_out, sizeof npy_out, "%s/test_alloc_out.npy", argv[4]);
    test_setter(fashion);

    /* load: the bundled model; padding; BatchNorm folded and every 3x3
    ** conv as Winograd; residual adds on OpenBLAS, from memory */
    const load_case loads[] = {
        {fashion, {0}, 0, 40, 36},
        {padded, {0}, 0, 20, 17},
        {vgg_bn, {.winograd = FCN_WINOGRAD_ALWAYS}, 0, 72, 64},
        {resnet, {.gemm = FCN_GEMM_BLAS}, 1, 40, 40},
    };
    const char *load_names[] = {"load fashion.bin", "load padded_vgg",
                                "load vgg11_bn (Winograd)",
                                "load resnet18 (BLAS, from memory)"};
    for (int i = 0; i < 4; i++)
        sweep(load_names[i], ph_load, &loads[i]);

    fcn_model *fm = NULL, *vm = NULL;
    const fcn_options wino = {.winograd = FCN_WINOGRAD_ALWAYS};
    if (fcn_model_load(fashion, NULL, &fm) || fcn_model_load(vgg_bn, &wino,
                                                             &vm)) {
        CHECK(0, "loading the models: %s", fcn_last_error());
        fcn_model_free(fm);
        return check_done();
    }

    /* sessions: the default plan; a memory limit that forces tiles, on
    ** two threads */
    float *x1 = make_input(1, 80, 96), *x3 = make_input(3, 96, 112);
    const session_case sessions[] = {
        {fm, 80, 96, {.threads = 1}, x1, 1},
        {vm, 96, 112, {.threads = 2, .mem_limit = 900000}, x3, 2},
    };
    sweep("session fashion 96x80", ph_session, &sessions[0]);
    sweep("session vgg11_bn 112x96, tiled", ph_session, &sessions[1]);

    /* a run takes nothing from the hook (fcn.h says it is never called
    ** from inside fcn_session_run) */
    fcn_set_allocator(&counting);
    fcn_session *s = NULL;
    fcn_scores sc;
    const fcn_session_options two = {.threads = 2, .mem_limit = 0, .tile = 0};
    long during = -1;
    if (fcn_session_create(vm, 96, 112, &two, &s) == FCN_OK) {
        arm(0);
        fcn_session_run(s, x3, &sc);
        fcn_session_run(s, x3, &sc);
        during = A.calls;
    }
    fcn_session_free(s);
    fcn_set_allocator(NULL);
    CHECK(during == 0, "fcn_session_run allocated %ld blocks", during);

    /* images */
    fcn_image ex = {0};
    CHECK(fcn_image_decode(fm, example, 0, 0, &ex) == FCN_OK, "decode: %s",
          fcn_last_error());
    const image_case images[] = {
        {fm, example, 0, 0, NULL, 0},
        {fm, demo, 150, 200, NULL, 0},
        {fm, NULL, 100, 180, &ex, 0},
        {fm, example, 0, 0, NULL, 1},
    };
    sweep("image decode", ph_image, &images[0]);
    sweep("image decode + resize", ph_image, &images[1]);
    sweep("image resize", ph_image, &images[2]);
    sweep("image load (floats)", ph_image, &images[3]);

    const npy_case npys[] = {{npy_in, NULL}, {NULL, npy_out}};
    sweep("npy read", ph_npy, &npys[0]);
    sweep("npy write", ph_npy, &npys[1]);
    char npy_stream[1100];
    snprintf(npy_stream, sizeof npy_stream, "%s/test_alloc_stream.npy",
             argv[4]);
    char pgm[1100];  /* 70x60, small: a sweep runs it once a point */
    snprintf(pgm, sizeof pgm, "%s/test_alloc_stream.pgm", argv[4]);
    FILE *pf = fopen(pgm, "wb");
    if (pf) {
        fprintf(pf, "P5\n70 60\n255\n");
        for (int i = 0; i < 70 * 60; i++)
            fputc((i * 37 + i / 70 * 11) & 255, pf);
        fclose(pf);
    }
    const stream_case streams = {fm, pgm, npy_stream, 128 << 10};
    sweep("stream (blocks, .npy sink)", ph_stream, &streams);
    remove(pgm);

    /* the detector: create, and the pyramid (two levels and a heat map)
    ** on detect-demo.png made small */
    fcn_image small = {0};
    CHECK(fcn_image_decode(fm, demo, 48, 64, &small) == FCN_OK, "decode: %s",
          fcn_last_error());
    const double scales[] = {1.0, 0.6};
    detect_case det = {fm, &small, {0}};
    fcn_detect_defaults(&det.o);
    det.o.scales = scales;
    det.o.n_scales = 2;
    det.o.threshold = 0.5f;
    det.o.heatmap = 1;
    det.o.heat_class = 0;
    det.o.threads = 1;
    if (small.pixels)
        sweep("detect (detect-demo.png at 64x48)", ph_detect, &det);
    fcn_image_free(&small);
    fcn_image_free(&ex);
    fcn_model_free(fm);
    fcn_model_free(vm);
    free(x1);
    free(x3);
    printf("%ld failure points in all\n", total_points);
    return check_done();
}
