/*
** test_exact.c: the score map is the same bits whatever the tiling, the
** thread count or the region (fcn.h, docs/engine.md "Exact results"), on
** each of fcn's kernel variants this CPU runs, with Winograd always and
** never: padded VGG-like models (odd sizes, stride-2 convs, max and
** average pools, a depthwise conv, a large separable pool) with a Flatten
** -> Dense head and a GAP -> Dense head, built here as model.bin. For each:
**   - the untiled 1-thread map against a naive double-precision forward
**     written here (within the tolerance of the fixture tests), so that
**     exactness does not hide a wrong answer;
**   - forced tiles 1 to 5 and tiny memory limits, on 1 to 3 threads,
**     against it with memcmp;
**   - 24 random regions (fcn_session_create_region, the input window
**     only) and 4 on fcn_session_run_image, against its cells with memcmp;
**   - regions outside the map or empty refused (FCN_ERR_ARG, a message).
** And the one-pixel GEMV against the GEMM's column, bit for bit. OpenBLAS
** makes no such promise and is not tested here.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/gemm.h"
#include "ops/harness.h"
#include "testnet.h"

/* ---- the naive forward, in double, on the whole image ---- */

typedef struct dmap {
    double *p;
    int c, h, w;
} dmap;

static double at(const dmap *x, int c, int y, int q)
{
    if (y < 0 || y >= x->h || q < 0 || q >= x->w)
        return 0.0;
    return x->p[((int64_t)c * x->h + y) * x->w + q];
}

static dmap dmap_new(int c, int h, int w)
{
    dmap d = {calloc((size_t)c * h * w, sizeof(double)), c, h, w};
    if (!d.p)
        exit(2);
    return d;
}

/* A convolution (also the dense layers: kernel kh x kw, unpadded). */
static dmap ref_conv(const dmap *x, int cout, int kh, int kw, int s, int pad,
                     int groups, const float *wt, const float *b)
{
    dmap y = dmap_new(cout, net_out_size(x->h, kh, s, pad, pad),
                      net_out_size(x->w, kw, s, pad, pad));
    const int cg = x->c / groups, og = cout / groups;
    for (int o = 0; o < cout; o++)
        for (int i = 0; i < y.h; i++)
            for (int j = 0; j < y.w; j++) {
                double sum = b[o];
                for (int c = 0; c < cg; c++)
                    for (int ky = 0; ky < kh; ky++)
                        for (int kx = 0; kx < kw; kx++)
                            sum += (double)wt[(((int64_t)o * cg + c) * kh +
                                               ky) * kw + kx] *
                                   at(x, o / og * cg + c, i * s - pad + ky,
                                      j * s - pad + kx);
                y.p[((int64_t)o * y.h + i) * y.w + j] = sum;
            }
    return y;
}

static dmap ref_pool(const dmap *x, int max, int k, int s, int pad, int cip)
{
    dmap y = dmap_new(x->c, net_out_size(x->h, k, s, pad, pad),
                      net_out_size(x->w, k, s, pad, pad));
    for (int c = 0; c < x->c; c++)
        for (int i = 0; i < y.h; i++)
            for (int j = 0; j < y.w; j++) {
                double v = max ? -INFINITY : 0.0;
                int n = 0;
                for (int a = 0; a < k; a++)
                    for (int q = 0; q < k; q++) {
                        int yy = i * s - pad + a, xx = j * s - pad + q;
                        int inside = yy >= 0 && yy < x->h && xx >= 0 &&
                                     xx < x->w;
                        n += inside || cip;
                        if (inside)
                            v = max ? fmax(v, at(x, c, yy, xx))
                                    : v + at(x, c, yy, xx);
                    }
                y.p[((int64_t)c * y.h + i) * y.w + j] = max ? v : v / n;
            }
    return y;
}

