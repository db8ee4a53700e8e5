/*
** test_reader.c: bad input gets a status and a message, never a crash.
** Run under AddressSanitizer and UBSan in CI (see .ci/run).
**
**  - every proper prefix of a valid model.bin is refused;
**  - thousands of random byte flips: each load either succeeds or fails
**    with a message (sanitizers catch any out-of-bounds read);
**  - tests/fixtures/bad/: models with one defect each, refused with a
**    message that names the defect;
**  - wrong version, input smaller than the network needs, absurd sizes,
**    unreadable images and arrays;
**  - the limits of docs/model-format.md ("Limits and validation") on
**    generated models: window attributes at and around every limit, alone
**    and chained so that products overflow 32 bits, against an independent
**    128-bit computation of the status, the layer blamed and the geometry;
**    attributes that disagree with the weights; padding bombs; the score
**    map in the session's memory budget; pool bombs (huge windows).
*/
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "fcn.h"
#include "ops/harness.h"

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(sz > 0 ? (size_t)sz : 1);
    if (b && fread(b, 1, (size_t)sz, f) != (size_t)sz) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *n = (size_t)sz;
    return b;
}

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(data, 1, n, f);
        fclose(f);
    }
}

/* ---- limits (docs/model-format.md, "Limits and validation") ----
**
** Models generated here, with the window attributes of Conv and MaxPool at
** and around every limit (1, 2^15, 2^16, 2^20, 2^30, 2^31-1, 2^31, 2^40,
** 0, -1, the dilated kernel's extent and one either side of it), alone and
** chained so that products overflow 32 bits. Each is either refused with
** the status the rules give and a message naming the layer they blame, or
** loads with the geometry an independent computation (128-bit) gives.
** Plus attributes that disagree with the weights, padding bombs, and the
** score map in the session's memory budget. */

#define LIM_DIM ((int64_t)1 << 20)
#define LIM_GEOM ((int64_t)1 << 30)
#define LIM_TENSOR ((int64_t)1 << 34)
#define LIM_KERNEL 4096
#define LIM_PAD_OP 4096
/* a map's pixels beyond 4x its input's: the growth padding may cause */
#define LIM_GROWTH(h, w) (4 * (i128)(h) * (w) + ((int64_t)1 << 20))

typedef __int128 i128;

typedef struct win_case {  /* one window layer of a generated chain */
    int conv;              /* a Conv (1 -> 1 channel) or a MaxPool */
    int64_t k[2], s[2], d[2], p[4];  /* p: top, left, bottom, right */
    int give_kernel;       /* Conv: the kernel attribute too (the weight's) */
    int give_stride;       /* MaxPool: 0 = absent, the kernel */
} win_case;

typedef struct expect {
    fcn_status st;
    int layer;             /* the layer a refusal names */
    int64_t stride[2], offset[2], rf[2];
    int64_t out_h, out_w, max_floats;  /* at the trained size */
    int geometry;          /* refused for the geometry (accumulated) */
} expect;

static int cases_geom, cases_attr, cases_pad;
static int outcomes[FCN_ERR_ARG + 1];  /* geometry cases, by expected status */
static int refused_geometry;           /* of them, for the accumulated
                                          stride, offset or rf */

/* n int64 attribute values (tl_ints takes ints). */
static void tl_i64(tlayer *t, const char *key, int n, const int64_t *v)
{
    static const int zero[4] = {0, 0, 0, 0};
    const int k = (int)t->L.attrs.n;
    tl_ints(t, key, n, zero);
    for (int i = 0; i < n; i++)
        t->iv[k][i] = v[i];
}

static float ones[1 << 16];  /* weights: every one used here fits */

static unsigned char *chain_bin(const win_case *L, int n, int H, int W,
                                size_t *size)
{
    tmodel *m = tm_new(1, H, W);
    for (int i = 0; i < n; i++) {
        const win_case *c = &L[i];
        char name[16], in[16], out[16];
        snprintf(name, sizeof name, "L%d", i);
        snprintf(in, sizeof in, i ? "t%d" : "input", i - 1);
        snprintf(out, sizeof out, "t%d", i);
        tlayer t;
        tl_init(&t, c->conv ? "Conv" : "MaxPool");
        if (!c->conv || c->give_kernel)
            tl_i64(&t, "kernel", 2, c->k);
        if (c->conv || c->give_stride)
            tl_i64(&t, "stride", 2, c->s);
        tl_i64(&t, "pad", 4, c->p);
        if (c->conv) {
            tl_i64(&t, "dilation", 2, c->d);
            const int64_t dims[4] = {1, 1, c->k[0], c->k[1]};
            tl_weight(&t, "weight", 4, dims, ones);
        }
        tm_layer(m, c->conv ? "Conv" : "MaxPool", name, in, out, &t);
    }
    return tm_finish(m, size);
}

static expect refusal(fcn_status st, int layer, int geometry)
{
    expect e;
    memset(&e, 0, sizeof e);
    e.st = st;
    e.layer = layer;
    e.geometry = geometry;
    return e;
}

static int64_t clamp64(i128 v)
{
    return v > INT64_MAX ? INT64_MAX : v < INT64_MIN ? INT64_MIN : (int64_t)v;
}

