/*
** test_heatmap.c: the front ends' heat maps and ASCII class map
** (src/cli/heatmap.h). Colours against matplotlib's own (a fixture written
** by tools/dev/gen_cmaps.py), range parsing, the pictures decoded back by
** stb_image and compared pixel by pixel with a naive nearest-window loop
** here, the legend bar, and the ASCII map of 1000 synthetic classes whose
** winners this test sets. Arguments: FIXTURE_DIR (cmaps.txt) BUILD_DIR
** MODEL (one with labels, for the label lookup).
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stb_image.h>

#include "check.h"
#include "heatmap.h"

static const char *dir;

/* ---- colour maps against matplotlib ---- */

static void test_cmaps(const char *fixtures)
{
    char path[4096], line[256];
    snprintf(path, sizeof path, "%s/cmaps.txt", fixtures);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "%s: cannot open", path);
    if (!f)
        return;
    int n = 0, seen[HEAT_NCMAPS] = {0};
    while (fgets(line, sizeof line, f)) {
        char name[32];
        double t, ref[3];
        if (line[0] == '#' ||
            sscanf(line, "%31s %lf %lf %lf %lf", name, &t, &ref[0], &ref[1],
                   &ref[2]) != 5)
            continue;
        int cm = heat_cmap_parse(name);
        CHECK(cm >= 0, "colour map %s unknown", name);
        if (cm < 0)
            continue;
        seen[cm]++;
        unsigned char c[3];
        heat_cmap_rgb(cm, (float)t, c);
        double err = 0;
        for (int k = 0; k < 3; k++)
            err = fmax(err, fabs(c[k] - ref[k]));
        CHECK(err <= 0.51, "%s(%g) = %d,%d,%d, matplotlib %.2f,%.2f,%.2f",
              name, t, c[0], c[1], c[2], ref[0], ref[1], ref[2]);
        n++;
    }
    fclose(f);
    CHECK(n >= 200, "only %d colours in the fixture", n);
    for (int k = 0; k < HEAT_NCMAPS; k++)
        CHECK(seen[k] > 50, "colour map %d: %d colours compared", k, seen[k]);
    unsigned char nan_c[3], zero_c[3];
    heat_cmap_rgb(HEAT_MAGMA, NAN, nan_c);
    heat_cmap_rgb(HEAT_MAGMA, 0.0f, zero_c);
    CHECK(!memcmp(nan_c, zero_c, 3), "NaN takes the colour of 0");
}

static void test_cmap_names(void)
{
    static const char *names[] = {"viridis", "magma", "gray", "turbo"};
    for (int k = 0; k < 4; k++) {
        CHECK(heat_cmap_parse(names[k]) == k, "%s", names[k]);
        CHECK(strstr(heat_cmap_names(), names[k]) != NULL,
              "heat_cmap_names lists %s", names[k]);
    }
    CHECK(heat_cmap_parse("Viridis") == HEAT_VIRIDIS, "case ignored");
    CHECK(heat_cmap_parse("grey") == HEAT_GRAY, "grey");
    CHECK(heat_cmap_parse("jet") == -1, "jet unknown");
    CHECK(heat_cmap_parse("") == -1, "empty unknown");
    CHECK(heat_cmap_parse(NULL) == -1, "NULL unknown");
}

/* ---- ranges ---- */

