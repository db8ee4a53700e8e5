/*
** fuzz_run.c: libFuzzer harness of a model's whole life: load, a session
** on a small input, runs on floats and on an image, and detection.
**
** The work per input is bounded so that libFuzzer's timeout means a bug:
** models whose input, weights or smallest size exceed small budgets are
** only loaded; sessions get at most 64x64 pixels and a 4 MiB memory limit.
** Options (gemm, Winograd, tiles, size above the minimum) come from a hash
** of the input, so one input always takes the same path.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fcn_detect.h"
#include "fuzz.h"

enum {
    MAX_SIDE = 64,                  /* session input, pixels a side */
    MAX_IN_C = 16,                  /* input channels */
    MAX_WEIGHTS = 1 << 20,          /* bytes of weights held for running */
    MEM_LIMIT = 4 << 20             /* session activations + workspace */
};

/* A deterministic input in [-1, 1). */
static void fill(float *x, size_t n, uint32_t seed)
{
    uint32_t s = seed | 1;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)(s >> 8) / (float)(1 << 23) - 1.0f;
    }
}

static size_t map_size(const fcn_scores *sc)
{
    return (size_t)sc->classes * sc->out_h * sc->out_w;
}

/* Session-level queries, and the score map against the planned shape. */
static void check_session(const fcn_session *s, const fcn_scores *sc,
                          const fcn_model_info *in)
{
    fcn_scores shape;
    fcn_session_shape(s, &shape);
    FZ_CHECK(sc->classes == in->classes && shape.classes == in->classes);
    FZ_CHECK(sc->out_h == shape.out_h && sc->out_w == shape.out_w);
    FZ_CHECK(sc->out_h > 0 && sc->out_w > 0 && sc->data);
    FZ_CHECK(memcmp(&sc->geom, &shape.geom, sizeof sc->geom) == 0);
    fz_touch(sc->data, map_size(sc) * sizeof *sc->data);
    int th, tw, nt;
    fcn_session_tiles(s, &th, &tw, &nt);
    FZ_CHECK(th > 0 && tw > 0 && nt > 0);
    int n = fcn_session_layers(s, NULL, 0);
    FZ_CHECK(n > 0);
    fcn_layer_stats *ls = calloc((size_t)n, sizeof *ls);
    if (ls) {
        FZ_CHECK(fcn_session_layers(s, ls, n) == n);
        for (int i = 0; i < n; i++)
            FZ_CHECK(ls[i].name && ls[i].op);
        free(ls);
    }
}

/* Two runs on the same input agree bit for bit; then a run on an image. */
static void run_session(fcn_session *s, const fcn_model_info *in, int h,
                        int w, uint32_t seed)
{
    size_t n = (size_t)in->in_c * h * w;
    float *x = malloc(n * sizeof *x);
    if (!x)
        return;
    fill(x, n, seed);
    fcn_scores sc;
    fcn_status st = fcn_session_run(s, x, &sc);
    fz_check_status(st);
    if (st == FCN_OK) {
        check_session(s, &sc, in);
        size_t bytes = map_size(&sc) * sizeof *sc.data;
        float *first = malloc(bytes);
        if (first) {
            memcpy(first, sc.data, bytes);
            fcn_scores again;
            FZ_CHECK(fcn_session_run(s, x, &again) == FCN_OK);
            FZ_CHECK(memcmp(first, again.data, bytes) == 0);
            free(first);
        }
    }
    free(x);
    if (in->in_c != 1 && in->in_c != 3)
        return;
    fcn_image img = {malloc((size_t)h * w * in->in_c), w, h, in->in_c};
    if (!img.pixels)
        return;
    for (size_t i = 0; i < (size_t)h * w * in->in_c; i++)
        img.pixels[i] = (unsigned char)(i * 37 + seed);
    fz_check_status(fcn_session_run_image(s, &img, &sc));
    free(img.pixels);
}

/* The detector over a small pyramid, on an image a little larger than the
** smallest input. */
static void detect(const fcn_model *m, const fcn_model_info *in, uint32_t h)
{
    if (in->in_c != 1 && in->in_c != 3)
        return;
    int ih = in->min_h + (int)(h % 8), iw = in->min_w + (int)(h / 8 % 8);
    if (ih > MAX_SIDE || iw > MAX_SIDE)
        return;
    double scales[2] = {1.0, 0.75};
    fcn_detect_options o;
    fcn_detect_defaults(&o);
    o.scales = scales;
    o.n_scales = 2;
    o.threshold = (h >> 6 & 1) ? 0.0f : 0.5f;
    o.threads = 1;
    o.mem_limit = MEM_LIMIT;
    o.heatmap = (h >> 7) & 1;
    fcn_detector *d = NULL;
    fcn_status st = fcn_detector_create(m, &o, &d);
    fz_check_status(st);
    if (st)
        return;
    fcn_image img = {malloc((size_t)ih * iw * in->in_c), iw, ih, in->in_c};
    if (img.pixels) {
        for (size_t i = 0; i < (size_t)ih * iw * in->in_c; i++)
            img.pixels[i] = (unsigned char)(i * 91 + h);
        fcn_detect_result r;
        st = fcn_detector_run(d, &img, &r);
        fz_check_status(st);
        if (st == FCN_OK) {
            FZ_CHECK(r.n_levels == 2 && r.levels);
            for (size_t i = 0; i < r.n; i++)
                FZ_CHECK(r.d[i].cls >= 0 && r.d[i].cls < in->classes);
            if (r.heat)
                fz_touch(r.heat, (size_t)ih * iw * sizeof *r.heat);
        }
        free(img.pixels);
    }
    fcn_detector_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t h = fz_hash(data, size);
    fcn_model *m;
    fcn_status st = fz_load_input(data, size, h, 1, &m);
    fz_check_status(st);
    if (st)
        return 0;
    fcn_model_info in;
    fcn_model_get_info(m, &in);
    int ph = in.min_h + (int)(h >> 8 & 3), pw = in.min_w + (int)(h >> 10 & 3);
    if (in.in_c > MAX_IN_C || in.weight_bytes > MAX_WEIGHTS ||
        ph > MAX_SIDE || pw > MAX_SIDE) {
        fcn_model_free(m);
        return 0;
    }
    fcn_session_options so = {.threads = 1, .mem_limit = MEM_LIMIT,
                              .tile = (int)(h >> 12 & 3) % 3};
    fcn_session *s = NULL;
    st = fcn_session_create(m, ph, pw, &so, &s);
    fz_check_status(st);
    if (st == FCN_OK) {
        FZ_CHECK(s != NULL);
        /* the memory limit holds: the score map within it always, and
        ** beside the arena where the tiling is fcn's choice */
        fcn_scores shape;
        fcn_session_shape(s, &shape);
        size_t map_bytes = map_size(&shape) * sizeof(float);
        FZ_CHECK(map_bytes <= MEM_LIMIT);
        FZ_CHECK(so.tile ||
                 fcn_session_arena_bytes(s) + map_bytes <= MEM_LIMIT);
        run_session(s, &in, ph, pw, h);
    }
    fcn_session_free(s);
    if ((h >> 14) & 1)
        detect(m, &in, h >> 16);
    fcn_model_free(m);
    return 0;
}
