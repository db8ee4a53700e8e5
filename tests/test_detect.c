/*
** test_detect: the detection helpers of fcn_detect.h. Box geometry against
** hand-computed cases (stride, offsets into the padding, pyramid scales,
** sizes that do not divide evenly), padding reports against a cell-by-cell
** count, cells to detections on a synthetic score map, heat-map sampling of
** a linear ramp, greedy per-class NMS against a naive O(n^2) reference
** on random boxes, and the detector (the whole pyramid) against the same
** pyramid built by hand from sessions, a box formula written out here and
** the naive suppression.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fcn_detect.h"

static int near(double a, double b)
{
    return fabs(a - b) <= 1e-9 * fmax(1, fabs(b));
}

static int box_is(fcn_box b, double x, double y, double w, double h)
{
    return near(b.x, x) && near(b.y, y) && near(b.w, w) && near(b.h, h);
}

#define CHECK_BOX(b, X, Y, W, H)                                              \
    do {                                                                      \
        fcn_box b_ = (b);                                                     \
        CHECK(box_is(b_, X, Y, W, H), "box %g,%g,%g,%g, expected %g,%g,%g,%g", \
              b_.x, b_.y, b_.w, b_.h, (double)(X), (double)(Y), (double)(W),  \
              (double)(H));                                                   \
    } while (0)

static void test_levels(void)
{
    fcn_level lv;
    CHECK(fcn_level_make(224, 160, 1.0, &lv) == FCN_OK, "level 1");
    CHECK(lv.width == 224 && lv.height == 160 && lv.scale_x == 1 &&
          lv.scale_y == 1, "level 1 size");
    /* 224*0.8 = 179.2 -> 179, 160*0.8 = 128 */
    CHECK(fcn_level_make(224, 160, 0.8, &lv) == FCN_OK, "level 0.8");
    CHECK(lv.width == 179 && lv.height == 128, "level 0.8 size %dx%d",
          lv.width, lv.height);
    CHECK(near(lv.scale_x, 179.0 / 224) && near(lv.scale_y, 0.8),
          "level 0.8 exact factors");
    /* 0.5 rounds up at .5: 225*0.5 = 112.5 -> 113 */
    CHECK(fcn_level_make(225, 3, 0.5, &lv) == FCN_OK && lv.width == 113 &&
          lv.height == 2, "rounding %dx%d", lv.width, lv.height);
    CHECK(fcn_level_make(10, 10, 0.01, &lv) == FCN_OK && lv.width == 1 &&
          lv.height == 1, "at least one pixel");
    CHECK(fcn_level_make(100, 100, 0, &lv) == FCN_ERR_ARG, "scale 0");
    CHECK(fcn_level_make(100, 100, -1, &lv) == FCN_ERR_ARG, "scale < 0");
    CHECK(fcn_level_make(100, 100, NAN, &lv) == FCN_ERR_ARG, "scale NaN");
    CHECK(fcn_level_make(40000, 10, 2, &lv) == FCN_ERR_ARG, "too large");
    CHECK(fcn_level_make(0, 10, 1, &lv) == FCN_ERR_ARG, "empty image");

    double s[16];
    int n = fcn_pyramid_scales(0.6, 1.25, 0.8, s, 16);
    CHECK(n == 4 && near(s[0], 1.25) && near(s[1], 1) && near(s[2], 0.8) &&
          near(s[3], 0.64), "pyramid 1.25..0.6 step 0.8: %d levels", n);
    n = fcn_pyramid_scales(0.64, 1.25, 0.8, s, 16);
    CHECK(n == 4, "pyramid down to exactly 0.64: %d levels", n);
    n = fcn_pyramid_scales(1, 1, 0.5, s, 16);
    CHECK(n == 1 && s[0] == 1, "one level");
    n = fcn_pyramid_scales(0.1, 1, 0.9, s, 2);
    CHECK(n == 22 && near(s[1], 0.9), "count beyond max_out: %d", n);
    CHECK(fcn_pyramid_scales(0, 1, 0.8, s, 16) == -1, "min 0");
    CHECK(fcn_pyramid_scales(1, 0.5, 0.8, s, 16) == -1, "max < min");
    CHECK(fcn_pyramid_scales(0.5, 1, 1, s, 16) == -1, "step 1");
}

