/*
** fcn-run: run a classifier, converted to a fully convolutional network, on
** an image or a .npy array of any size, and print or save its score map.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli.h"
#include "fcn.h"

static const char *usage =
    "usage: fcn-run MODEL INPUT [options]\n"
    "  INPUT          an image (PNG, JPEG, BMP, ...) preprocessed as the model\n"
    "                 says, or a .npy float32 array (C, H, W) used as is\n"
    "  --out FILE.npy write the score map (classes, H', W') as float32 .npy\n"
    "  --top K        also print the K best classes of every cell\n"
    "  --threads N    threads (default: all cores)\n"
    "  --resize WxH   resize the image first (model's filter)\n"
    "  --max-pixels N the largest image (width x height) decoded or resized\n"
    "                 to (default 100000000); larger ones are refused\n"
    "  --gap local    convert a global-pooling head per location (no window)\n"
    "  --mem-limit N  bytes for the score map and activations (K, M, G\n"
    "                 suffixes; default 512M); larger inputs run on spatial\n"
    "                 tiles, with equal results\n"
    "  --layers       print the converted network\n"
    "  -h, --help     this text\n";

typedef struct args {
    const char *model, *input, *out;
    int top, threads, rw, rh, layers;
    size_t mem_limit;
    fcn_options opt;
} args;

static int fail(const char *msg)
{
    fprintf(stderr, "fcn-run: %s\n", msg);
    return 1;
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcasecmp(s + a - b, suf);
}

/* 0: run; otherwise the exit status (after a message or the usage). */
static int parse_args(int argc, char **argv, args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        int more = i + 1 < argc;
        long v;
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            fputs(usage, stdout);
            return -1;
        } else if (!strcmp(s, "--out") && more) {
            a->out = argv[++i];
        } else if (!strcmp(s, "--top") && more) {
            if (!cli_int(argv[++i], 1, 1000, &v))
                return fail("--top needs a number from 1 to 1000");
            a->top = (int)v;
        } else if (!strcmp(s, "--threads") && more) {
            if (!cli_int(argv[++i], 1, 1024, &v))
                return fail("--threads needs a number from 1 to 1024");
            a->threads = (int)v;
        } else if (!strcmp(s, "--resize") && more) {
            if (!cli_wxh(argv[++i], 65536, &a->rw, &a->rh))
                return fail("--resize needs WxH, e.g. 448x448");
        } else if (!strcmp(s, "--max-pixels") && more) {
            if (!cli_int(argv[++i], 1, 4294967296L, &v))
                return fail("--max-pixels needs a number from 1 to "
                            "4294967296");
            a->opt.max_pixels = v;
        } else if (!strcmp(s, "--gap") && more) {
            const char *g = argv[++i];
            if (!strcmp(g, "local"))
                a->opt.gap_mode = FCN_GAP_LOCAL;
            else if (!strcmp(g, "window"))
                a->opt.gap_mode = FCN_GAP_WINDOW;
            else
                return fail("--gap takes 'window' or 'local'");
        } else if (!strcmp(s, "--mem-limit") && more) {
            if (!cli_size(argv[++i], &a->mem_limit))
                return fail("--mem-limit needs a size such as 512M or 2G");
        } else if (!strcmp(s, "--layers")) {
            a->layers = 1;
        } else if (s[0] == '-' && s[1]) {
            fprintf(stderr, "fcn-run: unknown or incomplete option '%s'\n%s",
                    s, usage);
            return 2;
        } else if (!a->model) {
            a->model = s;
        } else if (!a->input) {
            a->input = s;
        } else {
            fprintf(stderr, "fcn-run: unexpected argument '%s'\n%s", s, usage);
            return 2;
        }
    }
    if (!a->model || !a->input) {
        fputs(usage, stderr);
        return 2;
    }
    if (a->out && !ends_with(a->out, ".npy"))
        return fail("--out must name a .npy file");
    return 0;
}

typedef struct rank {
    int cls;
    float score;
    int y, x;
} rank;

static int by_score(const void *a, const void *b)
{
    float x = ((const rank *)a)->score, y = ((const rank *)b)->score;
    return x < y ? 1 : x > y ? -1 : 0;
}

static int is_background(const fcn_model *m, int c)
{
    const char *l = fcn_model_label(m, c);
    return l && !strcmp(l, "background");
}