static dmap net_ref(const net *m, const float *img, int H, int W)
{
    dmap x = dmap_new(m->C, H, W);
    for (int64_t i = 0; i < (int64_t)m->C * H * W; i++)
        x.p[i] = img[i];
    for (int i = 0; i < m->n; i++) {
        const lspec *l = &m->L[i];
        const shape s = m->in[i];
        dmap y;
        if (l->kind == L_CONV)
            y = ref_conv(&x, l->cout, l->k, l->k, l->s, l->pad, l->groups,
                         m->wt[i], m->bias[i]);
        else if (l->kind == L_MAX || l->kind == L_AVG)
            y = ref_pool(&x, l->kind == L_MAX, l->k, l->s, l->pad, l->cip);
        else if (l->kind == L_FLAT_DENSE)  /* Dense on every crop: a conv */
            y = ref_conv(&x, l->cout, s.h, s.w, 1, 0, 1, m->wt[i], m->bias[i]);
        else if (l->kind == L_GAP_DENSE) {  /* the trained window, stride 1 */
            dmap g = ref_pool(&x, 0, s.h, 1, 0, 0);
            y = ref_conv(&g, l->cout, 1, 1, 1, 0, 1, m->wt[i], m->bias[i]);
            free(g.p);
        } else {
            y = ref_conv(&x, l->cout, 1, 1, 1, 0, 1, m->wt[i], m->bias[i]);
        }
        if (l->relu)
            for (int64_t e = 0; e < (int64_t)y.c * y.h * y.w; e++)
                y.p[e] = y.p[e] > 0 ? y.p[e] : 0;
        free(x.p);
        x = y;
    }
    return x;
}

/* ---- the one-pixel GEMV sums as the GEMM sums a column ---- */

static void check_gemv(const gemm_isa *isa)
{
    static const int shapes[][3] = {/* M, K, m0 */
        {1, 1, 0}, {5, 7, 0}, {6, 256, 6}, {13, 257, 0}, {48, 300, 12},
        {50, 600, 0}, {97, 1000, 6}, {7, 4608, 0}};
    int differ = 0;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const int M = shapes[i][0], K = shapes[i][1], m0 = shapes[i][2];
        const int Mp = gemm_packed_rows(m0 + M);
        float *A = buf_new((int64_t)(m0 + M) * K),
              *Ap = buf_new((int64_t)Mp * K), *B = buf_new((int64_t)K * GEMM_NR), *C = buf_new((int64_t)M * 3),
              *y = buf_new(M);
        fill(A, (int64_t)(m0 + M) * K, -1.0f, 1.0f);
        fill(B, (int64_t)K * GEMM_NR, -1.0f, 1.0f);
        gemm_pack(m0 + M, K, A, Ap, 0);
        /* N = 1 and N = 3 (a tail panel), column 0 */
        for (int N = 1; N <= 3; N += 2) {
            gemm_panels(Ap, Mp, m0, M, N, K, B, C, N);
            gemv_panels(Ap, Mp, m0, M, K, B, GEMM_NR, y, 1);
            for (int m = 0; m < M; m++)
                differ += memcmp(&C[(int64_t)m * N], &y[m], sizeof(float)) != 0;
        }
        buf_free(A);
        buf_free(Ap);
        buf_free(B);
        buf_free(C);
        buf_free(y);
    }
    CHECK(!differ, "%s: %d outputs of the GEMV differ from the GEMM's column",
          isa->id, differ);
}

/* ---- runs ---- */

typedef struct ctx {
    const char *what;          /* model, ISA, Winograd */
    const fcn_model *m;
    int H, W;
    const float *x;            /* C x H x W */
    fcn_image img;             /* H x W x C */
    float *ref;                /* the untiled 1-thread map */
    float *ref_img;            /* the same from the image */
    int classes, oh, ow;
    size_t bytes;              /* the untiled session's arena + score map */
} ctx;