static void test_ranges(void)
{
    heat_range r;
    CHECK(heat_range_parse("auto", &r) && r.automatic, "auto");
    CHECK(heat_range_parse("0:1", &r) && !r.automatic && r.lo == 0 &&
          r.hi == 1, "0:1");
    CHECK(heat_range_parse("-5:2.5", &r) && r.lo == -5 && r.hi == 2.5f,
          "-5:2.5");
    CHECK(heat_range_parse("1e-3:2e3", &r) && r.lo == 1e-3f && r.hi == 2e3f,
          "1e-3:2e3");
    static const char *bad[] = {"", "1", "1:", ":1", "2:1", "1:1", "nan:1",
                                "0:inf", "-inf:0", "a:b", " 0:1", "0:1 ",
                                "0: 1", "0:1:2", "1e39:1e40", "0x:1",
                                "Auto", "auto:1", "0;1"};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        r = (heat_range){7, 7, 7};
        CHECK(!heat_range_parse(bad[k], &r), "'%s' refused", bad[k]);
    }
    CHECK(!heat_range_parse(NULL, &r), "NULL refused");

    float v[] = {3, NAN, -2.5f, INFINITY, 7, -INFINITY, 1};
    r = (heat_range){1, 0, 0};
    heat_range_resolve(&r, v, 7);
    CHECK(!r.automatic && r.lo == -2.5f && r.hi == 7,
          "auto over finite values: %g..%g", r.lo, r.hi);
    float flat[] = {4, 4, 4};
    r = (heat_range){1, 0, 0};
    heat_range_resolve(&r, flat, 3);
    CHECK(r.lo == 4 && r.hi == 5, "flat: %g..%g", r.lo, r.hi);
    float none[] = {NAN, INFINITY};
    r = (heat_range){1, 0, 0};
    heat_range_resolve(&r, none, 2);
    CHECK(r.lo == 0 && r.hi == 1, "no finite value: %g..%g", r.lo, r.hi);
    float huge[] = {3e38f, 3e38f};
    r = (heat_range){1, 0, 0};
    heat_range_resolve(&r, huge, 2);
    CHECK(r.lo < r.hi && isfinite(r.hi), "flat huge: %g..%g", r.lo, r.hi);
    r = (heat_range){0, -1, 2};
    heat_range_resolve(&r, v, 7);
    CHECK(r.lo == -1 && r.hi == 2, "a fixed range is kept");
}

/* ---- pictures ---- */

/* Naive: the cell whose window centre is nearest pixel p (ties: later). */
static int nearest(int p, int n, int s, int off, int rf)
{
    int best = 0;
    for (int k = 0; k < n; k++)
        if (fabs(k * s + off + rf / 2.0 - (p + 0.5)) <=
            fabs(best * s + off + rf / 2.0 - (p + 0.5)))
            best = k;
    return best;
}

static unsigned char *load_png(const char *path, int *w, int *h)
{
    int c;
    unsigned char *px = stbi_load(path, w, h, &c, 3);
    CHECK(px != NULL, "%s: not a readable PNG", path);
    return px;
}

/* heat_write_png into the build directory, decoded back; NULL on failure
** (counted). */
static unsigned char *write_load(const char *name, const fcn_image *img,
                                 const fcn_scores *sc, int cls, int cmap,
                                 const char *range, const char *title,
                                 int *W, int *H)
{
    char path[4096], err[512] = "";
    heat_range r;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    CHECK(heat_range_parse(range, &r), "range %s", range);
    int ok = heat_write_png(path, img, sc, cls, cmap, &r, title, err,
                            sizeof err);
    CHECK(ok, "%s written: %s", name, err);
    return ok ? load_png(path, W, H) : NULL;
}

static int in_panel(const heat_legend *lg, int x, int y)
{
    return x >= lg->x && x < lg->x + lg->w && y >= lg->y &&
           y < lg->y + lg->h;
}

/* The legend's bar: the colour map from left to right, its lightness
** increasing (but turbo's); the labels under it drawn in white. */
static void check_legend(const unsigned char *px, int W, int H,
                         const char *title, int cmap, const char *what)
{
    heat_legend lg;
    heat_legend_layout(W, H, title, &lg);
    CHECK(lg.x >= 0 && lg.y >= 0 && lg.x + lg.w <= W && lg.y + lg.h <= H &&
          lg.bar_w >= 120, "%s: legend inside the picture", what);
    int y = lg.bar_y + lg.bar_h / 2, bad = 0, mono = 0;
    double prev = -1;
    for (int k = 0; k < lg.bar_w; k++) {
        const unsigned char *p = px + ((size_t)y * W + lg.bar_x + k) * 3;
        unsigned char c[3];
        heat_cmap_rgb(cmap, (float)k / (lg.bar_w - 1), c);
        bad += memcmp(p, c, 3) != 0;
        double lum = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
        mono += cmap != HEAT_TURBO && lum + 1e-9 < prev;
        prev = lum;
    }
    const unsigned char *p0 = px + ((size_t)y * W + lg.bar_x) * 3;
    const unsigned char *p1 = p0 + (lg.bar_w - 1) * 3;
    CHECK(bad == 0, "%s: %d bar columns off the colour map", what, bad);
    CHECK(mono == 0, "%s: bar lightness decreases %d times", what, mono);
    CHECK(cmap == HEAT_TURBO ? memcmp(p0, p1, 3) != 0
                             : p1[0] + p1[1] + p1[2] > p0[0] + p0[1] + p0[2] + 300,
          "%s: the bar spans the map", what);
    int white_lo = 0, white_hi = 0, white_title = 0;
    for (int yy = lg.bar_y + lg.bar_h; yy < lg.y + lg.h; yy++)
        for (int x = lg.x; x < lg.x + lg.w; x++) {
            const unsigned char *p = px + ((size_t)yy * W + x) * 3;
            if (p[0] == 255 && p[1] == 255 && p[2] == 255)
                *(x < lg.bar_x + lg.bar_w / 2 ? &white_lo : &white_hi) += 1;
        }
    for (int yy = lg.y; yy < lg.bar_y; yy++)
        for (int x = lg.x; x < lg.x + lg.w; x++)
            white_title += px[((size_t)yy * W + x) * 3] == 255;
    CHECK(white_lo > 5 && white_hi > 5, "%s: lo and hi labels (%d, %d px)",
          what, white_lo, white_hi);
    CHECK(!title || white_title > 10, "%s: the title (%d px)", what,
          white_title);
    const unsigned char *corner = px + ((size_t)lg.y * W + lg.x) * 3;
    CHECK(corner[0] == 16 && corner[1] == 16 && corner[2] == 16,
          "%s: dark legend panel", what);
}