/* The best score of each class over the map, and where: the five best. */
static int print_top_classes(const fcn_model *m, const fcn_scores *sc)
{
    const int C = sc->classes, HW = sc->out_h * sc->out_w;
    const fcn_geometry *g = &sc->geom;
    char b1[32];
    rank *best = calloc((size_t)C, sizeof *best);
    if (!best)
        return fail("out of memory");
    for (int c = 0; c < C; c++) {
        best[c] = (rank){c, -INFINITY, 0, 0};
        for (int p = 0; p < HW; p++)
            if (sc->data[(size_t)c * HW + p] > best[c].score)
                best[c] = (rank){c, sc->data[(size_t)c * HW + p],
                                 p / sc->out_w, p % sc->out_w};
    }
    qsort(best, (size_t)C, sizeof *best, by_score);
    printf("top classes over the map (best cell, its window x,y,w,h in "
           "pixels):\n");
    for (int k = 0, shown = 0; k < C && shown < 5; k++) {
        if (is_background(m, best[k].cls))
            continue;
        shown++;
        printf("  %-20s %10.4f  cell (%d,%d)  window %d,%d,%d,%d\n",
               cli_label(m, best[k].cls, b1, sizeof b1), best[k].score,
               best[k].y, best[k].x, best[k].x * g->stride_w + g->offset_w,
               best[k].y * g->stride_h + g->offset_h, g->rf_w, g->rf_h);
    }
    free(best);
    return 0;
}

/* The winning class of every cell, as a character map. */
static void print_class_map(const fcn_model *m, const fcn_scores *sc)
{
    const int C = sc->classes, HW = sc->out_h * sc->out_w;
    char b1[32];
    if (sc->out_w > 120 || sc->out_h > 200)
        return;
    printf("best class per cell ('.' = background):\n");
    for (int y = 0; y < sc->out_h; y++) {
        fputs("  ", stdout);
        for (int x = 0; x < sc->out_w; x++) {
            int bc = 0;
            for (int c = 1; c < C; c++)
                if (sc->data[(size_t)c * HW + y * sc->out_w + x] >
                    sc->data[(size_t)bc * HW + y * sc->out_w + x])
                    bc = c;
            putchar(is_background(m, bc) ? '.'
                    : bc < 10 ? '0' + bc : bc < 36 ? 'a' + bc - 10 : '#');
        }
        putchar('\n');
    }
    printf("  legend:");
    for (int c = 0; c < C && c < 36; c++)
        if (!is_background(m, c))
            printf(" %c=%s", c < 10 ? '0' + c : 'a' + c - 10,
                   cli_label(m, c, b1, sizeof b1));
    putchar('\n');
}

/* The top k classes of every cell. */
static int print_top_per_cell(const fcn_model *m, const fcn_scores *sc,
                              int top)
{
    const int C = sc->classes, HW = sc->out_h * sc->out_w;
    char b1[32];
    rank *r = malloc(sizeof *r * (size_t)C);
    if (!r)
        return fail("out of memory");
    printf("top %d per cell:\n", top);
    for (int p = 0; p < HW; p++) {
        for (int c = 0; c < C; c++)
            r[c] = (rank){c, sc->data[(size_t)c * HW + p], 0, 0};
        qsort(r, (size_t)C, sizeof *r, by_score);
        printf("  (%d,%d)", p / sc->out_w, p % sc->out_w);
        for (int k = 0; k < top && k < C; k++)
            printf("  %s %.4f", cli_label(m, r[k].cls, b1, sizeof b1),
                   r[k].score);
        putchar('\n');
    }
    free(r);
    return 0;
}

