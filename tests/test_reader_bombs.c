/*
** test_reader_bombs.c: test_reader's small files that would cost huge maps:
** padding, map growth and channel growth bombs, the score map in the
** session's memory budget, pool bombs. See test_reader.h.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "test_reader.h"

/* ---- padding bombs, and the score map in the memory budget ---- */

/* n Pad layers of `pad` on every side of a 1 x side x side input, then a
** 1x1 conv to `classes` classes: refused, or loaded. */
static fcn_model *pad_chain(int n, int pad, int classes, int side,
                            fcn_status *st)
{
    tmodel *tm = tm_new(1, side, side);
    tlayer t;
    char name[16], in[16], out[16];
    for (int i = 0; i < n; i++) {
        const int p[4] = {pad, pad, pad, pad};
        tl_init(&t, "Pad");
        tl_ints(&t, "pad", 4, p);
        snprintf(name, sizeof name, "pad%d", i);
        snprintf(in, sizeof in, i ? "t%d" : "input", i - 1);
        snprintf(out, sizeof out, "t%d", i);
        tm_layer(tm, "Pad", name, in, out, &t);
    }
    const int64_t wd[4] = {classes, 1, 1, 1};
    tl_init(&t, "Conv");
    tl_weight(&t, "weight", 4, wd, ones);
    tm_layer(tm, "Conv", "score", n ? out : "input", "out", &t);
    size_t sz;
    unsigned char *b = tm_finish(tm, &sz);
    fcn_model *m = NULL;
    *st = fcn_model_load_memory(b, sz, NULL, &m);
    free(b);
    return m;
}

/* The reported bomb, as small, trained at H x W: dilated 31x1 and 1x31
** kernels (extent 30*d+1) padded by 30*d, within the padding rule, grow
** the map to (H + 30*d1) x (W + 30*d2); a 1x1 conv of `stride` then
** shrinks it, so that the score map stays small and the tiled run within
** memory: only the growth rule keeps its run time bounded. About 1 KB. */
static unsigned char *bomb_bin(int H, int W, int d1, int d2, int stride,
                               size_t *size)
{
    tmodel *tm = tm_new(1, H, W);
    tlayer t;
    const int p1[4] = {30 * d1, 0, 30 * d1, 0},
              p2[4] = {0, 30 * d2, 0, 30 * d2}, dv1[2] = {d1, 1},
              dv2[2] = {1, d2}, sv[2] = {stride, stride};
    const int64_t w1[4] = {1, 1, 31, 1}, w2[4] = {1, 1, 1, 31},
                  w3[4] = {1, 1, 1, 1};
    tl_init(&t, "Conv");
    tl_ints(&t, "pad", 4, p1);
    tl_ints(&t, "dilation", 2, dv1);
    tl_weight(&t, "weight", 4, w1, ones);
    tm_layer(tm, "Conv", "conv1", "input", "c1", &t);
    tl_init(&t, "Conv");
    tl_ints(&t, "pad", 4, p2);
    tl_ints(&t, "dilation", 2, dv2);
    tl_weight(&t, "weight", 4, w2, ones);
    tm_layer(tm, "Conv", "conv2", "c1", "c2", &t);
    tl_init(&t, "Conv");
    tl_ints(&t, "stride", 2, sv);
    tl_weight(&t, "weight", 4, w3, ones);
    tm_layer(tm, "Conv", "conv3", "c2", "out", &t);
    return tm_finish(tm, size);
}

/* A bomb loaded (trained at H x W): the status, the message holding
** `needle`, the time and the peak RSS it took. */
static fcn_status bomb_load(int H, int W, int d1, int d2, int stride,
                            fcn_model **m, double *dt, long *drss,
                            size_t *size)
{
    unsigned char *b = bomb_bin(H, W, d1, d2, stride, size);
    const long rss0 = check_peak_rss_kb();
    const double t0 = check_now();
    *m = NULL;
    fcn_status st = fcn_model_load_memory(b, *size, NULL, m);
    *dt = check_now() - t0;
    *drss = check_peak_rss_kb() - rss0;
    free(b);
    return st;
}