/* A session of the given options (region NULL: the whole map) run on the
** floats (its input window) or the image; its scores (owned by *s). */
static const float *run(const ctx *c, const fcn_region *cells, int threads,
                        int tile, size_t limit, int image, fcn_session **s,
                        fcn_scores *sc, int *tiles)
{
    const fcn_session_options so = {.threads = threads, .mem_limit = limit,
                                    .tile = tile};
    *s = NULL;
    fcn_status st = cells ? fcn_session_create_region(c->m, c->H, c->W, cells,
                                                      &so, s)
                          : fcn_session_create(c->m, c->H, c->W, &so, s);
    if (st == FCN_ERR_NOMEM && limit)
        return NULL;  /* too small a limit for this model: not a failure */
    CHECK(st == FCN_OK, "%s: session (%d threads, tile %d, limit %zu): %s",
          c->what, threads, tile, limit, fcn_last_error());
    if (st)
        return NULL;
    int y0, x0, h, w, th, tw;
    fcn_session_input_window(*s, &y0, &x0, &h, &w);
    fcn_session_tiles(*s, &th, &tw, tiles);
    const int C = c->img.c;
    float *win = malloc(sizeof(float) * (size_t)C * (h > 0 ? h : 1) *
                        (w > 0 ? w : 1));
    if (!win)
        exit(2);
    for (int ch = 0; ch < C; ch++)
        for (int r = 0; r < h; r++)
            memcpy(win + ((int64_t)ch * h + r) * w,
                   c->x + ((int64_t)ch * c->H + y0 + r) * c->W + x0,
                   sizeof(float) * w);
    st = image ? fcn_session_run_image(*s, &c->img, sc)
               : fcn_session_run(*s, win, sc);
    free(win);
    CHECK(st == FCN_OK, "%s: run: %s", c->what, fcn_last_error());
    return st ? NULL : sc->data;
}

/* Cells of region `g` (its map: sc) against the reference map, bit for
** bit. */
static int same_cells(const ctx *c, const float *ref, const fcn_region *g,
                      const fcn_scores *sc)
{
    if (sc->classes != c->classes || sc->out_h != g->height ||
        sc->out_w != g->width)
        return 0;
    for (int k = 0; k < c->classes; k++)
        for (int r = 0; r < g->height; r++)
            if (memcmp(sc->data + ((int64_t)k * g->height + r) * g->width,
                       ref + ((int64_t)k * c->oh + g->row + r) * c->ow +
                           g->col,
                       sizeof(float) * g->width))
                return 0;
    return 1;
}

/* The whole map untiled on 2 and 3 threads, and in forced tiles and under
** tiny limits on 1 to 3 threads (in turn). */
static void check_tilings(const ctx *c)
{
    const fcn_region all = {0, 0, c->oh, c->ow};
    /* limits of a half, two fifths and a third of the untiled memory */
    const size_t limits[] = {c->bytes / 2, c->bytes * 2 / 5,
                             c->bytes / 3};
    int differ = 0, runs = 0, tiled = 0;
    for (int v = 0; v < 13; v++) {
        const int threads = v < 2 ? v + 2 : 1 + v % 3;
        const int tile = v < 2 ? 0 : v < 10 ? (v - 2) % 5 + 1 : 0;
        const size_t limit = v < 10 ? 0 : limits[v - 10];
        fcn_session *s;
        fcn_scores sc;
        int tiles = 0;
        if (run(c, NULL, threads, tile, limit, 0, &s, &sc, &tiles)) {
            differ += !same_cells(c, c->ref, &all, &sc);
            runs++;
            tiled += tiles > 1;
        }
        fcn_session_free(s);
    }
    CHECK(!differ && runs == 13 && tiled == 11,
          "%s: %d of %d tilings (%d with several tiles) differ from the "
          "untiled map", c->what, differ, runs, tiled);
}

static fcn_region random_region(const ctx *c)
{
    fcn_region g;
    g.row = irand(0, c->oh - 1);
    g.col = irand(0, c->ow - 1);
    /* small regions mostly (edges, single cells), some large */
    const int big = irand(0, 3) == 0, hmax = c->oh - g.row,
              wmax = c->ow - g.col;
    g.height = irand(1, big || hmax < 4 ? hmax : 4);
    g.width = irand(1, big || wmax < 4 ? wmax : 4);
    return g;
}