/* A raw-score map alone (no image), automatic range, gray: every pixel
** the gray of its nearest cell, from black to white. */
static void test_raw_scores(void)
{
    enum { C = 2, OH = 7, OW = 9 };
    static float data[C * OH * OW];
    for (int k = 0; k < OH * OW; k++) {
        data[k] = 100; /* class 0: ignored */
        data[OH * OW + k] = ((k * 37) % (OH * OW)) * 1.7f - 30;
    }
    fcn_scores sc = {data, C, OH, OW, {3, 3, -1, -1, 5, 5}};
    int W, H;
    unsigned char *px = write_load("heat_raw.png", NULL, &sc, 1, HEAT_GRAY,
                                   "auto", "raw", &W, &H);
    if (!px)
        return;
    /* the geometry's input: 8*3+5-2 = 27 x 6*3+5-2 = 21, enlarged by the
    ** smallest whole factor giving >= 192 x 96: 8 */
    CHECK(W == 216 && H == 168, "size %dx%d, want 216x168", W, H);
    if (W != 216 || H != 168) {
        free(px);
        return;
    }
    const float lo = -30, hi = (OH * OW - 1) * 1.7f - 30;
    heat_legend lg;
    heat_legend_layout(W, H, "raw", &lg);
    int bad = 0, mn = 255, mx = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            if (in_panel(&lg, x, y))
                continue;
            int i = nearest(y / 8, OH, 3, -1, 5), j = nearest(x / 8, OW, 3, -1, 5);
            double t = (data[OH * OW + i * OW + j] - lo) / (double)(hi - lo);
            int want = t >= 1 ? 255 : (int)floor(t * 256);
            const unsigned char *p = px + ((size_t)y * W + x) * 3;
            bad += abs(p[0] - want) > 1 || p[1] != p[0] || p[2] != p[0];
            mn = p[0] < mn ? p[0] : mn;
            mx = p[0] > mx ? p[0] : mx;
        }
    CHECK(bad == 0, "raw map: %d pixels off their nearest cell's gray", bad);
    CHECK(mn == 0 && mx == 255, "auto range spans the map: %d..%d", mn, mx);
    check_legend(px, W, H, "raw", HEAT_GRAY, "raw map");
    free(px);
}