/* The chained Pads of 4096 on a side x side input: they grow the map 8192
** a layer until a side passes 2^20 (SHAPE), the map 2^34 floats (NOMEM)
** or 4x the input + 2^20 pixels (UNSUPPORTED), whichever comes first. */
static void pad_growth(int side0)
{
    int n = 0;
    fcn_status want = FCN_OK, st;
    for (int64_t side = side0; !want; n++) {
        side += 2 * LIM_PAD_OP;
        want = side > LIM_DIM ? FCN_ERR_SHAPE
               : side * side > LIM_TENSOR ? FCN_ERR_NOMEM
               : side * side > LIM_GROWTH(side0, side0) ? FCN_ERR_UNSUPPORTED
               : FCN_OK;
    }
    fcn_model *m = pad_chain(n + 2, LIM_PAD_OP, 1, side0, &st);
    char needle[32];
    snprintf(needle, sizeof needle, "layer 'pad%d'", n - 1);
    CHECK(st == want && !m && strstr(fcn_last_error(), needle),
          "%d chained Pads of 4096 on %dx%d: %s, expected %s at pad%d: %s",
          n + 2, side0, side0, st_name(st), st_name(want), n - 1,
          fcn_last_error());
    fcn_model_free(m);
    cases_pad++;
}

/* A 1 x 28 x 28 input, a 1x1 Conv to 16 channels, then n Concats: each
** of the tensor before it with itself (double = 1: the channels double a
** layer), or of the tensor before it and a 1x1 Conv of it to 16 channels
** (DenseNet's linear growth), then a 1x1 Conv to 2 classes (the
** doubling chain: none, its weights would be 2 x 16 x 2^n floats). */
static unsigned char *concat_bin(int n, int doubling, size_t *size)
{
    tmodel *tm = tm_new(1, 28, 28);
    tlayer t;
    const int64_t w0[4] = {16, 1, 1, 1};
    tl_init(&t, "Conv");
    tl_weight(&t, "weight", 4, w0, ones);
    tm_layer(tm, "Conv", "conv", "input", "t0", &t);
    int c = 16;
    char name[16], in[40], out[16];
    for (int i = 0; i < n; i++) {
        snprintf(out, sizeof out, "t%d", i + 1);
        if (doubling) {
            snprintf(in, sizeof in, "t%d,t%d", i, i);
        } else {
            const int64_t wg[4] = {16, c, 1, 1};
            snprintf(name, sizeof name, "grow%d", i);
            snprintf(in, sizeof in, "t%d", i);
            snprintf(out, sizeof out, "g%d", i);
            tl_init(&t, "Conv");
            tl_weight(&t, "weight", 4, wg, ones);
            tm_layer(tm, "Conv", name, in, out, &t);
            snprintf(in, sizeof in, "t%d,g%d", i, i);
            snprintf(out, sizeof out, "t%d", i + 1);
        }
        c += doubling ? c : 16;
        snprintf(name, sizeof name, "cat%d", i);
        tl_init(&t, "Concat");
        tm_layer(tm, "Concat", name, in, doubling && i == n - 1 ? "out" : out,
                 &t);
    }
    if (doubling)
        return tm_finish(tm, size);
    const int64_t ws[4] = {2, c, 1, 1};
    tl_init(&t, "Conv");
    tl_weight(&t, "weight", 4, ws, ones);
    snprintf(in, sizeof in, "t%d", n);
    tm_layer(tm, "Conv", "score", in, "out", &t);
    return tm_finish(tm, size);
}