static void check_regions(const ctx *c)
{
    int differ = 0, runs = 0, img_differ = 0, img_runs = 0;
    for (int i = 0; i < 28; i++) {
        const fcn_region g = random_region(c);
        const int image = i >= 24, threads = irand(1, 3);
        const int tile = irand(0, 2) ? 0 : irand(1, 4);
        fcn_session *s;
        fcn_scores sc;
        int tiles;
        if (run(c, &g, threads, tile, 0, image, &s, &sc, &tiles)) {
            const int ok = same_cells(c, image ? c->ref_img : c->ref, &g, &sc);
            if (!ok)
                fprintf(stderr, "%s: region rows %d+%d, cols %d+%d (%d "
                        "threads, tile %d%s) differs\n", c->what, g.row,
                        g.height, g.col, g.width, threads, tile,
                        image ? ", image" : "");
            differ += !image && !ok;
            img_differ += image && !ok;
            runs += !image;
            img_runs += image;
        }
        fcn_session_free(s);
    }
    CHECK(!differ && runs == 24, "%s: %d of %d regions differ from the "
          "whole map's cells", c->what, differ, runs);
    CHECK(!img_differ && img_runs == 4, "%s: %d of %d regions of the image "
          "differ from the whole image's cells", c->what, img_differ,
          img_runs);
}

/* The untiled map against the naive double forward. */
static void check_reference(const ctx *c, const net *m)
{
    dmap r = net_ref(m, c->x, c->H, c->W);
    double worst = 0, big = 1;
    int ok = r.c == c->classes && r.h == c->oh && r.w == c->ow;
    for (int64_t i = 0; ok && i < (int64_t)r.c * r.h * r.w; i++)
        big = fmax(big, fabs(r.p[i]));
    for (int64_t i = 0; ok && i < (int64_t)r.c * r.h * r.w; i++) {
        double e = fabs(c->ref[i] - r.p[i]);
        worst = !(e <= worst) ? (isnan(e) ? INFINITY : e) : worst;
    }
    CHECK(ok && worst <= 1e-4 * big, "%s: map %dx%dx%d (naive %dx%dx%d), "
          "largest error %.3g > 1e-4 x %.3g", c->what, c->classes, c->oh,
          c->ow, r.c, r.h, r.w, worst, big);
    free(r.p);
}

/* Refusals of regions outside the map, empty, or NULL. */
static void check_refusals(const ctx *c)
{
    const fcn_region bad[] = {{-1, 0, 1, 1}, {0, -1, 1, 1},
                              {c->oh, 0, 1, 1}, {0, c->ow, 1, 1},
                              {0, 0, c->oh + 1, 1}, {1, 2, 1, c->ow},
                              {0, 0, 0, 1}, {0, 0, 1, 0}, {2, 2, -3, 1},
                              {1, 1, 0x7fffffff, 1}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fcn_session *s = (fcn_session *)&s;
        fcn_status st = fcn_session_create_region(c->m, c->H, c->W, &bad[i],
                                                  NULL, &s);
        const char *e = fcn_last_error();
        CHECK(st == FCN_ERR_ARG && !s && strstr(e, "region") &&
                  !strchr(e, '\n'),
              "%s: region %d,%d %dx%d: status %d, '%s'", c->what, bad[i].row,
              bad[i].col, bad[i].height, bad[i].width, st, e);
    }
    fcn_session *s = (fcn_session *)&s;
    CHECK(fcn_session_create_region(c->m, c->H, c->W, NULL, NULL, &s) ==
                  FCN_ERR_ARG && !s,
          "%s: a NULL region is refused", c->what);
}

