/*
** fcn-run: run a classifier, converted to a fully convolutional network, on
** an image or a .npy array of any size, and print or save its score map.
*/
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli_util.h"
#include "fcn.h"

static const char *usage =
    "usage: fcn-run MODEL INPUT [options]\n"
    "  INPUT          an image (PNG, JPEG, BMP, ...) preprocessed as the model\n"
    "                 says, or a .npy float32 array (C, H, W) used as is\n"
    "  --out FILE.npy write the score map (classes, H', W') as float32 .npy\n"
    "  --top K        also print the K best classes of every cell\n"
    "  --threads N    threads (default: all cores)\n"
    "  --resize WxH   resize the image first (model's filter)\n"
    "  --gap local    convert a global-pooling head per location (no window)\n"
    "  --mem-limit N  bytes for activations (K, M, G suffixes; default 512M);\n"
    "                 larger inputs run on spatial tiles, with equal results\n"
    "  --layers       print the converted network\n"
    "  -h, --help     this text\n";

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


int main(int argc, char **argv)
{
    const char *model_path = NULL, *input_path = NULL, *out_path = NULL;
    int top = 0, threads = 0, rw = 0, rh = 0, layers = 0;
    size_t mem_limit = 0;
    fcn_options opt = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(a, "--out") && more) {
            out_path = argv[++i];
        } else if (!strcmp(a, "--top") && more) {
            long v;
            if (!parse_int(argv[++i], 1, 1000, &v))
                return fail("--top needs a number from 1 to 1000");
            top = (int)v;
        } else if (!strcmp(a, "--threads") && more) {
            long v;
            if (!parse_int(argv[++i], 1, 1024, &v))
                return fail("--threads needs a number from 1 to 1024");
            threads = (int)v;
        } else if (!strcmp(a, "--resize") && more) {
            const char *v = argv[++i];
            char extra;
            if (sscanf(v, "%dx%d%c", &rw, &rh, &extra) != 2 || rw < 1 ||
                rh < 1 || rw > 65536 || rh > 65536)
                return fail("--resize needs WxH, e.g. 448x448");
        } else if (!strcmp(a, "--gap") && more) {
            const char *v = argv[++i];
            if (!strcmp(v, "local"))
                opt.gap_mode = FCN_GAP_LOCAL;
            else if (!strcmp(v, "window"))
                opt.gap_mode = FCN_GAP_WINDOW;
            else
                return fail("--gap takes 'window' or 'local'");
        } else if (!strcmp(a, "--mem-limit") && more) {
            if (!parse_size(argv[++i], &mem_limit))
                return fail("--mem-limit needs a size such as 512M or 2G");
        } else if (!strcmp(a, "--layers")) {
            layers = 1;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "fcn-run: unknown or incomplete option '%s'\n%s",
                    a, usage);
            return 2;
        } else if (!model_path) {
            model_path = a;
        } else if (!input_path) {
            input_path = a;
        } else {
            fprintf(stderr, "fcn-run: unexpected argument '%s'\n%s", a, usage);
            return 2;
        }
    }
    if (!model_path || !input_path) {
        fputs(usage, stderr);
        return 2;
    }
    if (out_path && !ends_with(out_path, ".npy"))
        return fail("--out must name a .npy file");

    fcn_model *m = NULL;
    fcn_session *s = NULL;
    fcn_tensor in = {0};
    fcn_image img = {0};
    int rc = 1;
    if (fcn_model_load(model_path, &opt, &m) != FCN_OK)
        return fail(fcn_last_error());
    fcn_model_info info;
    fcn_model_get_info(m, &info);

    int is_npy = ends_with(input_path, ".npy");
    fcn_status st;
    if (is_npy) {
        if (rw)
            fprintf(stderr, "fcn-run: --resize ignored for a .npy input\n");
        st = fcn_npy_read(input_path, &in);
        if (!st && in.c != info.in_c) {
            fprintf(stderr, "fcn-run: %s has %d channels, the model takes %d\n",
                    input_path, in.c, info.in_c);
            goto done;
        }
    } else {  /* decoded once; preprocessed tile by tile */
        st = fcn_image_decode(m, input_path, rh, rw, &img);
        in.c = img.c;
        in.h = img.h;
        in.w = img.w;
    }
    if (st) {
        fail(fcn_last_error());
        goto done;
    }
    if (!threads)
        threads = omp_get_max_threads();
    fcn_session_options so = {threads, mem_limit, 0};
    if (fcn_session_create(m, in.h, in.w, &so, &s) != FCN_OK) {
        fail(fcn_last_error());
        goto done;
    }
    fcn_scores sc;
    double t0 = omp_get_wtime();
    st = is_npy ? fcn_session_run(s, in.data, &sc)
                : fcn_session_run_image(s, &img, &sc);
    if (st != FCN_OK) {
        fail(fcn_last_error());
        goto done;
    }
    double ms = (omp_get_wtime() - t0) * 1e3;

    printf("model   %s: trained on %dx%dx%d (CxHxW), %d classes, %d layers "
           "-> %d after conversion, %.2f MB of weights, smallest input %dx%d "
           "(WxH)\n", model_path, info.in_c, info.in_h, info.in_w,
           info.classes, info.n_layers_file, info.n_layers_fcn,
           info.weight_bytes / 1e6, info.min_w, info.min_h);
    if (layers) {
        printf("converted layers (shapes at the trained size):\n");
        fputs(fcn_model_summary(m), stdout);
    }
    printf("input   %s: %dx%d (WxH), %d channel%s%s\n", input_path, in.w,
           in.h, in.c, in.c > 1 ? "s" : "", is_npy ? ", used as is" : "");
    printf("scores  %d classes x %d x %d cells (HxW)\n", sc.classes,
           sc.out_h, sc.out_w);
    printf("geometry cell (i,j) sees input rows %d*i%+d .. +%d, columns "
           "%d*j%+d .. +%d (stride %dx%d, receptive field %dx%d, offset %d,%d)\n",
           sc.geom.stride_h, sc.geom.offset_h, sc.geom.rf_h, sc.geom.stride_w,
           sc.geom.offset_w, sc.geom.rf_w, sc.geom.stride_h, sc.geom.stride_w,
           sc.geom.rf_h, sc.geom.rf_w, sc.geom.offset_h, sc.geom.offset_w);
    int th, tw, ntiles;
    fcn_session_tiles(s, &th, &tw, &ntiles);
    printf("time    %.1f ms, %d thread%s, %.1f MB arena", ms, threads,
           threads > 1 ? "s" : "", fcn_session_arena_bytes(s) / 1e6);
    if (ntiles > 1)
        printf(", %d tiles of %dx%d cells", ntiles, th, tw);
    printf("; %s; %s\n", fcn_gemm_info(FCN_GEMM_AUTO), fcn_blas_info());

    const int C = sc.classes, HW = sc.out_h * sc.out_w;
    char b1[32];
    /* Best score of each class over the map, and where. */
    rank *best = calloc((size_t)C, sizeof *best);
    if (!best) {
        fail("out of memory");
        goto done;
    }
    for (int c = 0; c < C; c++) {
        best[c] = (rank){c, -INFINITY, 0, 0};
        for (int p = 0; p < HW; p++)
            if (sc.data[(size_t)c * HW + p] > best[c].score)
                best[c] = (rank){c, sc.data[(size_t)c * HW + p], p / sc.out_w,
                                 p % sc.out_w};
    }
    qsort(best, (size_t)C, sizeof *best, by_score);
    printf("top classes over the map (best cell, its window x,y,w,h in pixels):\n");
    for (int k = 0, shown = 0; k < C && shown < 5; k++) {
        const char *l = fcn_model_label(m, best[k].cls);
        if (l && !strcmp(l, "background"))
            continue;
        shown++;
        printf("  %-20s %10.4f  cell (%d,%d)  window %d,%d,%d,%d\n",
               class_label(m, best[k].cls, b1, sizeof b1), best[k].score, best[k].y,
               best[k].x, best[k].x * sc.geom.stride_w + sc.geom.offset_w,
               best[k].y * sc.geom.stride_h + sc.geom.offset_h, sc.geom.rf_w,
               sc.geom.rf_h);
    }
    free(best);

    /* The winning class of every cell, as a character map. */
    if (sc.out_w <= 120 && sc.out_h <= 200) {
        printf("best class per cell ('.' = background):\n");
        for (int y = 0; y < sc.out_h; y++) {
            fputs("  ", stdout);
            for (int x = 0; x < sc.out_w; x++) {
                int bc = 0;
                for (int c = 1; c < C; c++)
                    if (sc.data[(size_t)c * HW + y * sc.out_w + x] >
                        sc.data[(size_t)bc * HW + y * sc.out_w + x])
                        bc = c;
                const char *l = fcn_model_label(m, bc);
                putchar(l && !strcmp(l, "background") ? '.'
                        : bc < 10 ? '0' + bc : bc < 36 ? 'a' + bc - 10 : '#');
            }
            putchar('\n');
        }
        printf("  legend:");
        for (int c = 0; c < C && c < 36; c++) {
            const char *l = fcn_model_label(m, c);
            if (!l || strcmp(l, "background"))
                printf(" %c=%s", c < 10 ? '0' + c : 'a' + c - 10,
                       class_label(m, c, b1, sizeof b1));
        }
        putchar('\n');
    }
    if (top) {
        rank *r = malloc(sizeof *r * (size_t)C);
        if (!r) {
            fail("out of memory");
            goto done;
        }
        printf("top %d per cell:\n", top);
        for (int p = 0; p < HW; p++) {
            for (int c = 0; c < C; c++)
                r[c] = (rank){c, sc.data[(size_t)c * HW + p], 0, 0};
            qsort(r, (size_t)C, sizeof *r, by_score);
            printf("  (%d,%d)", p / sc.out_w, p % sc.out_w);
            for (int k = 0; k < top && k < C; k++)
                printf("  %s %.4f", class_label(m, r[k].cls, b1, sizeof b1),
                       r[k].score);
            putchar('\n');
        }
        free(r);
    }
    if (out_path) {
        int shape[3] = {sc.classes, sc.out_h, sc.out_w};
        if (fcn_npy_write(out_path, sc.data, 3, shape) != FCN_OK) {
            fail(fcn_last_error());
            goto done;
        }
        printf("wrote   %s (float32, %d x %d x %d)\n", out_path, sc.classes,
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
