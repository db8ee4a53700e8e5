/*
** test_tiffmap: the TIFF score-map sink (include/fcn_tiff.h).
**
**   test_tiffmap gen OUT.tif MODE H W C BH BW TILE COMP CLASSES GEO
**     writes the map v(c, i, j) = ((c*7919 + i*31 + j*17) % 1000) / 800
**     - 0.1 (float32), C classes of H x W cells, put as blocks of BH x BW
**     cells in row-major order through the sink; MODE float|prob8|argmax,
**     COMP deflate|none|lzw, CLASSES "all" or "2,0", GEO "none" or the
**     input's six affine coefficients "a0,a1,...,a5[,EPSG]" (a GeoTIFF's
**     keys for that projected EPSG code). Prints "peak_rss_kb N". The
**     reader (tests/tiffmap_check.py) recomputes v in NumPy.
**   test_tiffmap errors DIR
**     the refusals: blocks out of order, a class out of range, a commit
**     before the last block, bad options; no file is left behind, and
**     fcn_georef_read_tiff on a file that is not a TIFF.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "fcn_tiff.h"

static float v(int c, int i, int j)
{
    return (float)((c * 7919 + i * 31 + j * 17) % 1000) / 800.0f - 0.1f;
}

static int parse_mode(const char *s, fcn_tiff_mode *m)
{
    *m = !strcmp(s, "prob8") ? FCN_TIFF_PROB8
       : !strcmp(s, "argmax") ? FCN_TIFF_ARGMAX : FCN_TIFF_FLOAT;
    return !strcmp(s, "float") || *m != FCN_TIFF_FLOAT;
}

/* Blocks of bh x bw through sink; the status of the first failure. */
static fcn_status feed(fcn_map_sink *k, int C, int H, int W, int bh, int bw,
                       const fcn_geometry *g)
{
    fcn_status st = k->begin(k->ud, C, H, W, g);
    float *b = malloc(sizeof(float) * C * bh * bw);
    if (!b && st == FCN_OK)
        st = FCN_ERR_NOMEM;
    for (int r = 0; r < H && st == FCN_OK; r += bh)
        for (int c0 = 0; c0 < W && st == FCN_OK; c0 += bw) {
            int h = H - r < bh ? H - r : bh, w = W - c0 < bw ? W - c0 : bw;
            for (int c = 0; c < C; c++)
                for (int i = 0; i < h; i++)
                    for (int j = 0; j < w; j++)
                        b[((size_t)c * h + i) * w + j] = v(c, r + i, c0 + j);
            st = k->put(k->ud, r, c0, h, w, b);
        }
    free(b);
    if (st == FCN_OK)
        return k->commit(k->ud);
    k->abort(k->ud);
    return st;
}

static int gen(char **a)
{
    fcn_tiff_options o = {0};
    int cls[64], n = 0;
    uint16_t keys[] = {1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1,
                       3072, 0, 1, 0};
    if (!parse_mode(a[1], &o.mode))
        return 2;
    int H = atoi(a[2]), W = atoi(a[3]), C = atoi(a[4]);
    int bh = atoi(a[5]), bw = atoi(a[6]);
    o.tile = atoi(a[7]);
    o.compression = !strcmp(a[8], "none") ? FCN_TIFF_NONE
                  : !strcmp(a[8], "lzw") ? FCN_TIFF_LZW : FCN_TIFF_DEFLATE;
    if (strcmp(a[9], "all")) {
        for (char *p = a[9]; *p && n < 64; p += strspn(p, ","))
            cls[n++] = (int)strtol(p, &p, 10);
        o.classes = cls;
        o.n_classes = n;
    }
    fcn_georef geo = {{0}, keys, 16, NULL, 0, NULL, 0};
    if (strcmp(a[10], "none")) {
        double e = 0;
        char *p = a[10];
        for (int k = 0; k < 6; k++, p += *p == ',')
            geo.affine[k] = strtod(p, &p);
        if (*p)
            e = strtod(p, &p);
        keys[15] = (uint16_t)e;
        if (!e)
            geo.keys = NULL;
        o.georef = &geo;
    }
    fcn_geometry g = {4, 4, -2, -2, 28, 28};  /* fixed, tested by the CLI */
    fcn_map_sink k;
    fcn_status st = fcn_tiff_sink_open(a[0], &o, &k);
    if (st == FCN_OK)
        st = feed(&k, C, H, W, bh, bw, &g);
    if (st != FCN_OK) {
        fprintf(stderr, "test_tiffmap: %s\n", fcn_last_error());
        return 1;
    }
    printf("peak_rss_kb %ld\n", check_peak_rss_kb());
    return 0;
}