/* Channel growth: a Concat's floats within twice the input's and the
** Conv, Dense and Flatten outputs' before it, + 1024 channels of its map
** (docs/model-format.md). 15 doubling Concats (a 2 KB file whose last
** maps would hold 524288 x 28 x 28 floats, 1.6 GB each) are refused at the
** first Concat over the rule, computed here; 40 growing linearly load. */
static void concat_bombs(void)
{
    int first = -1;
    int64_t paid = 28 * 28 + 16 * 28 * 28, c = 16;
    for (int i = 0; first < 0; i++) {
        c *= 2;
        if (c * 28 * 28 > 2 * paid + 1024 * 28 * 28)
            first = i;
    }
    size_t size;
    unsigned char *b = concat_bin(15, 1, &size);
    const double t0 = check_now();
    fcn_model *m = NULL;
    fcn_status st = fcn_model_load_memory(b, size, NULL, &m);
    const double dt = check_now() - t0;
    free(b);
    char needle[32];
    snprintf(needle, sizeof needle, "layer 'cat%d' (Concat)", first);
    CHECK(st == FCN_ERR_UNSUPPORTED && !m && size < 4096 && dt < 0.5 &&
          strstr(fcn_last_error(), needle) &&
          strstr(fcn_last_error(), "channel growth"),
          "15 doubling Concats (%zu bytes), refused at cat%d: %s in %.3f s: "
          "%s", size, first, st_name(st), dt, fcn_last_error());
    fcn_model_free(m);
    b = concat_bin(40, 0, &size);
    m = NULL;
    st = fcn_model_load_memory(b, size, NULL, &m);
    free(b);
    fcn_model_info info;
    if (m)
        fcn_model_get_info(m, &info);
    CHECK(st == FCN_OK && m && info.classes == 2, "40 Concats growing by 16 "
          "channels (to 656): %s", st ? fcn_last_error() : "");
    fcn_model_free(m);
    cases_pad += 2;
}