static void print_summary(const args *a, const fcn_model *m,
                          const fcn_session *s, const fcn_scores *sc,
                          const fcn_tensor *in, int is_npy, double ms)
{
    fcn_model_info info;
    fcn_model_get_info(m, &info);
    const fcn_geometry *g = &sc->geom;
    printf("model   %s: trained on %dx%dx%d (CxHxW), %d classes, %d layers "
           "-> %d after conversion, %.2f MB of weights, smallest input %dx%d "
           "(WxH)\n", a->model, info.in_c, info.in_h, info.in_w,
           info.classes, info.n_layers_file, info.n_layers_fcn,
           info.weight_bytes / 1e6, info.min_w, info.min_h);
    if (a->layers) {
        printf("converted layers (shapes at the trained size):\n");
        fputs(fcn_model_summary(m), stdout);
    }
    printf("input   %s: %dx%d (WxH), %d channel%s%s\n", a->input, in->w,
           in->h, in->c, in->c > 1 ? "s" : "", is_npy ? ", used as is" : "");
    printf("scores  %d classes x %d x %d cells (HxW)\n", sc->classes,
           sc->out_h, sc->out_w);
    printf("geometry cell (i,j) sees input rows %d*i%+d .. +%d, columns "
           "%d*j%+d .. +%d (stride %dx%d, receptive field %dx%d, offset "
           "%d,%d)\n", g->stride_h, g->offset_h, g->rf_h, g->stride_w,
           g->offset_w, g->rf_w, g->stride_h, g->stride_w, g->rf_h, g->rf_w,
           g->offset_h, g->offset_w);
    int th, tw, ntiles;
    fcn_session_tiles(s, &th, &tw, &ntiles);
    printf("time    %.1f ms, %d thread%s, %.1f MB arena", ms, a->threads,
           a->threads > 1 ? "s" : "", fcn_session_arena_bytes(s) / 1e6);
    if (ntiles > 1)
        printf(", %d tiles of %dx%d cells", ntiles, th, tw);
    printf("; %s; %s\n", fcn_gemm_info(FCN_GEMM_AUTO), fcn_blas_info());
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

/* The input: an image decoded once (preprocessed tile by tile as it
** runs) or a .npy array. 0 (after a message) on failure. */
static int read_input(const args *a, const fcn_model *m, int is_npy,
                      fcn_tensor *in, fcn_image *img)
{
    fcn_model_info info;
    fcn_model_get_info(m, &info);
    if (!is_npy) {
        if (fcn_image_decode(m, a->input, a->rh, a->rw, img) != FCN_OK)
            return !fail(fcn_last_error());
        *in = (fcn_tensor){NULL, img->c, img->h, img->w};
        return 1;
    }
    if (a->rw)
        fprintf(stderr, "fcn-run: --resize ignored for a .npy input\n");
    if (fcn_npy_read(a->input, in) != FCN_OK)
        return !fail(fcn_last_error());
    if (in->c != info.in_c) {
        fprintf(stderr, "fcn-run: %s has %d channels, the model takes %d\n",
                a->input, in->c, info.in_c);
        return 0;
    }
    return 1;
}

static int run(args *a)
{
    fcn_model *m = NULL;
    fcn_session *s = NULL;
    fcn_tensor in = {0};
    fcn_image img = {0};
    fcn_scores sc;
    int rc = 1, is_npy = ends_with(a->input, ".npy");
    if (fcn_model_load(a->model, &a->opt, &m) != FCN_OK)
        return fail(fcn_last_error());
    if (!read_input(a, m, is_npy, &in, &img))
        goto done;
    fcn_session_options so = {a->threads, a->mem_limit, 0};
    if (fcn_session_create(m, in.h, in.w, &so, &s) != FCN_OK) {
        fail(fcn_last_error());
        goto done;
    }
    double t0 = now_ms();
    if ((is_npy ? fcn_session_run(s, in.data, &sc)
                : fcn_session_run_image(s, &img, &sc)) != FCN_OK) {
        fail(fcn_last_error());
        goto done;
    }
    print_summary(a, m, s, &sc, &in, is_npy, now_ms() - t0);
    if (print_top_classes(m, &sc))
        goto done;
    print_class_map(m, &sc);
    if (a->top && print_top_per_cell(m, &sc, a->top))
        goto done;
    if (a->out) {
        int shape[3] = {sc.classes, sc.out_h, sc.out_w};
        if (fcn_npy_write(a->out, sc.data, 3, shape) != FCN_OK) {
            fail(fcn_last_error());
            goto done;
        }
        printf("wrote   %s (float32, %d x %d x %d)\n", a->out, sc.classes,
               sc.out_h, sc.out_w);
    }
    rc = 0;
done:
    fcn_tensor_free(&in);
    fcn_image_free(&img);
    fcn_session_free(s);
    fcn_model_free(m);
    return rc;
}

int main(int argc, char **argv)
{
    args a = {0};
    cli_signals();
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return cli_exit("fcn-run", rc < 0 ? 0 : rc);
    if (!a.threads)
        a.threads = fcn_default_threads();
    return cli_exit("fcn-run", run(&a));
}