static void test_geometry(void)
{
    /* the bundled model: stride 4, no offset, 28x28 windows */
    fcn_geometry g = {4, 4, 0, 0, 28, 28};
    fcn_level lv;
    fcn_level_make(224, 160, 1, &lv);
    CHECK_BOX(fcn_cell_window(&g, 7, 25), 100, 28, 28, 28);
    CHECK_BOX(fcn_cell_box(&g, 7, 25, &lv), 100, 28, 28, 28);
    /* scale 0.5 on 200x100: level 100x50; cell (2,3) sees level pixels
       x 12..40, y 8..36, i.e. image pixels x 24..80, y 16..72 */
    fcn_level_make(200, 100, 0.5, &lv);
    CHECK_BOX(fcn_cell_box(&g, 2, 3, &lv), 24, 16, 56, 56);
    /* scale 1.25 on 224x160: level 280x200; cell (10,8) at 32,40 -> 25.6,32 */
    fcn_level_make(224, 160, 1.25, &lv);
    CHECK_BOX(fcn_cell_box(&g, 10, 8, &lv), 25.6, 32, 22.4, 22.4);
    /* uneven: 225x161 at 0.8 -> 180x129; scale_x 0.8, scale_y 129/161 */
    fcn_level_make(225, 161, 0.8, &lv);
    CHECK(lv.width == 180 && lv.height == 129, "225x161 at 0.8");
    CHECK_BOX(fcn_cell_box(&g, 3, 5, &lv), 25, 12 * 161.0 / 129, 35,
              28 * 161.0 / 129);

    /* a padded network: stride 8x6 (rows x cols), offsets -5 and -3, windows
       40 high and 36 wide */
    fcn_geometry p = {8, 6, -5, -3, 40, 36};
    fcn_level_make(100, 80, 1, &lv);
    CHECK_BOX(fcn_cell_window(&p, 0, 0), -3, -5, 36, 40);
    CHECK_BOX(fcn_box_clip(fcn_cell_box(&p, 0, 0, &lv), 100, 80), 0, 0, 33,
              35);
    /* cell (2,4): x = 21, y = 11, inside */
    CHECK_BOX(fcn_box_clip(fcn_cell_box(&p, 2, 4, &lv), 100, 80), 21, 11, 36,
              40);
    CHECK(fcn_cell_padded(&p, 0, 0, 80, 100), "corner cell padded");
    CHECK(fcn_cell_padded(&p, 2, 0, 80, 100), "left column padded");
    CHECK(!fcn_cell_padded(&p, 2, 4, 80, 100), "inner cell not padded");
    /* row 5: y = 35, 35 + 40 = 75 <= 80: inside; row 6: 43 + 40 > 80 */
    CHECK(!fcn_cell_padded(&p, 5, 4, 80, 100), "row 5 inside");
    CHECK(fcn_cell_padded(&p, 6, 4, 80, 100), "row 6 reaches below");
    /* same network at scale 0.5 on 200x160: level 100x80, boxes doubled */
    fcn_level_make(200, 160, 0.5, &lv);
    CHECK_BOX(fcn_cell_box(&p, 2, 4, &lv), 42, 22, 72, 80);
    CHECK_BOX(fcn_box_clip(fcn_cell_box(&p, 0, 0, &lv), 200, 160), 0, 0, 66,
              70);
    /* clipped at the far edges, and entirely outside */
    CHECK_BOX(fcn_box_clip((fcn_box){90, 70, 20, 20}, 100, 80), 90, 70, 10, 10);
    fcn_box out = fcn_box_clip((fcn_box){100, 10, 5, 5}, 100, 80);
    CHECK(out.w == 0 && out.h == 0, "outside: empty");

    /* IoU */
    fcn_box a = {0, 0, 10, 10}, b = {5, 0, 10, 10}, c = {20, 20, 5, 5};
    CHECK(near(fcn_box_iou(a, a), 1), "iou same");
    CHECK(near(fcn_box_iou(a, b), 1.0 / 3), "iou half");
    CHECK(fcn_box_iou(a, c) == 0, "iou disjoint");
    CHECK(fcn_box_iou(a, (fcn_box){10, 0, 5, 5}) == 0, "iou touching");
    CHECK(near(fcn_box_iou(a, (fcn_box){2, 2, 4, 4}), 16.0 / 100), "nested");
    CHECK(fcn_box_iou(a, (fcn_box){0, 0, 0, 0}) == 0, "empty");
}