/* Over an image, fixed range, viridis: the colour blended 60 % over the
** image's gray, the size the image's. */
static void test_blend(void)
{
    enum { IW = 240, IH = 130, OH = 4, OW = 6 };
    static unsigned char pix[IW * IH * 3];
    for (int k = 0; k < IW * IH * 3; k++)
        pix[k] = (unsigned char)((k * 7) % 251);
    fcn_image img = {.pixels = pix, .w = IW, .h = IH, .c = 3};
    static float data[OH * OW];
    for (int k = 0; k < OH * OW; k++)
        data[k] = k / (float)(OH * OW - 1) * 1.4f - 0.2f; /* beyond 0:1 */
    fcn_scores sc = {data, 1, OH, OW, {32, 40, 8, -4, 28, 44}};
    int W, H;
    unsigned char *px = write_load("heat_blend.png", &img, &sc, 0,
                                   HEAT_VIRIDIS, "0:1", "a label", &W, &H);
    if (!px)
        return;
    CHECK(W == IW && H == IH, "size %dx%d, the image's", W, H);
    heat_legend lg;
    heat_legend_layout(W, H, "a label", &lg);
    int bad = 0;
    for (int y = 0; y < H && W == IW && H == IH; y++)
        for (int x = 0; x < W; x++) {
            if (in_panel(&lg, x, y))
                continue;
            int i = nearest(y, OH, 32, 8, 28), j = nearest(x, OW, 40, -4, 44);
            const unsigned char *q = pix + ((size_t)y * IW + x) * 3;
            double g = q[0] * 0.299 + q[1] * 0.587 + q[2] * 0.114;
            double t = data[i * OW + j];
            unsigned char c[3];
            heat_cmap_rgb(HEAT_VIRIDIS, (float)t, c);
            const unsigned char *p = px + ((size_t)y * W + x) * 3;
            for (int k = 0; k < 3; k++)
                bad += fabs(p[k] - (g * 0.4 + c[k] * 0.6)) > 1.01;
        }
    CHECK(bad == 0, "blend: %d channels off", bad);
    if (W == IW && H == IH)
        check_legend(px, W, H, "a label", HEAT_VIRIDIS, "blend");
    free(px);
}

/* A per-pixel plane over a small gray image: enlarged for its legend. */
static void test_plane(void)
{
    enum { IW = 28, IH = 28 };
    static unsigned char pix[IW * IH];
    static float heat[IW * IH];
    for (int k = 0; k < IW * IH; k++) {
        pix[k] = (unsigned char)(k % 256);
        heat[k] = (float)(k % IW) - 100; /* raw, along x */
    }
    fcn_image img = {.pixels = pix, .w = IW, .h = IH, .c = 1};
    char path[4096], err[512] = "";
    snprintf(path, sizeof path, "%s/heat_plane.png", dir);
    heat_range r = {1, 0, 0};
    int ok = heat_write_plane_png(path, &img, heat, IW, IH, HEAT_MAGMA, &r,
                                  "plane", err, sizeof err);
    CHECK(ok, "plane written: %s", err);
    int W = 0, H = 0;
    unsigned char *px = ok ? load_png(path, &W, &H) : NULL;
    CHECK(W == 7 * IW && H == 7 * IH, "28x28 enlarged 7 times: %dx%d", W, H);
    if (px && W == 7 * IW) {
        /* pixel (3, 3) of the picture is source (0, 0): value -100 = lo */
        unsigned char c[3];
        heat_cmap_rgb(HEAT_MAGMA, 0, c);
        const unsigned char *p = px + ((size_t)3 * W + 3) * 3;
        double g = pix[0];
        int off = 0;
        for (int k = 0; k < 3; k++)
            off += fabs(p[k] - (g * 0.4 + c[k] * 0.6)) > 1.01;
        CHECK(off == 0, "plane pixel (0,0)");
        check_legend(px, W, H, "plane", HEAT_MAGMA, "plane");
    }
    free(px);
    snprintf(path, sizeof path, "%s/heat_plane_bad.png", dir);
    unlink(path);
    CHECK(!heat_write_plane_png(path, &img, heat, IW, IH + 1, HEAT_MAGMA, &r,
                                "x", err, sizeof err) &&
          strstr(err, path) && access(path, F_OK) != 0,
          "plane and image sizes differ: %s", err);
}

static void test_errors(void)
{
    static float data[4] = {0, 1, 2, 3};
    fcn_scores sc = {data, 1, 2, 2, {1, 1, 0, 0, 1, 1}};
    char path[4096], err[512];
    heat_range r = {1, 0, 0};
    snprintf(path, sizeof path, "%s/no-such-dir/heat.png", dir);
    err[0] = 0;
    CHECK(!heat_write_png(path, NULL, &sc, 0, HEAT_GRAY, &r, "x", err,
                          sizeof err) && strstr(err, "no-such-dir") &&
          !strchr(err, '\n'), "missing directory: %s", err);
    snprintf(path, sizeof path, "%s/heat_err.png", dir);
    unlink(path);
    err[0] = 0;
    CHECK(!heat_write_png(path, NULL, &sc, 1, HEAT_GRAY, &r, "x", err,
                          sizeof err) && strstr(err, path) &&
          access(path, F_OK) != 0, "class out of range: %s", err);
    err[0] = 0;
    CHECK(!heat_write_png(path, NULL, &sc, 0, 9, &r, "x", err, sizeof err) &&
          err[0], "bad colour map: %s", err);
    heat_range bad = {0, 1, 1};
    err[0] = 0;
    CHECK(!heat_write_png(path, NULL, &sc, 0, HEAT_GRAY, &bad, "x", err,
                          sizeof err) && err[0], "empty range: %s", err);
    /* a 2x2 map of stride 1: 2x2 pixels enlarged 96 times, to 192x192,
    ** the legend inside */
    int W = 0, H = 0;
    unsigned char *px = write_load("heat_tiny.png", NULL, &sc, 0, HEAT_TURBO,
                                   "auto", NULL, &W, &H);
    CHECK(W == 192 && H == 192, "tiny map enlarged: %dx%d", W, H);
    if (px && W == 192 && H == 192)
        check_legend(px, W, H, NULL, HEAT_TURBO, "tiny map");
    free(px);
}

