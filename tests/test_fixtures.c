/*
** test_fixtures.c: converted networks against PyTorch.
**
** tests/fixtures/manifest.txt lists models (random weights) written by
** tools/dev/gen_fixtures.py with inputs and the outputs PyTorch computed in
** float64: the classifier at its trained size, and on larger inputs the
** classifier on every crop (VALID models) or a hand-converted PyTorch FCN.
** Each check: max|fcn - torch| <= tol * max(1, max|torch|), untiled with 1
** and 3 threads and on spatial tiles of 1 and 3 score-map cells; all four
** must agree bit for bit.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fcn.h"

static double tile_diff;  /* largest tiled-vs-untiled difference seen */
static double worst_err[2]; /* largest error vs the reference: im2col, winograd */

static void run_case(const char *dir, const char *name, const char *model,
                     const char *input, const char *expect, double tol,
                     const char *opts, fcn_winograd wino, fcn_gemm gemm)
{
    char p[1024];
    fcn_options opt = {0};
    if (strstr(opts, "gap=local"))
        opt.gap_mode = FCN_GAP_LOCAL;
    opt.winograd = wino;
    opt.gemm = gemm;
    fcn_model *m = NULL;
    snprintf(p, sizeof p, "%s/%s", dir, model);
    fcn_status st = fcn_model_load(p, &opt, &m);
    CHECK(st == FCN_OK, "%s: load: %s", name, fcn_last_error());
    if (st)
        return;
    fcn_tensor in = {0}, ex = {0};
    snprintf(p, sizeof p, "%s/%s", dir, input);
    /* a .png goes through fcn's decoding and the model's preprocessing */
    fcn_image img = {0};
    int png = strlen(input) > 4 && !strcmp(input + strlen(input) - 4, ".png");
    if (png) {
        st = fcn_image_decode(m, p, 0, 0, &img);
        in.c = img.c;
        in.h = img.h;
        in.w = img.w;
    } else {
        st = fcn_npy_read(p, &in);
    }
    CHECK(st == FCN_OK, "%s: %s", name, fcn_last_error());
    snprintf(p, sizeof p, "%s/%s", dir, expect);
    fcn_status st2 = fcn_npy_read(p, &ex);
    CHECK(st2 == FCN_OK, "%s: %s", name, fcn_last_error());
    float *first = NULL;
    /* untiled with 1 and 3 threads; on tiles of 1 and 3 score-map cells */
    static const fcn_session_options cfg[4] = {
        {.threads = 1}, {.threads = 3}, {.threads = 2, .tile = 1},
        {.threads = 1, .tile = 3}};
    for (int t = 0; t < 4 && !st && !st2; t++) {
        int threads = cfg[t].threads;
        fcn_session *s = NULL;
        st = fcn_session_create(m, in.h, in.w, &cfg[t], &s);
        CHECK(st == FCN_OK, "%s %s: session: %s", name, input, fcn_last_error());
        if (st)
            break;
        fcn_scores sc;
        CHECK((png ? fcn_session_run_image(s, &img, &sc)
                   : fcn_session_run(s, in.data, &sc)) == FCN_OK,
              "%s: run: %s", name, fcn_last_error());
        int shape_ok = sc.classes == ex.c && sc.out_h == ex.h && sc.out_w == ex.w;
        CHECK(shape_ok, "%s %s: score map %dx%dx%d, PyTorch %dx%dx%d", name,
              input, sc.classes, sc.out_h, sc.out_w, ex.c, ex.h, ex.w);
        if (shape_ok) {
            size_t n = (size_t)ex.c * ex.h * ex.w, worst = 0;
            double scale = 1.0, err = 0.0;
            for (size_t i = 0; i < n; i++)
                if (fabs(ex.data[i]) > scale)
                    scale = fabs(ex.data[i]);
            for (size_t i = 0; i < n; i++) {
                double e = fabs((double)sc.data[i] - ex.data[i]);
                if (!(e <= err)) {
                    err = e;
                    worst = i;
                }
            }
            CHECK(err <= tol * scale, "%s %s (%d threads, tile %d, winograd "
                  "%s, %s): max error %.3g at element %zu (fcn %.7g, "
                  "reference %.7g) > %.1g x %.3g", name, input, threads,
                  cfg[t].tile, wino == FCN_WINOGRAD_ALWAYS ? "on" : "off",
                  gemm == FCN_GEMM_BLAS ? "OpenBLAS" : "packed", err, worst,
                  sc.data[worst], ex.data[worst], tol, scale);
            if (err / scale > worst_err[wino == FCN_WINOGRAD_ALWAYS])
                worst_err[wino == FCN_WINOGRAD_ALWAYS] = err / scale;
            if (!first) {
                first = malloc(n * sizeof(float));
                if (first)
                    memcpy(first, sc.data, n * sizeof(float));
            } else if (!cfg[t].tile) {
                CHECK(!memcmp(first, sc.data, n * sizeof(float)),
                      "%s %s: %d threads differs from 1 thread", name, input,
                      threads);
            } else {
                /* OpenBLAS's SGEMM rounds differently for different GEMM
                ** widths, and a tile's layers have narrower windows; the
                ** tiled map equals the untiled one to float32 rounding. */
                double d = 0;
                for (size_t i = 0; i < n; i++)
                    d = fmax(d, fabs((double)first[i] - sc.data[i]));
                if (d / scale > tile_diff)
                    tile_diff = d / scale;
                CHECK(d <= 1e-5 * scale, "%s %s: tiles of %d differ from the "
                      "untiled map by %.3g", name, input, cfg[t].tile, d);
            }
        }
        fcn_session_free(s);
    }
    free(first);
    fcn_tensor_free(&in);
    fcn_image_free(&img);
    fcn_tensor_free(&ex);
    fcn_model_free(m);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "tests/fixtures";
    char path[1024], line[2048];
    snprintf(path, sizeof path, "%s/manifest.txt", dir);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "cannot open %s", path);
    if (!f)
        return check_done();
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        char name[256], model[256], input[256], expect[256], opts[256];
        double tol;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (sscanf(line, "%255s %255s %255s %255s %lf %255s", name, model,
                   input, expect, &tol, opts) != 6) {
            CHECK(0, "bad manifest line: %s", line);
            continue;
        }
        /* every 3x3 stride-1 conv through im2col, then through Winograd */
        /* each path: im2col and Winograd, on fcn's kernel with packed
        ** weights (where the CPU has it) and on OpenBLAS */
        for (int g = 0; g < 2; g++) {
            fcn_gemm gm = g ? FCN_GEMM_BLAS : FCN_GEMM_AUTO;
            run_case(dir, name, model, input, expect, tol, opts,
                     FCN_WINOGRAD_NEVER, gm);
            run_case(dir, name, model, input, expect, tol, opts,
                     FCN_WINOGRAD_ALWAYS, gm);
        }
        cases++;
    }
    fclose(f);
    CHECK(cases > 0, "no fixture checks in %s", path);
    printf("%d cases; largest error / max(1, max|expected|): %.3g im2col, "
           "%.3g Winograd; tiled vs untiled: %.3g\n", cases, worst_err[0],
           worst_err[1], tile_diff);
    return check_done();
}