static void test_padding(void)
{
    /* rows: stride 2, offset -1, window 5, 6 rows over 10 pixels: windows
       start at -1 1 3 5 7 9: 1 row reaches above, 2 below (7+5, 9+5 > 10).
       columns: stride 2, offset -1, window 5, 4 columns over 8 pixels:
       starts -1 1 3 5: 1 left, 1 right (5+5 > 8, 3+5 = 8 is inside). */
    fcn_geometry g = {2, 2, -1, -1, 5, 5};
    fcn_padding p;
    fcn_score_map_padding(&g, 6, 4, 10, 8, &p);
    CHECK(p.top == 1 && p.bottom == 2 && p.left == 1 && p.right == 1,
          "padding %d %d %d %d", p.top, p.bottom, p.left, p.right);
    CHECK(p.cells == 24 - 3 * 2, "padded cells %lld", p.cells);
    /* no padding for a VALID network */
    fcn_geometry v = {4, 4, 0, 0, 28, 28};
    fcn_score_map_padding(&v, 34, 50, 160, 224, &p);
    CHECK(p.cells == 0 && !p.top && !p.bottom && !p.left && !p.right,
          "VALID: nothing padded");
    /* random geometries against a cell-by-cell count */
    srand(7);
    for (int t = 0; t < 200; t++) {
        fcn_geometry r = {1 + rand() % 8, 1 + rand() % 8, -(rand() % 12),
                          -(rand() % 12), 1 + rand() % 40, 1 + rand() % 40};
        int oh = 1 + rand() % 30, ow = 1 + rand() % 30;
        int ih = 1 + rand() % 120, iw = 1 + rand() % 120;
        fcn_score_map_padding(&r, oh, ow, ih, iw, &p);
        long long n = 0;
        int top = 0, bottom = 0, left = 0, right = 0;
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                n += fcn_cell_padded(&r, i, j, ih, iw);
                fcn_box w = fcn_cell_window(&r, i, j);
                if (j == 0) {
                    top += w.y < 0;
                    bottom += w.y + w.h > ih;
                }
                if (i == 0) {
                    left += w.x < 0;
                    right += w.x + w.w > iw;
                }
            }
        CHECK(n == p.cells && top == p.top && bottom == p.bottom &&
              left == p.left && right == p.right,
              "random padding %d: %lld vs %lld cells", t, p.cells, n);
    }
}

static void test_cells(void)
{
    /* 3 classes x 4 x 5 cells, stride 4, offset -2, window 10, on a 20x18
       level of a 40x36 image (scale 0.5) */
    enum { C = 3, H = 4, W = 5 };
    float data[C * H * W] = {0};
    data[0 * H * W + 1 * W + 2] = 0.9f;  /* class 0 at (1,2) */
    data[1 * H * W + 0 * W + 0] = 0.5f;  /* class 1 at (0,0): = threshold */
    data[1 * H * W + 3 * W + 4] = 0.49f; /* below */
    data[2 * H * W + 2 * W + 1] = 0.99f; /* class 2 at (2,1) */
    fcn_scores sc = {data, C, H, W, {4, 4, -2, -2, 10, 10}};
    fcn_level lv;
    fcn_level_make(40, 36, 0.5, &lv);
    CHECK(lv.width == 20 && lv.height == 18, "level");
    fcn_detections v = {0};
    CHECK(fcn_detect_cells(&sc, &lv, 3, 0.5f, NULL, &v) == FCN_OK, "cells");
    CHECK(v.n == 3, "3 cells pass: %zu", v.n);
    if (v.n == 3) {
        /* class order, then rows, then columns */
        CHECK(v.d[0].cls == 0 && v.d[0].cell_i == 1 && v.d[0].cell_j == 2 &&
              v.d[0].level == 3 && v.d[0].scale == 0.5 && !v.d[0].padded,
              "first");
        /* (1,2): level window x 6..16, y 2..12 -> image 12,4 20x20 */
        CHECK_BOX(v.d[0].box, 12, 4, 20, 20);
        /* (0,0): level -2..8 -> image -4..16, clipped to 0..16 */
        CHECK(v.d[1].cls == 1 && v.d[1].padded && v.d[1].score == 0.5f,
              "second");
        CHECK_BOX(v.d[1].box, 0, 0, 16, 16);
        /* (2,1): level x 2..12, y 6..16 -> image 4,12 20x20 */
        CHECK(v.d[2].cls == 2 && !v.d[2].padded, "third");
        CHECK_BOX(v.d[2].box, 4, 12, 20, 20);
    }
    unsigned char on[C] = {1, 0, 1};
    v.n = 0;
    fcn_detect_cells(&sc, &lv, 0, 0.5f, on, &v);
    CHECK(v.n == 2 && v.d[0].cls == 0 && v.d[1].cls == 2, "class mask");
    /* the cap */
    fcn_detections small = {0};
    small.max = 1;
    CHECK(fcn_detect_cells(&sc, &lv, 0, 0.5f, NULL, &small) == FCN_ERR_NOMEM,
          "cap on detections");
    /* threshold below every score: every cell of every class */
    v.n = 0;
    CHECK(fcn_detect_cells(&sc, &lv, 0, -1.f, NULL, &v) == FCN_OK &&
          v.n == C * H * W, "all cells: %zu", v.n);
    fcn_detections_free(&v);
    fcn_detections_free(&small);
}