/* What the rules say of a chain on a 1 x H x W input, computed apart from
** fcn's code: 128-bit, layer by layer in load order (every layer's
** attributes, then the shapes at the trained size, then the conversion
** and the geometry). */
static expect chain_ref(const win_case *L, int n, int64_t H, int64_t W)
{
    expect e = {FCN_OK, -1, {1, 1}, {0, 0}, {1, 1}, H, W, H * W, 0};
    win_case w[8];
    for (int i = 0; i < n; i++) {
        const win_case *c = &L[i];
        w[i] = *c;
        if (!c->conv && !c->give_stride)
            w[i].s[0] = c->k[0], w[i].s[1] = c->k[1];
        if (!c->conv)
            w[i].d[0] = w[i].d[1] = 1;
        int64_t v[10] = {c->k[0], c->k[1], w[i].s[0], w[i].s[1], w[i].d[0],
                         w[i].d[1], c->p[0], c->p[1], c->p[2], c->p[3]};
        int bad = 0, sign = 0;
        for (int j = 0; j < 10; j++) {
            bad |= v[j] < -LIM_DIM || v[j] > LIM_DIM;
            sign |= j < 6 ? v[j] < 1 : v[j] < 0;
        }
        i128 ext[2] = {(i128)(c->k[0] - 1) * w[i].d[0] + 1,
                       (i128)(c->k[1] - 1) * w[i].d[1] + 1};
        if (bad || sign || (c->conv && (c->k[0] > LIM_KERNEL ||
                                        c->k[1] > LIM_KERNEL)))
            return refusal(FCN_ERR_FORMAT, i, 0);
        if (ext[0] > LIM_DIM || ext[1] > LIM_DIM)
            return refusal(FCN_ERR_UNSUPPORTED, i, 0);
        if (c->p[0] >= ext[0] || c->p[2] >= ext[0] || c->p[1] >= ext[1] ||
            c->p[3] >= ext[1])
            return refusal(FCN_ERR_FORMAT, i, 0);
    }
    /* shapes at the trained size, and the conversion of a pool whose
    ** window is the whole map (a global pool: stride 1) */
    i128 h = H, wd = W;
    for (int i = 0; i < n; i++) {
        i128 sz[2] = {h, wd}, o[2];
        for (int a = 0; a < 2; a++) {
            i128 ext = (i128)(w[i].k[a] - 1) * w[i].d[a] + 1;
            i128 span = sz[a] + w[i].p[a] + w[i].p[a + 2] - ext;
            o[a] = span < 0 ? 0 : span / w[i].s[a] + 1;
            if (o[a] < 1 || o[a] > LIM_DIM)
                return refusal(FCN_ERR_SHAPE, i, 0);
        }
        if (o[0] * o[1] > LIM_TENSOR)
            return refusal(FCN_ERR_NOMEM, i, 0);
        if (o[0] * o[1] > LIM_GROWTH(H, W))
            return refusal(FCN_ERR_UNSUPPORTED, i, 0);
        if (!w[i].conv && o[0] == 1 && o[1] == 1 && w[i].k[0] == sz[0] &&
            w[i].k[1] == sz[1] && !w[i].p[0] && !w[i].p[1] && !w[i].p[2] &&
            !w[i].p[3] && (sz[0] > 1 || sz[1] > 1))
            w[i].s[0] = w[i].s[1] = 1;
        h = o[0];
        wd = o[1];
        if ((int64_t)(h * wd) > e.max_floats)
            e.max_floats = (int64_t)(h * wd);
    }
    e.out_h = (int64_t)h;
    e.out_w = (int64_t)wd;
    /* geometry: per axis, in input pixels */
    i128 st[2] = {1, 1}, off[2] = {0, 0}, rf[2] = {1, 1};
    for (int i = 0; i < n; i++) {
        for (int a = 0; a < 2; a++) {
            rf[a] += (i128)(w[i].k[a] - 1) * w[i].d[a] * st[a];
            off[a] -= (i128)w[i].p[a] * st[a];
            st[a] *= w[i].s[a];
        }
        for (int a = 0; a < 2; a++)
            if (st[a] > LIM_GEOM || rf[a] > LIM_GEOM || off[a] > LIM_GEOM ||
                off[a] < -LIM_GEOM)
                return refusal(FCN_ERR_UNSUPPORTED, i, 1);
    }
    for (int a = 0; a < 2; a++) {
        e.stride[a] = clamp64(st[a]);
        e.offset[a] = clamp64(off[a]);
        e.rf[a] = clamp64(rf[a]);
    }
    return e;
}

static const char *st_name(fcn_status s)
{
    static const char *n[] = {"OK", "IO", "FORMAT", "UNSUPPORTED", "SHAPE",
                              "NOMEM", "ARG"};
    return s >= 0 && s <= FCN_ERR_ARG ? n[s] : "?";
}