static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* The sink refuses blocks out of order: not the grid's next, or a grid
** row's blocks of different heights. */
static void out_of_order(const char *path)
{
    fcn_geometry g = {1, 1, 0, 0, 1, 1};
    float b[2 * 16 * 32] = {0};
    static const int cases[][5] = {
        {16, 0, 16, 16, 0},   /* the second grid row first */
        {0, 16, 16, 16, 0},   /* a column skipped: (0, 0) expected */
        {0, 0, 16, 40, 0},    /* wider than the map */
    };
    for (int t = 0; t < 3; t++) {
        fcn_map_sink k;
        CHECK(fcn_tiff_sink_open(path, NULL, &k) == FCN_OK, "open");
        CHECK(k.begin(k.ud, 2, 32, 32, &g) == FCN_OK, "begin");
        fcn_status st = k.put(k.ud, cases[t][0], cases[t][1], cases[t][2],
                              cases[t][3], b);
        CHECK(st == FCN_ERR_ARG && strstr(fcn_last_error(), "out of order"),
              "block case %d refused: %s", t, fcn_last_error());
        k.abort(k.ud);
        CHECK(!exists(path), "nothing left after abort (case %d)", t);
    }
    /* a grid row whose blocks differ in height */
    fcn_map_sink k;
    CHECK(fcn_tiff_sink_open(path, NULL, &k) == FCN_OK, "open");
    CHECK(k.begin(k.ud, 2, 32, 32, &g) == FCN_OK, "begin");
    CHECK(k.put(k.ud, 0, 0, 16, 16, b) == FCN_OK, "first block");
    CHECK(k.put(k.ud, 0, 16, 8, 16, b) == FCN_ERR_ARG, "ragged grid row");
    k.abort(k.ud);
    /* commit before the last block */
    CHECK(fcn_tiff_sink_open(path, NULL, &k) == FCN_OK, "open");
    CHECK(k.begin(k.ud, 2, 32, 32, &g) == FCN_OK, "begin");
    CHECK(k.put(k.ud, 0, 0, 16, 32, b) == FCN_OK, "half the map");
    CHECK(k.commit(k.ud) == FCN_ERR_ARG && strstr(fcn_last_error(), "16 of 32"),
          "early commit refused: %s", fcn_last_error());
    CHECK(!exists(path), "no file after a failed commit");
}

/* An allocator that refuses its fail_at-th call (counting from 1). */
static long n_calls, fail_at;
static void *t_alloc(void *ud, size_t n, size_t align)
{
    (void)ud;
    if (++n_calls == fail_at)
        return NULL;
    void *p = NULL;
    return posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align,
                          n ? n : 1) ? NULL : p;
}
static void t_free(void *ud, void *p, size_t n)
{
    (void)ud, (void)n;
    free(p);
}

