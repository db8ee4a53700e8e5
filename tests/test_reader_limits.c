/*
** test_reader_limits.c: test_reader's generated window layers (Conv and
** MaxPool attributes at and around every limit, alone and chained, against
** an independent 128-bit computation) and attributes that disagree with the
** weights. See test_reader.h.
**
** ---- limits (docs/model-format.md, "Limits and validation") ----
**
** Models generated here, with the window attributes of Conv and MaxPool at
** and around every limit (1, 2^15, 2^16, 2^20, 2^30, 2^31-1, 2^31, 2^40,
** 0, -1, the dilated kernel's extent and one either side of it), alone and
** chained so that products overflow 32 bits. Each is either refused with
** the status the rules give and a message naming the layer they blame, or
** loads with the geometry an independent computation (128-bit) gives.
** Plus attributes that disagree with the weights (here), padding bombs,
** and the score map in the session's memory budget (test_reader_bombs.c).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "test_reader.h"

int cases_geom, cases_attr, cases_pad;
int outcomes[FCN_ERR_ARG + 1];
int refused_geometry;
float ones[1 << 16];

/* n int64 attribute values (tl_ints takes ints). */
static void tl_i64(tlayer *t, const char *key, int n, const int64_t *v)
{
    static const int zero[4] = {0, 0, 0, 0};
    const int k = (int)t->L.attrs.n;
    tl_ints(t, key, n, zero);
    for (int i = 0; i < n; i++)
        t->iv[k][i] = v[i];
}

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
expect chain_ref(const win_case *L, int n, int64_t H, int64_t W)
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

const char *st_name(fcn_status s)
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
void chain_check(const win_case *L, int n, int H, int W)
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

win_case benign(int conv)
{
    win_case c = {conv, {1, 1}, {1, 1}, {1, 1}, {0, 0, 0, 0}, 0, 1};
    return c;
}

/* One window along one axis, every combination of the edge values. */
void single_layers(void)
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

void chains(void)
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

void disagreements(void)
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