static void chain_desc(const win_case *L, int n, int H, int W, char *buf,
                       size_t size)
{
    int at = snprintf(buf, size, "input %dx%d:", H, W);
    for (int i = 0; i < n && at < (int)size; i++) {
        const win_case *c = &L[i];
        at += snprintf(buf + at, size - (size_t)at, " L%d %s k=%lldx%lld "
                       "s=%lldx%lld%s d=%lldx%lld p=%lld,%lld,%lld,%lld;", i,
                       c->conv ? "Conv" : "MaxPool", (long long)c->k[0],
                       (long long)c->k[1], (long long)c->s[0],
                       (long long)c->s[1],
                       !c->conv && !c->give_stride ? "(absent)" : "",
                       (long long)c->d[0], (long long)c->d[1],
                       (long long)c->p[0], (long long)c->p[1],
                       (long long)c->p[2], (long long)c->p[3]);
    }
}

/* Load the chain and compare with the reference; the first few hundred
** small accepted ones are also planned and run at their trained size. */
static void chain_check(const win_case *L, int n, int H, int W)
{
    size_t size;
    unsigned char *b = chain_bin(L, n, H, W, &size);
    const expect e = chain_ref(L, n, H, W);
    fcn_model *m = NULL;
    fcn_status st = fcn_model_load_memory(b, size, NULL, &m);
    free(b);
    cases_geom++;
    outcomes[e.st]++;
    refused_geometry += e.geometry;
    char desc[900], needle[32];
    chain_desc(L, n, H, W, desc, sizeof desc);
    if (e.st != FCN_OK) {
        snprintf(needle, sizeof needle, "layer 'L%d'", e.layer);
        CHECK(st == e.st && !m && strstr(fcn_last_error(), needle),
              "%s refused %s naming L%d expected; got %s: %s", desc,
              st_name(e.st), e.layer, st_name(st), st ? fcn_last_error() : "");
        fcn_model_free(m);
        return;
    }
    CHECK(st == FCN_OK, "%s: refused (%s): %s", desc, st_name(st),
          fcn_last_error());
    if (st)
        return;
    fcn_model_info info;
    fcn_model_get_info(m, &info);
    const fcn_geometry g = info.geom;
    CHECK(g.stride_h == e.stride[0] && g.stride_w == e.stride[1] &&
          g.offset_h == e.offset[0] && g.offset_w == e.offset[1] &&
          g.rf_h == e.rf[0] && g.rf_w == e.rf[1],
          "%s: geometry stride %dx%d offset %d,%d rf %dx%d, expected %lldx%lld "
          "offset %lld,%lld rf %lldx%lld", desc, g.stride_h, g.stride_w,
          g.offset_h, g.offset_w, g.rf_h, g.rf_w, (long long)e.stride[0],
          (long long)e.stride[1], (long long)e.offset[0],
          (long long)e.offset[1], (long long)e.rf[0], (long long)e.rf[1]);
    static int runs;  /* a few hundred runs suffice (and keep it fast) */
    if (e.max_floats <= 1024 && runs++ < 300) {
        const fcn_session_options one = {.threads = 1,
                                         .mem_limit = 0, .tile = 0};
        fcn_session *s = NULL;
        fcn_scores sc;
        float *in = calloc((size_t)H * W, sizeof(float));
        st = fcn_session_create(m, H, W, &one, &s);
        if (!st)
            st = fcn_session_run(s, in, &sc);
        CHECK(st == FCN_OK && sc.classes == 1 && sc.out_h == e.out_h &&
              sc.out_w == e.out_w, "%s: at the trained size: %s, score map "
              "%dx%d, expected %lldx%lld", desc, st ? fcn_last_error() : "ok",
              st ? 0 : sc.out_h, st ? 0 : sc.out_w, (long long)e.out_h,
              (long long)e.out_w);
        free(in);
        fcn_session_free(s);
    }
    fcn_model_free(m);
}

static const int64_t edge_vals[] = {
    1, 2, 3, 1 << 15, 1 << 16, (1 << 20) - 1, 1 << 20, (1 << 20) + 1,
    1 << 30, INT32_MAX, (int64_t)1 << 31, (int64_t)1 << 40, 0, -1};
#define N_EDGE (int)(sizeof edge_vals / sizeof edge_vals[0])

/* The padding cases of an extent: around it, and absolute. */
static int64_t pad_val(int j, int64_t ext)
{
    switch (j) {
    case 0: return 0;
    case 1: return 1;
    case 2: return ext - 1;
    case 3: return ext;
    case 4: return ext + 1;
    case 5: return 1 << 15;
    case 6: return 1 << 20;
    case 7: return INT32_MAX;
    default: return -1;
    }
}
#define N_PAD 9

static win_case benign(int conv)
{
    win_case c = {conv, {1, 1}, {1, 1}, {1, 1}, {0, 0, 0, 0}, 0, 1};
    return c;
}