static void test_sample(void)
{
    /* a plane whose value is its column index j: sampling is linear, so
       pixel x gets ((x + 0.5) * scale - offset - rf/2) / stride, clamped */
    enum { H = 3, W = 6 };
    float plane[H * W];
    for (int i = 0; i < H; i++)
        for (int j = 0; j < W; j++)
            plane[i * W + j] = (float)j + 10.f * i;
    fcn_geometry g = {4, 4, 0, 0, 8, 8};
    fcn_level lv;
    fcn_level_make(50, 20, 0.5, &lv); /* level 25x10 */
    float *dst = malloc(sizeof *dst * 50 * 20);
    CHECK(fcn_score_plane_sample(plane, H, W, &g, &lv, dst, 0) == FCN_OK,
          "sample");
    int bad = 0;
    for (int y = 0; y < 20; y++)
        for (int x = 0; x < 50; x++) {
            double fj = ((x + 0.5) * 0.5 - 4) / 4, fi = ((y + 0.5) * 0.5 - 4) / 4;
            fj = fj < 0 ? 0 : fj > W - 1 ? W - 1 : fj;
            fi = fi < 0 ? 0 : fi > H - 1 ? H - 1 : fi;
            bad += fabs(dst[y * 50 + x] - (fj + 10 * fi)) > 1e-4;
        }
    CHECK(!bad, "ramp sampled wrongly at %d pixels", bad);
    /* accumulate keeps the maximum */
    float two[H * W];
    for (int k = 0; k < H * W; k++)
        two[k] = 12.5f;
    fcn_score_plane_sample(two, H, W, &g, &lv, dst, 1);
    bad = 0;
    for (int y = 0; y < 20; y++)
        for (int x = 0; x < 50; x++) {
            double fj = ((x + 0.5) * 0.5 - 4) / 4, fi = ((y + 0.5) * 0.5 - 4) / 4;
            fj = fj < 0 ? 0 : fj > W - 1 ? W - 1 : fj;
            fi = fi < 0 ? 0 : fi > H - 1 ? H - 1 : fi;
            bad += fabs(dst[y * 50 + x] - fmax(12.5, fj + 10 * fi)) > 1e-4;
        }
    CHECK(!bad, "accumulated max wrong at %d pixels", bad);
    /* a 1x1 map: constant */
    float one = 0.25f;
    fcn_score_plane_sample(&one, 1, 1, &g, &lv, dst, 0);
    CHECK(dst[0] == 0.25f && dst[50 * 20 - 1] == 0.25f, "1x1 map");
    free(dst);
}

/* ---- NMS against a naive reference ---- */

static unsigned long long rng_state = 88172645463325252ull;
static double urand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (rng_state >> 11) * (1.0 / 9007199254740992.0);
}

static const fcn_detection *ref_d;
static int ref_order(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    if (ref_d[x].score != ref_d[y].score)
        return ref_d[x].score > ref_d[y].score ? -1 : 1;
    return x < y ? -1 : 1;
}