static void check_net(net *m, int H, int W, const gemm_isa *isa,
                      fcn_winograd wino)
{
    char what[160];
    snprintf(what, sizeof what, "%s %dx%d, %s, Winograd %s", m->name, W, H,
             isa->id, wino == FCN_WINOGRAD_ALWAYS ? "always" : "never");
    fcn_model *model = net_load(m, wino);
    if (!model)
        return;
    ctx c = {what, model, H, W, NULL, {0}, NULL, NULL, 0, 0, 0, 0};
    const int C = m->C;
    float *x = malloc(sizeof(float) * (size_t)C * H * W);
    unsigned char *px = malloc((size_t)C * H * W);
    if (!x || !px)
        exit(2);
    fill(x, (int64_t)C * H * W, -1.0f, 1.0f);
    for (int64_t i = 0; i < (int64_t)C * H * W; i++)
        px[i] = (unsigned char)irand(0, 255);
    c.x = x;
    c.img = (fcn_image){.pixels = px, .w = W, .h = H, .c = C};
    fcn_session *s0, *s1;
    fcn_scores sc, sc1;
    int tiles = 0, tiles1 = 0;
    c.ref = (float *)run(&c, NULL, 1, 0, 0, 0, &s0, &sc, &tiles);
    c.ref_img = (float *)run(&c, NULL, 1, 0, 0, 1, &s1, &sc1, &tiles1);
    if (c.ref && c.ref_img) {
        c.classes = sc.classes;
        c.oh = sc.out_h;
        c.ow = sc.out_w;
        c.bytes = fcn_session_arena_bytes(s0) +
                  sizeof(float) * (size_t)c.classes * c.oh * c.ow;
        CHECK(tiles == 1 && c.oh >= 6 && c.ow >= 6, "%s: the reference is "
              "one tile (%d) of a map of at least 6x6 (%dx%d)", what, tiles,
              c.oh, c.ow);
        /* Winograd where forced: the 3x3 stride-1 layers report it */
        fcn_layer_stats st[32];
        int n = fcn_session_layers(s0, st, 32), wino_layers = 0;
        for (int i = 0; i < n && i < 32; i++)
            wino_layers += st[i].kernel &&
                           !strncmp(st[i].kernel, "winograd/", 9);
        CHECK((wino == FCN_WINOGRAD_ALWAYS) == (wino_layers > 0),
              "%s: %d layers on Winograd", what, wino_layers);
        check_reference(&c, m);
        check_tilings(&c);
        check_regions(&c);
        check_refusals(&c);
    }
    fcn_session_free(s0);
    fcn_session_free(s1);
    fcn_model_free(model);
    free(x);
    free(px);
}

int main(void)
{
    net flat = net_vgg_flat();
    /* trained at 18x18: a 3x3/2 padded max pool to 9x9, then GAP (81 taps:
    ** the separable pool) -> Dense */
    net gap = {"VGG-like, GAP head", 3, 18, 18, 5,
               {{L_CONV, 8, 3, 1, 1, 1, 1, 0},
                {L_CONV, 16, 3, 1, 1, 1, 1, 0},
                {L_MAX, 0, 3, 2, 1, 1, 0, 0},
                {L_CONV, 16, 3, 1, 1, 1, 1, 0},
                {L_GAP_DENSE, 4, 0, 0, 0, 1, 0, 0}},
               {{0}}, {0}, {0}};
    net_weights(&flat);
    net_weights(&gap);
    int n_isa, used = 0;
    const gemm_isa *const *v = gemm_isa_variants(&n_isa);
    const gemm_isa *was = gemm_isa_get();
    for (int i = 0; i < n_isa; i++) {
        if (!v[i]->supported()) {
            printf("%s: not supported by this CPU, skipped\n", v[i]->id);
            continue;
        }
        used++;
        gemm_isa_set(v[i]);
        check_gemv(v[i]);
        for (int w = 0; w < 2; w++) {
            const fcn_winograd wino = w ? FCN_WINOGRAD_NEVER
                                        : FCN_WINOGRAD_ALWAYS;
            check_net(&flat, 45, 53, v[i], wino);
            check_net(&gap, 41, 50, v[i], wino);
        }
    }
    gemm_isa_set(was);
    if (!used)
        printf("no kernel variant of fcn runs on this CPU: nothing to "
               "test\n");
    net_free(&flat);
    net_free(&gap);
    return check_done();
}