/* Map growth (4x the input + 2^20 pixels), at a session's input size:
** the bomb refused at once, at load (trained at the photo's size) and at
** session create (trained large, run small); just under the limit, run. */
static void growth_bombs(void)
{
    fcn_model *m;
    double dt;
    long drss;
    size_t size;
    /* trained at 224x160: conv1's 224x30160 map, 6.8 Mpx, is refused at
    ** load (limit 4 x 224 x 160 + 2^20 = 1191936 pixels) */
    fcn_status st = bomb_load(160, 224, 1000, 1000, 1000, &m, &dt, &drss,
                              &size);
    CHECK(st == FCN_ERR_UNSUPPORTED && !m && size < 4096 &&
              strstr(fcn_last_error(), "layer 'conv1' (Conv): its 224x30160 "
                                       "map is 188x the input's 224x160") &&
              strstr(fcn_last_error(), "padding"),
          "bomb (%zu bytes) trained at 224x160: %s: %s", size, st_name(st),
          fcn_last_error());
    CHECK(dt < 0.1 && drss < 64 * 1024, "bomb refused at load in %.3f s, "
          "peak RSS +%ld KB", dt, drss);
    printf("bomb: %zu-byte model, 224x30160 map at 224x160 refused at load "
           "in %.3f ms, peak RSS +%ld KB\n", size, dt * 1e3, drss);
    fcn_model_free(m);
    cases_pad++;
    /* trained at 65536x65536 it loads (95536x65536 < 4 x 2^32 + 2^20) */
    st = bomb_load(65536, 65536, 1000, 1000, 1000, &m, &dt, &drss, &size);
    CHECK(st == FCN_OK && m, "bomb trained at 65536x65536: %s",
          fcn_last_error());
    if (m) {
        const long rss0 = check_peak_rss_kb();
        const double t0 = check_now();
        fcn_session *s = NULL;
        st = fcn_session_create(m, 160, 224, NULL, &s);
        dt = check_now() - t0;
        drss = check_peak_rss_kb() - rss0;
        CHECK(st == FCN_ERR_UNSUPPORTED && !s &&
                  strstr(fcn_last_error(), "layer 'conv1' (Conv): its "
                                           "224x30160 map is 188x"),
              "bomb at 224x160: %s: %s", st_name(st), fcn_last_error());
        CHECK(dt < 0.1 && drss < 64 * 1024, "bomb refused at session create "
              "in %.3f s, peak RSS +%ld KB", dt, drss);
        printf("bomb: session at 224x160 refused in %.3f ms, peak RSS +%ld "
               "KB\n", dt * 1e3, drss);
        fcn_session_free(s);
        s = NULL;
        /* far over 2^34 floats, under any limit: as fast */
        const fcn_session_options huge = {.threads = 1,
                                          .mem_limit = SIZE_MAX, .tile = 0};
        const double t1 = check_now();
        st = fcn_session_create(m, 1000000, 1000000, &huge, &s);
        CHECK(st == FCN_ERR_NOMEM && !s && check_now() - t1 < 0.5,
              "bomb at 10^6 x 10^6, no limit: %s in %.3f s: %s", st_name(st),
              check_now() - t1, fcn_last_error());
        fcn_session_free(s);
        fcn_model_free(m);
        cases_pad += 2;
    }
    /* At 224x160, conv2's map is (160 + 30 d1) x 254 with d2 = 1: d1 =
    ** 151 gives 4690 x 254 = 1191260 pixels, under the limit of 1191936;
    ** d1 = 152, 4720 x 254 = 1198880, over it (conv1's 4720 x 224 is not) */
    st = bomb_load(160, 224, 152, 1, 1, &m, &dt, &drss, &size);
    CHECK(st == FCN_ERR_UNSUPPORTED && !m &&
              strstr(fcn_last_error(), "layer 'conv2' (Conv): its 254x4720 "
                                       "map is 33x"),
          "d1 = 152, just over the limit: %s: %s", st_name(st),
          fcn_last_error());
    fcn_model_free(m);
    st = bomb_load(160, 224, 151, 1, 1, &m, &dt, &drss, &size);
    CHECK(st == FCN_OK && m, "d1 = 151, just under the limit: %s",
          fcn_last_error());
    if (m) {
        const fcn_session_options one = {.threads = 1,
                                         .mem_limit = 0, .tile = 0};
        fcn_session *s = NULL;
        fcn_scores sc;
        float *in = calloc((size_t)224 * 160, sizeof(float));
        const double t0 = check_now();
        st = fcn_session_create(m, 160, 224, &one, &s);
        if (!st)
            st = fcn_session_run(s, in, &sc);
        CHECK(st == FCN_OK && sc.out_h == 4690 && sc.out_w == 254,
              "d1 = 151 at 224x160: %s, score map %dx%d, expected 254x4690",
              st ? fcn_last_error() : "ok", st ? 0 : sc.out_w,
              st ? 0 : sc.out_h);
        printf("d1 = 151: 254x4690 map at 224x160, created and run in "
               "%.2f s\n", check_now() - t0);
        free(in);
        fcn_session_free(s);
        fcn_model_free(m);
    }
    cases_pad += 2;
}