/* The textbook greedy NMS: by decreasing score (ties: lower index first),
** keep one unless a kept one of its class has IoU > t. */
static size_t naive_nms(const fcn_detection *d, size_t n, double t,
                        size_t max_keep, size_t *keep)
{
    size_t *ord = malloc(sizeof *ord * (n + 1));
    for (size_t k = 0; k < n; k++)
        ord[k] = k;
    ref_d = d;
    qsort(ord, n, sizeof *ord, ref_order);
    size_t nk = 0;
    for (size_t k = 0; k < n && (!max_keep || nk < max_keep); k++) {
        int ok = 1;
        for (size_t q = 0; q < nk && ok; q++) {
            const fcn_detection *a = &d[keep[q]], *b = &d[ord[k]];
            if (a->cls == b->cls) {
                /* IoU written out independently of fcn_box_iou */
                double iw = fmin(a->box.x + a->box.w, b->box.x + b->box.w) -
                            fmax(a->box.x, b->box.x);
                double ih = fmin(a->box.y + a->box.h, b->box.y + b->box.h) -
                            fmax(a->box.y, b->box.y);
                double inter = iw > 0 && ih > 0 ? iw * ih : 0;
                double uni = a->box.w * a->box.h + b->box.w * b->box.h - inter;
                if (uni > 0 && inter / uni > t)
                    ok = 0;
            }
        }
        if (ok)
            keep[nk++] = ord[k];
    }
    free(ord);
    return nk;
}

static void test_nms(void)
{
    int mismatches = 0, trials = 300, empty_kept = 0;
    size_t total_kept = 0, total_in = 0;
    for (int t = 0; t < trials; t++) {
        size_t n = (size_t)(urand() * 400);
        int classes = 1 + (int)(urand() * 4);
        double spread = t % 10 == 0 ? 1e5 : 300; /* sparse: coarse grid */
        double ious[] = {0, 0.1, 0.3, 0.5, 0.7, 1};
        double iou = ious[(int)(urand() * 6)];
        size_t max_keep = urand() < 0.3 ? (size_t)(urand() * 20) : 0;
        fcn_detection *d = calloc(n + 1, sizeof *d), *e = calloc(n + 1, sizeof *e);
        size_t *keep = malloc(sizeof *keep * (n + 1));
        for (size_t k = 0; k < n; k++) {
            d[k].cls = (int)(urand() * classes);
            /* quantised scores: many ties */
            d[k].score = (float)(floor(urand() * 50) / 50);
            double s = 4 + urand() * (urand() < 0.1 ? 150 : 40);
            d[k].box = (fcn_box){urand() * spread, urand() * spread,
                                 s * (0.5 + urand()), s * (0.5 + urand())};
            if (urand() < 0.02)
                d[k].box.w = d[k].box.h = 0;
            d[k].cell_i = (int)k; /* identity */
        }
        memcpy(e, d, sizeof *d * n);
        size_t nk_ref = naive_nms(e, n, iou, max_keep, keep);
        size_t nk = 0;
        fcn_status st = fcn_nms(d, n, iou, max_keep, &nk);
        int ok = st == FCN_OK && nk == nk_ref;
        for (size_t k = 0; ok && k < nk; k++)
            ok = d[k].cell_i == e[keep[k]].cell_i &&
                 memcmp(&d[k], &e[keep[k]], sizeof d[k]) == 0;
        for (size_t k = 1; ok && k < nk; k++)
            ok = d[k - 1].score >= d[k].score;
        if (!ok && mismatches++ < 3)
            fprintf(stderr, "nms trial %d: n %zu iou %g max %zu: kept %zu vs "
                    "%zu\n", t, n, iou, max_keep, nk, nk_ref);
        total_kept += nk;
        total_in += n;
        empty_kept += n > 0 && nk == 0;
        free(d);
        free(e);
        free(keep);
    }
    CHECK(mismatches == 0, "NMS differs from the reference in %d of %d trials",
          mismatches, trials);
    CHECK(total_kept < total_in && total_kept > 0, "NMS suppressed something "
          "(%zu of %zu kept)", total_kept, total_in);
    CHECK(!empty_kept, "never keeps nothing");

    /* hand-made: two overlapping of one class, one of another */
    fcn_detection h[4] = {
        {0, 0.8f, {0, 0, 10, 10}, 1, 0, 0, 0, 0},
        {0, 0.9f, {2, 0, 10, 10}, 1, 0, 1, 0, 0}, /* IoU with [0]: 80/120 */
        {1, 0.7f, {1, 0, 10, 10}, 1, 0, 2, 0, 0}, /* other class: kept */
        {0, 0.6f, {50, 50, 10, 10}, 1, 0, 3, 0, 0},
    };
    size_t nk;
    CHECK(fcn_nms(h, 4, 0.3, 0, &nk) == FCN_OK && nk == 3, "hand: %zu", nk);
    CHECK(h[0].cell_i == 1 && h[1].cell_i == 2 && h[2].cell_i == 3,
          "hand: order");
    CHECK(fcn_nms(NULL, 0, 0.3, 0, &nk) == FCN_OK && nk == 0, "empty");
    fcn_detection same[2] = {{0, 0.5f, {0, 0, 10, 10}, 1, 0, 0, 0, 0},
                             {0, 0.5f, {0, 0, 10, 10}, 1, 0, 1, 0, 0}};
    CHECK(fcn_nms(same, 2, 1.0, 0, &nk) == FCN_OK && nk == 2,
          "IoU 1 > 1 never: both kept");
    CHECK(fcn_nms(same, 2, 0.99, 0, &nk) == FCN_OK && nk == 1 &&
          same[0].cell_i == 0, "tie: the earlier one kept");
}