/* ---- the ASCII map ---- */

enum { NC = 1000, AH = 20, AW = 30, NWIN = 45, BG = 999 };

static int with_bg;

static const char *synth_label(void *ud, int c)
{
    static char buf[32];
    (void)ud;
    if (with_bg && c == BG)
        return "background";
    if (c == 500)
        return NULL; /* no label: "class 500" */
    snprintf(buf, sizeof buf, "label%d", c);
    return buf;
}

static char *capture(const fcn_scores *sc, int width)
{
    char *out = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);
    if (!f)
        return NULL;
    heat_ascii_labels(f, sc, synth_label, NULL, width);
    fclose(f);
    return out;
}

/* The line after the header, k lines on. */
static const char *map_line(const char *out, int k)
{
    const char *p = strchr(out, '\n');
    for (int i = 0; p && i < k; i++)
        p = strchr(p + 1, '\n');
    return p ? p + 1 : NULL;
}

/* 1000 classes: NWIN of them win the cells this test sets (counts with
** ties), the rest of the cells go to class 999 (background or not). */
static void test_ascii(int bg)
{
    static float data[NC * AH * AW];
    static int win[AH * AW];
    int cls[NWIN], count[NC] = {0};
    with_bg = bg;
    int cell = 0;
    for (int k = 0; k < NWIN; k++) {
        cls[k] = (k * 223 + 5) % NC; /* distinct, never 999 */
        if (k == 7)
            cls[k] = 500;                /* the unlabelled one */
        for (int n = 0; n < 20 - k / 3; n++)
            win[cell++] = cls[k];
    }
    while (cell < AH * AW)
        win[cell++] = BG;
    unsigned seed = 12345;  /* shuffle the cells */
    for (int p = AH * AW - 1; p > 0; p--) {
        seed = seed * 1103515245u + 12345u;
        int q = (int)((seed >> 8) % (unsigned)(p + 1)), t = win[p];
        win[p] = win[q];
        win[q] = t;
    }
    for (int p = 0; p < AH * AW; p++) {
        for (int c = 0; c < NC; c++)
            data[(size_t)c * AH * AW + p] = -1.0f - (float)((c * 31 + p) % 97);
        data[(size_t)win[p] * AH * AW + p] = 5.0f;
        count[win[p]]++;
    }
    /* expected symbols: rank by cells, then class index (selection here) */
    char sym[NC];
    int order[NC], n = 0;
    for (int c = 0; c < NC; c++) {
        sym[c] = '?';
        if (count[c] && !(bg && c == BG))
            order[n++] = c;
    }
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++)
            if (count[order[b]] > count[order[a]] ||
                (count[order[b]] == count[order[a]] && order[b] < order[a])) {
                int t = order[a];
                order[a] = order[b];
                order[b] = t;
            }
    const char *syms = "123456789abcdefghijklmnopqrstuvwxyz";
    int others = 0, other_cells = 0;
    for (int k = 0; k < n; k++) {
        sym[order[k]] = k < 35 ? syms[k] : '+';
        if (k >= 35) {
            others++;
            other_cells += count[order[k]];
        }
    }
    if (bg)
        sym[BG] = '.';
    fcn_scores sc = {data, NC, AH, AW, {1, 1, 0, 0, 1, 1}};
    const char *what = bg ? "with background" : "no background";

    char *out = capture(&sc, 80);
    CHECK(out != NULL, "%s: output", what);
    if (!out)
        return;
    size_t hl = strcspn(out, "\n");
    char *shown = strstr(out, "shown");
    CHECK(!strncmp(out, "best class per cell (20 x 30 cells", 34) &&
          (!shown || (size_t)(shown - out) > hl), "%s: header: %.*s", what,
          (int)hl, out);
    int bad = 0;
    for (int y = 0; y < AH; y++) {
        const char *l = map_line(out, y);
        if (!l || strncmp(l, "  ", 2) || l[2 + AW] != '\n') {
            bad++;
            continue;
        }
        for (int x = 0; x < AW; x++)
            bad += l[2 + x] != sym[win[y * AW + x]];
    }
    CHECK(bad == 0, "%s: %d symbols differ from the winners set", what, bad);
    char e[128];
    int missing = 0;
    for (int k = 0; k < n && k < 35; k++) {
        char lb[32];
        if (order[k] == 500)
            snprintf(lb, sizeof lb, "class 500");
        else
            snprintf(lb, sizeof lb, "label%d", order[k]);
        snprintf(e, sizeof e, " %c=%s (%d)", syms[k], lb, count[order[k]]);
        missing += strstr(out, e) == NULL;
    }
    CHECK(missing == 0, "%s: %d legend entries missing", what, missing);
    snprintf(e, sizeof e, " +=%d other classes (%d)", others, other_cells);
    CHECK(others > 0 && strstr(out, e), "%s: '%s' in the legend", what, e);
    snprintf(e, sizeof e, " .=background (%d)", count[BG]);
    CHECK(bg ? strstr(out, e) != NULL : strstr(out, "background") == NULL,
          "%s: background in the legend iff the model has it", what);
    const char *legend = strstr(out, "  legend:");
    int dots = 0;
    for (const char *p = out; legend && p < legend; p++)
        dots += *p == '.';
    CHECK(legend && (bg ? dots == count[BG] : dots == 0),
          "%s: %d '.' in the map", what, dots);
    free(out);

    /* width 12: 12 x 12 cells, evenly spaced */
    out = capture(&sc, 12);
    CHECK(out && strstr(out, "12 x 12 of them shown"), "%s: subsampled "
          "header", what);
    bad = 0;
    for (int i = 0; out && i < 12; i++) {
        const char *l = map_line(out, i);
        int y = (int)floor((i + 0.5) * AH / 12);
        if (!l || l[2 + 12] != '\n') {
            bad++;
            continue;
        }
        for (int j = 0; j < 12; j++)
            bad += l[2 + j] != sym[win[y * AW + (int)floor((j + 0.5) * AW / 12)]];
    }
    CHECK(bad == 0, "%s: %d subsampled symbols differ", what, bad);
    free(out);
}