void pad_bombs(void)
{
    fcn_status st;
    /* the Pad op: 0 ... 4096 a side, on an input large enough for 4096 to
    ** grow it less than 4x + 2^20 pixels; on 8x8, 4096 grows it too much */
    static const struct { int pad, side; fcn_status want; } pads[] = {
        {0, 8192, FCN_OK}, {1, 8192, FCN_OK}, {LIM_PAD_OP, 8192, FCN_OK},
        {LIM_PAD_OP + 1, 8192, FCN_ERR_FORMAT},
        {1 << 20, 8192, FCN_ERR_FORMAT}, {-1, 8192, FCN_ERR_FORMAT},
        {LIM_PAD_OP, 8, FCN_ERR_UNSUPPORTED}, {508, 8, FCN_OK},
        {509, 8, FCN_ERR_UNSUPPORTED}};
    for (size_t i = 0; i < sizeof pads / sizeof pads[0]; i++) {
        fcn_model *m = pad_chain(1, pads[i].pad, 1, pads[i].side, &st);
        CHECK(st == pads[i].want && (st || m) &&
              (!st || strstr(fcn_last_error(), "layer 'pad0'")),
              "Pad %d on %dx%d: status %s, expected %s: %s", pads[i].pad,
              pads[i].side, pads[i].side, st_name(st),
              st_name(pads[i].want), st ? fcn_last_error() : "");
        fcn_model_free(m);
        cases_pad++;
    }
    pad_growth(8);
    pad_growth(65536);
    /* conv and pool padding: below the (dilated) kernel, not at it, and
    ** the map it grows within 4x the input + 2^20 pixels */
    static const struct { int conv, k, d, pad; fcn_status want; } wp[] = {
        {1, 3, 1, 2, FCN_OK}, {1, 3, 1, 3, FCN_ERR_FORMAT},
        {1, 3, 2, 4, FCN_OK}, {1, 3, 2, 5, FCN_ERR_FORMAT},
        {1, 1, 1, 1, FCN_ERR_FORMAT}, {1, 1, 9, 1, FCN_ERR_FORMAT},
        {1, 31, 4000, 120000, FCN_OK}, {1, 31, 4000, 120001, FCN_ERR_FORMAT},
        {1, 31, 30000, 900000, FCN_ERR_UNSUPPORTED},
        {1, 31, 30000, 900001, FCN_ERR_FORMAT},
        {0, 2, 1, 1, FCN_OK}, {0, 2, 1, 2, FCN_ERR_FORMAT},
        {0, 1 << 20, 1, (1 << 20) - 1, FCN_ERR_SHAPE},
        {0, 1 << 16, 1, (1 << 16) - 1, FCN_OK}};
    for (size_t i = 0; i < sizeof wp / sizeof wp[0]; i++) {
        win_case c = benign(wp[i].conv);
        c.k[0] = wp[i].k;
        c.d[0] = wp[i].conv ? wp[i].d : 1;
        c.p[0] = c.p[2] = wp[i].pad;
        c.give_stride = 1;
        const expect e = chain_ref(&c, 1, 8, 8);
        CHECK(e.st == wp[i].want, "window pad case %zu: the reference says "
              "%s, the table %s", i, st_name(e.st), st_name(wp[i].want));
        chain_check(&c, 1, 8, 8);
        cases_pad++;
    }
    /* a map over 2^34 floats at the trained size, from padding */
    win_case big = benign(1);
    big.k[0] = big.k[1] = 31;
    big.d[0] = big.d[1] = 30000;
    big.p[0] = big.p[1] = big.p[2] = big.p[3] = 900000;
    CHECK(chain_ref(&big, 1, 65536, 65536).st == FCN_ERR_NOMEM,
          "the reference misses a map of over 2^34 floats");
    chain_check(&big, 1, 65536, 65536);
    cases_pad++;
    growth_bombs();
    concat_bombs();
}