/* ---- the detector, against the same pyramid built by hand ---- */

/* The detections of image img at `scales`, computed here: each level
** resized and run through a session of its own, every cell past the
** threshold (classes on) a box from the geometry written out here, then
** the naive suppression. Returns the count; d gets them, best first. */
static size_t by_hand(const fcn_model *m, const fcn_image *img,
                      const double *scales, int n_scales, float threshold,
                      const unsigned char *on, double iou, fcn_detection *d,
                      size_t cap, size_t *candidates)
{
    size_t n = 0;
    for (int k = 0; k < n_scales; k++) {
        int w = (int)floor(img->w * scales[k] + 0.5),
            h = (int)floor(img->h * scales[k] + 0.5);
        w = w < 1 ? 1 : w;
        h = h < 1 ? 1 : h;
        const double sx = (double)w / img->w, sy = (double)h / img->h;
        fcn_image li;
        fcn_session *s = NULL;
        fcn_scores sc;
        candidates[k] = 0;
        if (fcn_image_resize(m, img, h, w, &li) != FCN_OK)
            continue;
        if (fcn_session_create(m, h, w, NULL, &s) == FCN_OK &&
            fcn_session_run_image(s, &li, &sc) == FCN_OK) {
            const fcn_geometry *g = &sc.geom;
            for (int c = 0; c < sc.classes; c++)
                for (int i = 0; on[c] && i < sc.out_h; i++)
                    for (int j = 0; j < sc.out_w; j++) {
                        float v = sc.data[((size_t)c * sc.out_h + i) * sc.out_w + j];
                        if (!(v >= threshold))
                            continue;
                        double x0 = (j * g->stride_w + g->offset_w) / sx,
                               y0 = (i * g->stride_h + g->offset_h) / sy;
                        double x1 = fmin(x0 + g->rf_w / sx, img->w),
                               y1 = fmin(y0 + g->rf_h / sy, img->h);
                        x0 = fmax(x0, 0);
                        y0 = fmax(y0, 0);
                        if (x1 <= x0 || y1 <= y0 || n == cap)
                            continue;
                        d[n++] = (fcn_detection){c, v, {x0, y0, x1 - x0,
                                                 y1 - y0}, scales[k], k, i, j, 0};
                        candidates[k]++;
                    }
        }
        fcn_session_free(s);
        fcn_image_free(&li);
    }
    size_t *keep = malloc(sizeof *keep * (n + 1)), nk;
    fcn_detection *tmp = malloc(sizeof *tmp * (n + 1));
    nk = naive_nms(d, n, iou, 0, keep);
    for (size_t k = 0; k < nk; k++)
        tmp[k] = d[keep[k]];
    memcpy(d, tmp, sizeof *d * nk);
    free(keep);
    free(tmp);
    return nk;
}

static int same_detections(const fcn_detection *a, size_t na,
                           const fcn_detection *b, size_t nb)
{
    if (na != nb)
        return 0;
    for (size_t k = 0; k < na; k++)
        if (a[k].cls != b[k].cls || a[k].score != b[k].score ||
            a[k].level != b[k].level || a[k].cell_i != b[k].cell_i ||
            a[k].cell_j != b[k].cell_j ||
            !box_is(a[k].box, b[k].box.x, b[k].box.y, b[k].box.w, b[k].box.h))
            return 0;
    return 1;
}