/* The model's labels: fcn_model_label's. */
static void test_ascii_model(const char *model)
{
    fcn_model *m = NULL;
    CHECK(fcn_model_load(model, NULL, &m) == FCN_OK, "%s: %s", model,
          fcn_last_error());
    if (!m)
        return;
    fcn_model_info info;
    fcn_model_get_info(m, &info);
    int C = info.classes;
    float *data = calloc((size_t)C * 6, sizeof *data);
    for (int p = 0; p < 3 && data; p++) {
        data[p] = 1;                        /* class 0 wins row 0 */
        data[(size_t)(C - 1) * 6 + 3 + p] = 1; /* the last class row 1 */
    }
    fcn_scores sc = {data, C, 2, 3, info.geom};
    char *out = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);
    if (f && data) {
        heat_ascii(f, &sc, m, 80);
        fclose(f);
    }
    const char *l0 = fcn_model_label(m, 0), *l = fcn_model_label(m, C - 1);
    int bg = l && !strcmp(l, "background");
    char e0[200], e[200];
    snprintf(e0, sizeof e0, " 1=%s (3)", l0 ? l0 : "");
    snprintf(e, sizeof e, bg ? " .=background (3)" : " 2=%s (3)", l ? l : "");
    CHECK(out && l0 && l && strstr(out, e0) && strstr(out, e) &&
          strstr(out, bg ? "  111\n  ...\n" : "  111\n  222\n"),
          "model labels: '%s' and '%s' in %s", e0, e, out ? out : "(none)");
    free(out);
    free(data);
    fcn_model_free(m);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: test_heatmap FIXTURE_DIR BUILD_DIR MODEL\n");
        return 2;
    }
    dir = argv[2];
    test_cmaps(argv[1]);
    test_cmap_names();
    test_ranges();
    test_raw_scores();
    test_blend();
    test_plane();
    test_errors();
    test_ascii(0);
    test_ascii(1);
    test_ascii_model(argv[3]);
    return check_done();
}