/* The limit counts the score map: a 1x1 conv of C classes on H x W. */
void score_budget(void)
{
    static const struct { int classes, h, w; } cfg[] = {
        {1, 64, 64}, {10, 100, 37}, {1000, 33, 41}, {3, 1, 1}};
    for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++) {
        fcn_status st;
        fcn_model *m = pad_chain(0, 0, cfg[i].classes, 8, &st);
        CHECK(st == FCN_OK, "score budget model: %s", fcn_last_error());
        if (!m)
            continue;
        const size_t score = (size_t)4 * cfg[i].classes * cfg[i].h * cfg[i].w;
        fcn_session *s = NULL;
        /* one byte short of the score map alone */
        fcn_session_options o = {.threads = 1,
                                 .mem_limit = score - 1, .tile = 0};
        st = fcn_session_create(m, cfg[i].h, cfg[i].w, &o, &s);
        CHECK(st == FCN_ERR_NOMEM && !s && strstr(fcn_last_error(),
                                                  "score map"),
              "%d classes at %dx%d, limit %zu: %s: %s", cfg[i].classes,
              cfg[i].w, cfg[i].h, o.mem_limit, st_name(st), fcn_last_error());
        /* the score map fits, nothing beside it does */
        o.mem_limit = score;
        fcn_session_free(s);  /* NULL unless a check failed */
        s = NULL;
        st = fcn_session_create(m, cfg[i].h, cfg[i].w, &o, &s);
        CHECK(st == FCN_ERR_NOMEM && !s && strstr(fcn_last_error(),
                                                  "beside its score map"),
              "%d classes at %dx%d, limit = the score map: %s: %s",
              cfg[i].classes, cfg[i].w, cfg[i].h, st_name(st),
              fcn_last_error());
        /* room for both: what the session holds fits the limit */
        o.mem_limit = score + ((size_t)4 << 20);
        fcn_session_free(s);  /* NULL unless a check failed */
        s = NULL;
        st = fcn_session_create(m, cfg[i].h, cfg[i].w, &o, &s);
        CHECK(st == FCN_OK && fcn_session_arena_bytes(s) + score <=
                                  o.mem_limit,
              "%d classes at %dx%d, limit %zu: %s, arena %zu", cfg[i].classes,
              cfg[i].w, cfg[i].h, o.mem_limit, fcn_last_error(),
              s ? fcn_session_arena_bytes(s) : 0);
        fcn_session_free(s);
        fcn_model_free(m);
        cases_pad += 3;
    }
}

/* Pool bombs: a pool costs no weights, so a tiny file may hold a huge
** window at stride 1 (2^20 per axis is allowed). Windows of more than 64
** taps are pooled separably (src/ops/pool.c), in time that does not grow
** with the window: a 1400x1400 window at stride 1 on a 1500x1500 map
** (2e10 taps the direct way) runs in well under a second, exactly (max)
** or to rounding (avg) on a ramp x = y + 2x, whose window max is its last
** pixel and mean its centre. */
void pool_bombs(void)
{
    const int N = 1500, K = 1400, O = N - K + 1;
    float *x = malloc(sizeof(float) * N * N);
    for (int y = 0; y < N; y++)
        for (int i = 0; i < N; i++)
            x[(int64_t)y * N + i] = (float)(y + 2 * i);
    for (int max = 0; max < 2; max++) {
        const char *op = max ? "MaxPool" : "AvgPool";
        tmodel *tm = tm_new(1, N, N);
        tlayer t;
        const int k[2] = {K, K}, one[2] = {1, 1};
        tl_init(&t, op);
        tl_ints(&t, "kernel", 2, k);
        tl_ints(&t, "stride", 2, one);
        tm_layer(tm, op, "pool", "input", "out", &t);
        fcn_model *m = tm_load(tm, NULL);
        if (!m)
            continue;
        const double t0 = check_now();
        int oc, oh, ow;
        float *y = t_run_model(m, x, N, N, &oc, &oh, &ow);
        const double dt = check_now() - t0;
        double worst = 0;
        for (int a = 0; y && a < oh && oc == 1 && oh == O && ow == O; a++)
            for (int b = 0; b < ow; b++) {
                double ref = max ? (a + K - 1) + 2.0 * (b + K - 1)
                                 : a + (K - 1) / 2.0 + 2.0 * (b + (K - 1) / 2.0);
                double e = fabs(y[(int64_t)a * ow + b] - ref) / ref;
                worst = e > worst || e != e ? e : worst;
            }
        CHECK(y && oc == 1 && oh == O && ow == O && worst <= (max ? 0 : 0x1p-23)
              && dt < 10.0, "%s %dx%d on %dx%d: score map %dx%dx%d, worst "
              "relative error %.3g, %.2f s", op, K, K, N, N, oc, oh, ow,
              worst, dt);
        printf("pool bomb: %s %dx%d stride 1 on %dx%d: %.2f s (1 and 3 "
               "threads)\n", op, K, K, N, N, dt);
        free(y);
        fcn_model_free(m);
        cases_pad++;
    }
    free(x);
}