/* Each of the sink's allocations refused in turn: FCN_ERR_NOMEM, no file
** and no temporary left (and, under ASan, nothing leaked). */
static void alloc_failures(const char *dir, const char *path)
{
    uint16_t keys[] = {1, 1, 0, 1, 3072, 0, 1, 32633};
    fcn_georef geo = {{500000, 10, 0, 4600000, 0, -10}, keys, 8, NULL, 0,
                      "WGS 84 / UTM zone 33N|", 32633};
    int cls[] = {2, 0};
    fcn_tiff_options o = {.classes = cls, .n_classes = 2, .tile = 16,
                          .georef = &geo};
    fcn_geometry g = {4, 4, 0, 0, 28, 28};
    fcn_allocator a = {t_alloc, t_free, NULL};
    int bad = 0, refused = 0;
    fcn_status st = FCN_ERR_NOMEM;
    for (fail_at = 1; st != FCN_OK && fail_at < 1000; fail_at++) {
        n_calls = 0;
        fcn_set_allocator(&a);
        fcn_map_sink k;
        st = fcn_tiff_sink_open(path, &o, &k);
        if (st == FCN_OK)
            st = feed(&k, 3, 40, 70, 16, 33, &g);
        fcn_set_allocator(NULL);
        if (st != FCN_OK) {
            refused++;
            bad += st != FCN_ERR_NOMEM || exists(path);
            if (st != FCN_ERR_NOMEM)
                printf("call %ld: %s\n", fail_at, fcn_last_error());
        }
    }
    CHECK(st == FCN_OK && refused > 5, "allocations refused in turn: %d, then "
          "the map written", refused);
    CHECK(bad == 0, "each refusal FCN_ERR_NOMEM and no file (%d not)", bad);
    CHECK(exists(path), "the map written at last");
    remove(path);
    (void)dir;
}

static int errors(const char *dir)
{
    char path[4096], txt[4096];
    snprintf(path, sizeof path, "%s/err.tif", dir);
    snprintf(txt, sizeof txt, "%s/not-a-tiff.txt", dir);
    out_of_order(path);
    alloc_failures(dir, path);

    fcn_geometry g = {1, 1, 0, 0, 1, 1};
    int bad_cls[] = {0, 5};
    fcn_tiff_options o = {.classes = bad_cls, .n_classes = 2};
    fcn_map_sink k;
    CHECK(fcn_tiff_sink_open(path, &o, &k) == FCN_OK, "open");
    CHECK(k.begin(k.ud, 3, 8, 8, &g) == FCN_ERR_ARG &&
          strstr(fcn_last_error(), "class 5"), "class 5 of 3 refused: %s",
          fcn_last_error());
    k.abort(k.ud);
    CHECK(!exists(path), "nothing left");

    fcn_tiff_options bad[] = {{.tile = 100}, {.tile = 8}, {.mode = 7},
                              {.compression = 9}, {.n_classes = 2}};
    for (int t = 0; t < 5; t++)
        CHECK(fcn_tiff_sink_open(path, &bad[t], &k) == FCN_ERR_ARG &&
              strstr(fcn_last_error(), "bad TIFF options"),
              "bad options %d refused: %s", t, fcn_last_error());
    CHECK(!exists(path), "nothing created by refused options");
    CHECK(fcn_tiff_sink_open(dir, NULL, &k) != FCN_OK,
          "a directory as the output refused: %s", fcn_last_error());

    FILE *f = fopen(txt, "w");
    if (f) {
        fputs("hello\n", f);
        fclose(f);
    }
    fcn_georef *geo = (fcn_georef *)&g;
    CHECK(fcn_georef_read_tiff(txt, &geo) == FCN_OK && geo == NULL,
          "a text file has no georeference");
    snprintf(txt, sizeof txt, "%s/absent.tif", dir);
    CHECK(fcn_georef_read_tiff(txt, &geo) == FCN_ERR_IO &&
          strstr(fcn_last_error(), "absent.tif"), "absent file: %s",
          fcn_last_error());
    return check_done();
}

int main(int argc, char **argv)
{
    if (argc == 13 && !strcmp(argv[1], "gen"))
        return gen(argv + 2);
    if (argc == 3 && !strcmp(argv[1], "errors"))
        return errors(argv[2]);
    fprintf(stderr, "usage: test_tiffmap gen OUT MODE H W C BH BW TILE COMP "
            "CLASSES GEO | errors DIR\n");
    return 2;
}