/* One window along one axis, every combination of the edge values. */
static void single_layers(void)
{
    static const int64_t conv_k[] = {1, 2, 3, 31, LIM_KERNEL, LIM_KERNEL + 1};
    static const int64_t pool_k[] = {1, 2, 3, 1 << 15, 1 << 16, 1 << 20,
                                     (1 << 20) + 1, INT32_MAX, 0};
    static const int sizes[] = {1, 7, 64, 65536};
    int idx = 0;
    for (int conv = 0; conv < 2; conv++) {
        const int64_t *ks = conv ? conv_k : pool_k;
        const int nk = conv ? 6 : 9;
        for (int ki = 0; ki < nk; ki++)
            for (int si = 0; si < N_EDGE; si++)
                for (int di = 0; di < (conv ? N_EDGE : 1); di++)
                    for (int pj = 0; pj < N_PAD; pj++, idx++) {
                        const int a = idx & 1;  /* rows or columns */
                        win_case c = benign(conv);
                        c.k[a] = ks[ki];
                        c.s[a] = edge_vals[si];
                        c.d[a] = conv ? edge_vals[di] : 1;
                        c.give_kernel = idx % 3 == 0;
                        c.give_stride = idx % 5 != 0;
                        const int64_t ext = clamp64(
                            (i128)(c.k[a] - 1) * (conv ? c.d[a] : 1) + 1);
                        const int64_t pv = pad_val(pj, ext);
                        const int side = idx / 2 % 3;  /* lead, trail, both */
                        if (side != 1)
                            c.p[a] = pv;
                        if (side != 0)
                            c.p[a + 2] = pv;
                        int size[2] = {8, 8};
                        size[a] = sizes[idx / 6 % 4];
                        chain_check(&c, 1, size[0], size[1]);
                    }
    }
}

/* A random window, mostly inside the limits (an edge value one time in
** 40), so that chains get far enough for the products to overflow. */
static win_case random_win(void)
{
    static const int64_t good[] = {1, 2, 3, 1 << 10, 1 << 15, 1 << 16,
                                   1 << 20};
    static const int64_t conv_k[] = {1, 2, 3, 31, LIM_KERNEL};
#define PICK(set, n) (irand(0, 39) ? (set)[irand(0, (n) - 1)] \
                                   : edge_vals[irand(0, N_EDGE - 1)])
    win_case c = benign(irand(0, 1));
    for (int a = 0; a < 2; a++) {
        int64_t k = c.conv ? PICK(conv_k, 5) : PICK(good, irand(0, 3) ? 3 : 6);
        if (c.conv && (k < 1 || k > LIM_KERNEL + 1))
            k = LIM_KERNEL + 1;  /* a bad conv kernel is the weight's */
        if (c.conv && a == 1 && c.k[0] > 3 && k > 3)
            k = irand(1, 3);  /* one long axis: the weight stays small */
        c.k[a] = k;
        c.s[a] = PICK(good, 7);
        c.d[a] = c.conv ? PICK(good, irand(0, 3) ? 3 : 7) : 1;
        const int64_t ext = clamp64((i128)(c.k[a] - 1) * c.d[a] + 1);
        /* mostly "same" padding (any map fits), or up to the extent */
        for (int side = 0; side < 2; side++) {
            const int r = irand(0, 39);
            const int64_t e1 = ext > 0 ? ext - 1 : 0;
            int64_t p = r < 16 ? (side ? e1 - e1 / 2 : e1 / 2)
                        : r < 28 ? e1
                        : r < 36 ? (int64_t)(rnd() % (uint64_t)(e1 + 1))
                        : r < 39 ? 0 : pad_val(irand(0, N_PAD - 1), ext);
            c.p[a + 2 * side] = p;
        }
    }
#undef PICK
    c.give_kernel = irand(0, 1);
    c.give_stride = irand(0, 3) != 0;
    return c;
}