static void detector_case(fcn_detector *det, const fcn_model *m,
                          const fcn_image *img, const fcn_detect_options *o,
                          const char *what)
{
    enum { CAP = 1 << 16 };
    static fcn_detection want[CAP];
    size_t cand[16];
    fcn_detect_result r;
    fcn_status st = fcn_detector_run(det, img, &r);
    CHECK(st == FCN_OK, "detector on %s: %s", what, fcn_last_error());
    if (st)
        return;
    size_t n = by_hand(m, img, o->scales, o->n_scales, o->threshold,
                       r.classes, o->iou, want, CAP, cand);
    CHECK(same_detections(r.d, r.n, want, n) && n > 0, "detector on %s: %zu "
          "detections, by hand %zu (or they differ)", what, r.n, n);
    CHECK(r.n_levels == o->n_scales, "detector on %s: %d levels", what,
          r.n_levels);
    for (int k = 0; k < r.n_levels; k++)
        CHECK(r.levels[k].skipped || r.levels[k].candidates == cand[k],
              "detector on %s: scale %g: %zu candidates, by hand %zu", what,
              o->scales[k], r.levels[k].candidates, cand[k]);
}

static void test_detector(const char *model, const char *img1,
                          const char *img2)
{
    fcn_model *m = NULL;
    fcn_image a = {0}, b = {0};
    CHECK(fcn_model_load(model, NULL, &m) == FCN_OK &&
          fcn_image_decode(m, img1, 0, 0, &a) == FCN_OK &&
          fcn_image_decode(m, img2, 0, 0, &b) == FCN_OK,
          "detector: loading %s, %s, %s: %s", model, img1, img2,
          fcn_last_error());
    if (!m || !a.pixels || !b.pixels)
        goto out;
    const double scales[] = {1.0, 0.8, 0.05, 0.6};  /* 0.05: too small */
    fcn_detect_options o;
    fcn_detect_defaults(&o);
    CHECK(o.n_scales == 3 && o.threshold == 0.9f && o.iou == 0.3,
          "detector defaults");
    o.scales = scales;
    o.n_scales = 4;
    o.threshold = 0.6f;
    o.heatmap = 1;
    o.heat_class = 1;
    fcn_detector *d = NULL;
    CHECK(fcn_detector_create(m, &o, &d) == FCN_OK, "detector: create: %s",
          fcn_last_error());
    if (!d)
        goto out;
    detector_case(d, m, &a, &o, img1);
    detector_case(d, m, &a, &o, img1);  /* the kept sessions again */
    detector_case(d, m, &b, &o, img2);  /* another size: planned anew */
    detector_case(d, m, &a, &o, img1);
    fcn_detect_result r;
    CHECK(fcn_detector_run(d, &a, &r) == FCN_OK && r.heat &&
          r.levels[2].skipped && !r.levels[0].skipped &&
          r.levels[0].out_h > 0 && r.levels[0].tiles >= 1,
          "detector: heat map and level reports");
    fcn_image tiny = {a.pixels, 5, 5, a.c, a.depth};
    CHECK(fcn_detector_run(d, &tiny, &r) == FCN_ERR_SHAPE &&
          strstr(fcn_last_error(), "at every scale"),
          "detector: a 5x5 image: %s", fcn_last_error());
    fcn_detector_free(d);
    /* bad options */
    const double bad[] = {1.0, -2.0};
    o.scales = bad;
    o.n_scales = 2;
    CHECK(fcn_detector_create(m, &o, &d) == FCN_ERR_ARG && !d,
          "detector: a negative scale accepted");
    o.scales = scales;
    o.heat_class = 99;
    CHECK(fcn_detector_create(m, &o, &d) == FCN_ERR_ARG && !d,
          "detector: heat map of class 99 accepted");
out:
    fcn_image_free(&a);
    fcn_image_free(&b);
    fcn_model_free(m);
}

int main(int argc, char **argv)
{
    test_levels();
    test_geometry();
    test_padding();
    test_cells();
    test_sample();
    test_nms();
    if (argc > 3)
        test_detector(argv[1], argv[2], argv[3]);
    else
        CHECK(0, "usage: test_detect MODEL IMAGE IMAGE");
    return check_done();
}