static void chains(void)
{
    static const int sizes[] = {1, 8, 224, 65536};
    for (int it = 0; it < 3000; it++) {
        win_case L[6];
        const int n = irand(2, 6);
        for (int i = 0; i < n; i++)
            L[i] = random_win();
        chain_check(L, n, sizes[irand(0, 3)], sizes[irand(0, 3)]);
    }
    /* the accumulated stride at and around 2^30 and 2^31, 2^32 (an int
    ** wraps to 0 there: the old "stride 0x0"), the offset and the
    ** receptive field likewise */
    static const int64_t pairs[][2] = {
        {1 << 15, 1 << 15}, {1 << 15, (1 << 15) + 1}, {1 << 16, 1 << 16},
        {1 << 20, 1 << 10}, {1 << 20, 1 << 11}, {1 << 20, 1 << 20},
        {65535, 65537}, {1 << 10, 1 << 20}, {1025, 1 << 20}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        for (int conv = 0; conv < 2; conv++) {
            win_case L[2] = {benign(0), benign(conv)};
            L[0].s[0] = L[0].s[1] = pairs[i][0];
            L[1].s[0] = L[1].s[1] = pairs[i][1] > LIM_DIM ? 1 : pairs[i][1];
            chain_check(L, 2, 65536, 65536);
            /* offset: padding below the extent, after a large stride */
            win_case P[2] = {benign(0), benign(0)};
            P[0].s[0] = P[0].s[1] = pairs[i][0];
            P[1].k[0] = P[1].k[1] = 1 << 20;
            P[1].s[0] = P[1].s[1] = 1;
            P[1].p[0] = P[1].p[1] = P[1].p[2] = P[1].p[3] =
                pairs[i][1] < (1 << 20) ? pairs[i][1] : (1 << 20) - 1;
            chain_check(P, 2, 64, 64);
            /* receptive field: a dilated conv after a large stride */
            win_case R[2] = {benign(0), benign(1)};
            R[0].s[0] = R[0].s[1] = pairs[i][0];
            R[1].k[0] = R[1].k[1] = 2;
            R[1].d[0] = R[1].d[1] = pairs[i][1] > LIM_DIM ? LIM_DIM
                                                            : pairs[i][1];
            R[1].p[0] = R[1].p[2] = 1;
            chain_check(R, 2, 64, 64);
        }
}

/* ---- attributes that disagree with the weights ---- */

/* tm's model, expected to be refused with `want`, naming layer 'bad'. */
static void refused(tmodel *tm, fcn_status want, const char *what)
{
    size_t n;
    unsigned char *b = tm_finish(tm, &n);
    fcn_model *m = NULL;
    fcn_status st = fcn_model_load_memory(b, n, NULL, &m);
    free(b);
    CHECK(st == want && !m && strstr(fcn_last_error(), "layer 'bad'"),
          "%s: status %s, expected %s naming 'bad': %s", what, st_name(st),
          st_name(want), st ? fcn_last_error() : "loaded");
    fcn_model_free(m);
    cases_attr++;
}

/* A Conv 'bad' on a 3x4x4 input: kernel attribute (nk values; 0: none),
** weight dims, groups, bias dims (nb 0: none), flip. */
static void conv_bad(int nk, const int *kernel, int nw, const int64_t *wd,
                     int groups, int nb, const int64_t *bd, int flip,
                     fcn_status want, const char *what)
{
    tmodel *tm = tm_new(3, 4, 4);
    tlayer t;
    tl_init(&t, "Conv");
    if (nk)
        tl_ints(&t, "kernel", nk, kernel);
    if (groups != 1)
        tl_ints(&t, "groups", 1, &groups);
    if (flip)
        tl_ints(&t, "flip", 1, &flip);
    tl_weight(&t, "weight", nw, wd, ones);
    if (nb)
        tl_weight(&t, "bias", nb, bd, ones);
    tm_layer(tm, "Conv", "bad", "input", "out", &t);
    refused(tm, want, what);
}

static void bn_bad(const int64_t *c, const int *nd, int skip_var,
                   fcn_status want, const char *what)
{
    static const char *names[4] = {"scale", "bias", "mean", "var"};
    tmodel *tm = tm_new(3, 4, 4);
    tlayer t;
    tl_init(&t, "BatchNorm");
    for (int i = 0; i < 4 - skip_var; i++) {
        const int64_t dims[2] = {c[i], 1};
        tl_weight(&t, names[i], nd[i], dims, ones);
    }
    tm_layer(tm, "BatchNorm", "bad", "input", "out", &t);
    refused(tm, want, what);
}

/* One layer 'bad' of op with integer attributes (key, count, values)
** and no weights, on a 3x4x4 input. */
static void op_bad(const char *op, const char *key, int n, const int *v,
                   const char *key2, int n2, const int *v2, fcn_status want,
                   const char *what)
{
    tmodel *tm = tm_new(3, 4, 4);
    tlayer t;
    tl_init(&t, op);
    if (key)
        tl_ints(&t, key, n, v);
    if (key2)
        tl_ints(&t, key2, n2, v2);
    tm_layer(tm, op, "bad", "input", "out", &t);
    refused(tm, want, what);
}

/* Dense 'bad' after a Flatten (order; NULL: no Flatten, on the map). */
static void dense_bad(const char *order, int nw, const int64_t *wd, int nb,
                      const int64_t *bd, fcn_status want, const char *what)
{
    tmodel *tm = tm_new(3, 4, 4);
    tlayer t;
    if (order) {
        tl_init(&t, "Flatten");
        tl_str(&t, "order", order);
        tm_layer(tm, "Flatten", "flat", "input", "f", &t);
    }
    tl_init(&t, "Dense");
    tl_weight(&t, "weight", nw, wd, ones);
    if (nb)
        tl_weight(&t, "bias", nb, bd, ones);
    tm_layer(tm, "Dense", "bad", order ? "f" : "input", "out", &t);
    refused(tm, want, what);
}

static void disagreements(void)
{
    const fcn_status F = FCN_ERR_FORMAT, S = FCN_ERR_SHAPE;
    const int k00[2] = {0, 0}, k03[2] = {0, 3}, k3[1] = {3}, k31[2] = {3, 1},
              km1[2] = {-1, -1}, k111[3] = {1, 1, 1};
    const int64_t w11[4] = {2, 3, 1, 1}, w13[4] = {2, 3, 1, 3},
                  w3g[4] = {3, 3, 1, 1}, w22[4] = {2, 2, 1, 1},
                  w3d[3] = {2, 3, 1}, w0[4] = {0, 3, 1, 1},
                  wbig[4] = {2, 3, LIM_KERNEL + 1, 1}, b3[1] = {3},
                  b21[2] = {2, 1}, b2[1] = {2};
    conv_bad(2, k00, 4, w11, 1, 0, NULL, 0, F, "conv kernel 0x0, weight 1x1");
    conv_bad(2, k03, 4, w13, 1, 0, NULL, 0, F, "conv kernel 0x3, weight 1x3");
    conv_bad(1, k3, 4, w13, 1, 0, NULL, 0, F, "conv kernel 3, weight 1x3");
    conv_bad(2, k31, 4, w13, 1, 0, NULL, 0, F, "conv kernel 3x1, weight 1x3");
    conv_bad(2, km1, 4, w11, 1, 0, NULL, 0, F, "conv kernel -1x-1");
    conv_bad(3, k111, 4, w11, 1, 0, NULL, 0, F, "conv kernel of 3 values");
    conv_bad(0, NULL, 4, w3g, 2, 0, NULL, 0, F, "conv 3 filters, 2 groups");
    conv_bad(0, NULL, 4, w3g, 0, 0, NULL, 0, F, "conv 0 groups");
    conv_bad(0, NULL, 4, w3g, 3, 0, NULL, 0, S, "conv groups 3 x 3 inputs "
             "per group on 3 channels");
    conv_bad(0, NULL, 4, w22, 1, 0, NULL, 0, S, "conv weight for 2 channels "
             "on 3");
    conv_bad(0, NULL, 4, w11, 1, 1, b3, 0, F, "conv bias 3 for 2 filters");
    conv_bad(0, NULL, 4, w11, 1, 2, b21, 0, F, "conv bias [2, 1]");
    conv_bad(0, NULL, 3, w3d, 1, 0, NULL, 0, F, "conv weight 3-D");
    conv_bad(0, NULL, 4, w0, 1, 0, NULL, 0, F, "conv weight of 0 filters");
    conv_bad(0, NULL, 4, w11, 1, 0, NULL, 2, F, "conv flip 2");
    conv_bad(0, NULL, 4, wbig, 1, 0, NULL, 0, F, "conv kernel 4097x1");
    conv_bad(2, k00, 4, w11, 1, 1, b2, 0, F, "conv kernel 0x0 with bias");
    /* Dense */
    const int64_t d47[2] = {5, 47}, d48[2] = {5, 48}, d1[1] = {48},
                  n4[1] = {4};
    dense_bad("chw", 2, d47, 0, NULL, S, "dense K 47 on 48 features");
    dense_bad("hwc", 2, d47, 0, NULL, S, "dense K 47 on 48 hwc features");
    dense_bad("chw", 2, d48, 1, n4, F, "dense bias 4 for 5 outputs");
    dense_bad("chw", 1, d1, 0, NULL, F, "dense weight 1-D");
    dense_bad(NULL, 2, d48, 0, NULL, S, "dense on a 3x4x4 map");
    /* BatchNorm */
    const int nd1[4] = {1, 1, 1, 1}, nd2[4] = {2, 1, 1, 1};
    bn_bad((int64_t[]){3, 2, 3, 3}, nd1, 0, F, "bn bias 2 of 3");
    bn_bad((int64_t[]){3, 3, 3, 4}, nd1, 0, F, "bn var 4 of 3");
    bn_bad((int64_t[]){2, 2, 2, 2}, nd1, 0, S, "bn 2 channels on 3");
    bn_bad((int64_t[]){0, 0, 0, 0}, nd1, 0, F, "bn of 0 channels");
    bn_bad((int64_t[]){3, 3, 3, 3}, nd2, 0, F, "bn scale [3, 1]");
    bn_bad((int64_t[]){3, 3, 3, 3}, nd1, 1, F, "bn without var");
    /* pools: these were accepted before (a parse's recorded failure was
    ** dropped when it returned FCN_OK) */
    const int two[2] = {2, 2}, zero[2] = {0, 0}, k20[2] = {2, 0},
              s10[2] = {1, 0}, p2[4] = {2, 2, 2, 2}, p1[4] = {1, 0, 0, 1},
              v2 = 2, vm1 = -1, v0 = 0;
    op_bad("MaxPool", "kernel", 2, two, "ceil_mode", 1, &v2, F,
           "maxpool ceil_mode 2");
    op_bad("AvgPool", "kernel", 2, two, "count_include_pad", 1, &vm1, F,
           "avgpool count_include_pad -1");
    op_bad("MaxPool", "kernel", 2, zero, "stride", 2, two, F,
           "maxpool kernel 0x0");
    op_bad("MaxPool", "kernel", 2, two, "pad", 4, p2, F,
           "maxpool pad 2 with kernel 2");
    op_bad("AvgPool", "kernel", 2, k20, NULL, 0, NULL, F,
           "avgpool kernel 2x0");
    op_bad("MaxPool", "kernel", 2, two, "stride", 2, s10, F,
           "maxpool stride 1x0");
    op_bad("MaxPool", "kernel", 2, k20, "pad", 4, p1, F,
           "maxpool kernel 2x0, pad 1,0,0,1");
    op_bad("LRN", "size", 1, &v0, NULL, 0, NULL, F, "lrn size 0");
    op_bad("Pad", "pad", 3, p2, NULL, 0, NULL, F, "pad of 3 values");
    op_bad("GlobalAvgPool", "kernel", 2, two, NULL, 0, NULL, F,
           "global pool with a kernel");
    /* Clip min > max; Flatten order; a Conv weight under another name */
    tmodel *tm = tm_new(3, 4, 4);
    tlayer t;
    tl_init(&t, "Clip");
    tl_float(&t, "min", 1.0f);
    tl_float(&t, "max", 0.0f);
    tm_layer(tm, "Clip", "bad", "input", "out", &t);
    refused(tm, F, "clip min 1 > max 0");
    tm = tm_new(3, 4, 4);
    tl_init(&t, "Flatten");
    tl_str(&t, "order", "cwh");
    tm_layer(tm, "Flatten", "bad", "input", "out", &t);
    refused(tm, F, "flatten order cwh");
    tm = tm_new(3, 4, 4);
    tl_init(&t, "Conv");
    tl_weight(&t, "weights", 4, w11, ones);
    tm_layer(tm, "Conv", "bad", "input", "out", &t);
    refused(tm, F, "conv weight named 'weights'");
    /* inputs of different shapes */
    tm = tm_new(3, 4, 4);
    tl_init(&t, "MaxPool");
    tl_ints(&t, "kernel", 2, two);
    tm_layer(tm, "MaxPool", "pool", "input", "p", &t);
    tl_init(&t, "Concat");
    tm_layer(tm, "Concat", "bad", "input,p", "out", &t);
    refused(tm, S, "concat 3x4x4 and 3x2x2");
    tm = tm_new(3, 4, 4);
    tl_init(&t, "Conv");
    tl_weight(&t, "weight", 4, w11, ones);
    tm_layer(tm, "Conv", "conv", "input", "c", &t);
    tl_init(&t, "Add");
    tm_layer(tm, "Add", "bad", "input,c", "out", &t);
    refused(tm, S, "add 3x4x4 and 2x4x4");
}

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

static void pad_bombs(void)
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
static void score_budget(void)
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
static void pool_bombs(void)
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

static void limits(void)
{
    for (size_t i = 0; i < sizeof ones / sizeof ones[0]; i++)
        ones[i] = 1.0f;
    const double t0 = check_now();
    single_layers();
    printf("single layers: %d cases, %d accepted (%.1f s)\n", cases_geom,
           outcomes[FCN_OK], check_now() - t0);
    chains();
    disagreements();
    pad_bombs();
    score_budget();
    pool_bombs();
    printf("limits: %d geometry cases (%d accepted, refused: %d FORMAT, %d "
           "UNSUPPORTED (%d of them the accumulated geometry), %d SHAPE, %d "
           "NOMEM), %d attribute/weight "
           "disagreements, %d padding and score-map cases (%.1f s)\n",
           cases_geom, outcomes[FCN_OK], outcomes[FCN_ERR_FORMAT],
           outcomes[FCN_ERR_UNSUPPORTED], refused_geometry,
           outcomes[FCN_ERR_SHAPE],
           outcomes[FCN_ERR_NOMEM], cases_attr, cases_pad, check_now() - t0);
    CHECK(outcomes[FCN_OK] > 500 && outcomes[FCN_ERR_FORMAT] > 1000 &&
              refused_geometry > 100 &&
              outcomes[FCN_ERR_UNSUPPORTED] > 100 &&
              outcomes[FCN_ERR_SHAPE] > 100 && outcomes[FCN_ERR_NOMEM] > 5,
          "the generated cases miss an outcome");
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "tests/fixtures";
    const char *tmp = argc > 2 ? argv[2] : ".";
    char path[1024];
    size_t size;
    snprintf(path, sizeof path, "%s/cf_dense2/model.bin", dir);
    unsigned char *good = slurp(path, &size);
    CHECK(good != NULL, "cannot read %s", path);
    if (!good)
        return check_done();
    fcn_model *m = NULL;
    CHECK(fcn_model_load_memory(good, size, NULL, &m) == FCN_OK,
          "valid model refused: %s", fcn_last_error());
    fcn_model_info info;
    fcn_model_get_info(m, &info);

    /* Every proper prefix. */
    int prefix_ok = 1;
    for (size_t n = 0; n < size; n++) {
        fcn_model *x = NULL;
        fcn_status st = fcn_model_load_memory(good, n, NULL, &x);
        if (st == FCN_OK || x || !strlen(fcn_last_error())) {
            prefix_ok = 0;
            CHECK(0, "prefix of %zu bytes accepted", n);
            fcn_model_free(x);
        }
    }
    CHECK(prefix_ok, "every prefix refused (%zu prefixes)", size);

    /* Random byte flips. Weight bytes may change values and still load;
    ** the rest must be caught. A loaded model is run at its trained size. */
    unsigned char *buf = malloc(size);
    int loaded = 0, refused = 0;
    const fcn_session_options one = {.threads = 1, .mem_limit = 0, .tile = 0};
    for (int it = 0; it < 3000 && buf; it++) {
        memcpy(buf, good, size);
        int flips = 1 + (int)(next() % 4);
        for (int k = 0; k < flips; k++) {
            size_t at = (size_t)(next() % size);
            /* half of the flips hit the header and graph section */
            if (k == 0 && (it & 1))
                at = (size_t)(next() % (size < 2048 ? size : 2048));
            buf[at] ^= (unsigned char)(1u << (next() % 8));
        }
        fcn_model *x = NULL;
        fcn_status st = fcn_model_load_memory(buf, size, NULL, &x);
        if (st == FCN_OK) {
            loaded++;
            fcn_model_info xi;
            fcn_model_get_info(x, &xi);
            fcn_session *s = NULL;
            if (xi.in_h <= 64 && xi.in_w <= 64 &&
                fcn_session_create(x, xi.in_h, xi.in_w, &one, &s) == FCN_OK) {
                float *in = calloc((size_t)xi.in_c * xi.in_h * xi.in_w,
                                   sizeof(float));
                fcn_scores sc;
                if (in)
                    fcn_session_run(s, in, &sc);
                free(in);
            }
            fcn_session_free(s);
            fcn_model_free(x);
        } else {
            refused++;
            CHECK(x == NULL && strlen(fcn_last_error()) > 10,
                  "refusal without a message");
        }
    }
    CHECK(refused > 100 && loaded > 0, "byte flips: %d refused, %d loaded",
          refused, loaded);
    printf("byte flips: %d refused, %d loaded\n", refused, loaded);

    /* Wrong version. */
    memcpy(buf, good, size);
    buf[8] = 2;
    fcn_model *x = NULL;
    CHECK(fcn_model_load_memory(buf, size, NULL, &x) == FCN_ERR_FORMAT &&
              strstr(fcn_last_error(), "version 2"),
          "version 2 accepted or unclear: %s", fcn_last_error());

    /* Defective models. */
    static const struct {
        const char *file, *needle;
    } bad[] = {
        {"dense_mismatch.bin", "'fc'"},    {"no_chain.bin", "t_missing"},
        {"bad_kernel.bin", "conv2"},       {"unknown_op.bin", "Frobnicate"},
        {"conv_weight_shape.bin", "conv1"}, {"unknown_attr.bin", "frobnication"},
        {"mistyped_attr.bin", "kernel"},   {"conv_after_flatten.bin", "conv2"},
        {"bad_input_shape.bin", "input_shape"}, {"truncated.bin", "truncated"},
        {"bad_magic.bin", "magic"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(path, sizeof path, "%s/bad/%s", dir, bad[i].file);
        x = NULL;
        fcn_status st = fcn_model_load(path, NULL, &x);
        CHECK(st != FCN_OK && !x && strstr(fcn_last_error(), bad[i].needle),
              "%s: status %d, message '%s' should name '%s'", bad[i].file, st,
              fcn_last_error(), bad[i].needle);
        fcn_model_free(x);
    }
    CHECK(fcn_model_load("/nonexistent/model.bin", NULL, &x) == FCN_ERR_IO,
          "missing file: %s", fcn_last_error());
    CHECK(fcn_model_load(dir, NULL, &x) != FCN_OK, "a directory accepted");

    /* Inputs the network cannot take. */
    fcn_session *s = NULL;
    fcn_status st = fcn_session_create(m, info.min_h - 1, info.in_w, NULL, &s);
    CHECK(st == FCN_ERR_SHAPE && !s && strstr(fcn_last_error(), "smaller"),
          "input below the minimum: %d, '%s'", st, fcn_last_error());
    st = fcn_session_create(m, info.min_h, info.min_w, NULL, &s);
    CHECK(st == FCN_OK, "minimum input %dx%d refused: %s", info.min_w,
          info.min_h, fcn_last_error());
    fcn_session_free(s);
    s = NULL;
    CHECK(fcn_session_create(m, 0, 10, NULL, &s) != FCN_OK && !s, "0 rows");
    CHECK(fcn_session_create(m, 1 << 30, 1 << 30, NULL, &s) != FCN_OK && !s,
          "absurd size accepted");
    CHECK(fcn_session_create(m, 200000, 200000, NULL, &s) != FCN_OK && !s,
          "200000^2 input accepted");

    /* Unreadable images and arrays. */
    fcn_tensor t;
    snprintf(path, sizeof path, "%s/not_an_image.png", tmp);
    write_file(path, "this is not a PNG file\n", 23);
    CHECK(fcn_image_load(m, path, 0, 0, &t) == FCN_ERR_FORMAT && !t.data,
          "text as image: %s", fcn_last_error());
    write_file(path, "\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
    CHECK(fcn_image_load(m, path, 0, 0, &t) == FCN_ERR_FORMAT && !t.data,
          "truncated PNG: %s", fcn_last_error());
    CHECK(fcn_image_load(m, "/nonexistent.png", 0, 0, &t) == FCN_ERR_IO,
          "missing image: %s", fcn_last_error());
    CHECK(fcn_npy_read(path, &t) == FCN_ERR_FORMAT, "PNG as npy");
    snprintf(path, sizeof path, "%s/bad.npy", tmp);
    static const char npy_hdr[] =
        "\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', 'fortran_order': False, "
        "'shape': (3, 1000, 1000), }";
    write_file(path, npy_hdr, sizeof npy_hdr - 1);
    CHECK(fcn_npy_read(path, &t) == FCN_ERR_FORMAT && !t.data,
          "truncated npy: %s", fcn_last_error());
    remove(path);
    snprintf(path, sizeof path, "%s/not_an_image.png", tmp);
    remove(path);

    free(buf);
    free(good);
    fcn_model_free(m);
    limits();
    return check_done();
}
