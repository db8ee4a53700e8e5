/*
** test_stream.c: the block runner (include/fcn_stream.h) against the
** in-memory whole-image map, bit for bit (memcmp), on a padded VGG-like
** model with Winograd always (tests/testnet.h), on images the vips
** command writes at test time (random pixels written here as PPM):
**   - a tiled TIFF of SIZE x SIZE (argument 2; 3000 in a release build),
**     read by windows: streamed under several memory limits (so several
**     block grids) on 1 and 3 threads, forced small blocks, --cells-style
**     regions stitched together, and the .npy sink read back;
**   - a PNG (no windows: decoded whole) streamed the same;
**   - a pyramidal TIFF: level 1 equals the half-size image vips wrote as
**     that page (vips copy FILE[page=1]), decoded and run in memory;
**   - a TIFF with EXIF orientation 6 (PIL writes the tag) read by windows
**     against the whole decode, which applies it;
**   - a region session of a 50000 x 50000 image (whose whole-image
**     tensors exceed 2^34 floats) planned within its region's memory;
**   - refusals: a region outside the map, a memory limit below one cell,
**     a level asked of a PNG, a failing sink: each an error, the sink
**     aborted and never committed.
** Usage: test_stream TMPDIR SIZE
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fcn_stream.h"
#include "testnet.h"

/* ---- a sink into memory, checking the order of the blocks ---- */

typedef struct msink {
    float *map;
    int classes, h, w;
    int begun, committed, aborted, puts, fail_at;
    int bad_order;       /* a block out of row-major grid order */
    int last_row, last_col, last_h;
    long long covered;   /* cells put */
} msink;

static fcn_status ms_begin(void *ud, int classes, int h, int w,
                           const fcn_geometry *g)
{
    (void)g;
    msink *k = ud;
    k->begun++;
    k->classes = classes;
    k->h = h;
    k->w = w;
    k->map = calloc((size_t)classes * h * w, sizeof(float));
    k->last_row = k->last_col = -1;
    return k->map ? FCN_OK : FCN_ERR_NOMEM;
}

static fcn_status ms_put(void *ud, int row, int col, int h, int w,
                         const float *s)
{
    msink *k = ud;
    if (++k->puts == k->fail_at)
        return FCN_ERR_IO;
    if (row == k->last_row)
        k->bad_order |= col <= k->last_col || h != k->last_h;
    else
        k->bad_order |= row < k->last_row || col != 0 ||
                        (k->last_row >= 0 && row != k->last_row + k->last_h);
    k->last_row = row;
    k->last_col = col;
    k->last_h = h;
    if (row < 0 || col < 0 || row + h > k->h || col + w > k->w) {
        k->bad_order = 1;
        return FCN_OK;
    }
    for (int c = 0; c < k->classes; c++)
        for (int y = 0; y < h; y++)
            memcpy(k->map + ((size_t)c * k->h + row + y) * k->w + col,
                   s + ((size_t)c * h + y) * w, sizeof(float) * w);
    k->covered += (long long)h * w;
    return FCN_OK;
}

static fcn_status ms_commit(void *ud) { ((msink *)ud)->committed++; return FCN_OK; }
static void ms_abort(void *ud) { ((msink *)ud)->aborted++; }

static fcn_map_sink ms_sink(msink *k)
{
    memset(k, 0, sizeof *k);
    return (fcn_map_sink){ms_begin, ms_put, ms_commit, ms_abort, k};
}

/* ---- images ---- */

static void sh(const char *cmd)
{
    if (system(cmd) != 0) {
        fprintf(stderr, "failed: %s\n", cmd);
        exit(2);
    }
}

/* A w x h RGB PPM of smooth shapes plus noise (so that a model sees
** structure), at path. */
static void write_ppm(const char *path, int w, int h)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        exit(2);
    fprintf(f, "P6\n%d %d\n255\n", w, h);
    unsigned s = 12345;
    unsigned char *row = malloc((size_t)w * 3);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w * 3; x++) {
            s = s * 1103515245u + 12345u;
            row[x] = (unsigned char)(((x / 3 * 7 + y * 3) >> 4 & 0x7f) +
                                     (s >> 24 & 0x7f));
        }
        fwrite(row, 1, (size_t)w * 3, f);
    }
    free(row);
    fclose(f);
}

/* ---- the runs ---- */

/* The whole map in memory: decode, one session, run (the reference). */
static float *whole_map(const fcn_model *m, const char *path, int *n)
{
    fcn_image img;
    fcn_session *s;
    fcn_scores sc;
    fcn_status st = fcn_image_decode(m, path, 0, 0, &img);
    if (!st)
        st = fcn_session_create(m, img.h, img.w, NULL, &s);
    if (!st)
        st = fcn_session_run_image(s, &img, &sc);
    CHECK(!st, "%s: the in-memory map (%s)", path, fcn_last_error());
    if (st)
        exit(1);
    *n = sc.classes * sc.out_h * sc.out_w;
    float *r = malloc(sizeof(float) * *n);
    memcpy(r, sc.data, sizeof(float) * *n);
    fcn_session_free(s);
    fcn_image_free(&img);
    return r;
}

/* A streamed map of path, its block count; NULL where the run failed. */
static float *streamed(const fcn_model *m, const char *path, int level,
                       const fcn_stream_options *o, msink *k, int *blocks)
{
    fcn_source *src;
    const fcn_source_options so = {.level = level};
    fcn_status st = fcn_source_open(m, path, &so, &src);
    CHECK(!st, "%s: source (%s)", path, fcn_last_error());
    if (st)
        return NULL;
    fcn_map_sink sink = ms_sink(k);
    if (blocks && fcn_stream_blocks(m, src, o, NULL, NULL, blocks))
        *blocks = -1;
    st = fcn_stream_run(m, src, o, &sink);
    fcn_source_free(src);
    CHECK(!st && k->committed == 1 && !k->aborted && k->begun == 1 &&
          !k->bad_order, "%s: streamed (%s), committed %d aborted %d, "
          "order %s", path, st ? fcn_last_error() : "ok", k->committed,
          k->aborted, k->bad_order ? "wrong" : "row-major");
    return st ? (free(k->map), NULL) : k->map;
}

static void same(const float *a, const float *b, size_t n, const char *what)
{
    CHECK(a && b && !memcmp(a, b, n * sizeof(float)),
          "%s: equal to the in-memory map bit for bit", what);
}

static void check_limits(const fcn_model *m, const char *tif,
                         const float *ref, int n)
{
    const size_t limits[] = {0, 64u << 20, 16u << 20, 4u << 20, 4u << 20};
    const int threads[] = {1, 3, 2, 1, 3};
    for (size_t i = 0; i < sizeof limits / sizeof *limits; i++) {
        const int t = threads[i];
        fcn_stream_options o = {.threads = t, .mem_limit = limits[i]};
        msink k;
        int blocks = 0;
        float *map = streamed(m, tif, 0, &o, &k, &blocks);
        char what[128];
        snprintf(what, sizeof what, "TIFF, mem-limit %zu MiB, %d "
                 "threads, %d blocks", limits[i] >> 20, t, blocks);
        same(map, ref, (size_t)n, what);
        CHECK(k.covered == (long long)k.h * k.w, "%s: every cell once",
              what);
        if (limits[i] && limits[i] <= (16u << 20))
            CHECK(blocks > 1, "%s: more than one block", what);
        free(map);
    }
    fcn_stream_options o = {.threads = 2, .block_h = 37, .block_w = 53};
    msink k;
    int blocks = 0;
    float *map = streamed(m, tif, 0, &o, &k, &blocks);
    same(map, ref, (size_t)n, "TIFF, blocks of 37x53 cells");
    CHECK(k.puts == blocks && blocks > 4, "%d blocks put, %d planned",
          k.puts, blocks);
    free(map);
}

/* Regions as fcn-run --cells gives them, streamed one by one and
** stitched. */
static void check_cells(const fcn_model *m, const char *tif,
                        const float *ref, int classes, int oh, int ow)
{
    const int rows[] = {0, oh / 3, oh / 3 + 1, oh};
    const int cols[] = {0, ow / 2 + 3, ow};
    float *st = calloc((size_t)classes * oh * ow, sizeof(float));
    int ok = 1;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 2; j++) {
            const fcn_region r = {rows[i], cols[j], rows[i + 1] - rows[i],
                                  cols[j + 1] - cols[j]};
            fcn_stream_options o = {.threads = 2, .mem_limit = 8u << 20,
                                    .cells = &r};
            msink k;
            float *map = streamed(m, tif, 0, &o, &k, NULL);
            ok &= map && k.h == r.height && k.w == r.width;
            for (int c = 0; map && c < classes; c++)
                for (int y = 0; y < r.height; y++)
                    memcpy(st + ((size_t)c * oh + r.row + y) * ow + r.col,
                           map + ((size_t)c * r.height + y) * r.width,
                           sizeof(float) * r.width);
            free(map);
        }
    CHECK(ok, "regions streamed with their shapes");
    same(st, ref, (size_t)classes * oh * ow, "6 regions stitched");
    free(st);
}

static void check_npy(const fcn_model *m, const char *tif, const char *dir,
                      const float *ref, int n)
{
    char path[300];
    snprintf(path, sizeof path, "%s/map.npy", dir);
    fcn_source *src;
    fcn_map_sink sink;
    fcn_stream_options o = {.mem_limit = 8u << 20};
    fcn_status st = fcn_source_open(m, tif, NULL, &src);
    if (!st)
        st = fcn_npy_sink_open(path, &sink);
    if (!st)
        st = fcn_stream_run(m, src, &o, &sink);
    fcn_source_free(src);
    fcn_tensor t = {0};
    if (!st)
        st = fcn_npy_read(path, &t);
    CHECK(!st, ".npy sink (%s)", st ? fcn_last_error() : "ok");
    same(t.data, ref, (size_t)n, ".npy written in place");
    fcn_tensor_free(&t);
}

static void check_refusals(const fcn_model *m, const char *tif,
                           const char *png, int oh, int ow)
{
    fcn_source *src;
    const fcn_source_options lv = {.level = 1};
    fcn_status st = fcn_source_open(m, png, &lv, &src);
    CHECK(st == FCN_ERR_ARG && strstr(fcn_last_error(), "level"),
          "level 1 of a PNG refused: %s", fcn_last_error());
    if (fcn_source_open(m, tif, NULL, &src))
        return;
    const fcn_region out = {oh - 2, 0, 3, ow};
    const fcn_stream_options cases[] = {
        {.cells = &out}, {.mem_limit = 1000}, {.mem_limit = 8u << 20}};
    const fcn_status want[] = {FCN_ERR_ARG, FCN_ERR_NOMEM, FCN_ERR_IO};
    for (int i = 0; i < 3; i++) {
        msink k;
        fcn_map_sink sink = ms_sink(&k);
        k.fail_at = i == 2 ? 2 : 0;
        st = fcn_stream_run(m, src, &cases[i], &sink);
        CHECK(st == want[i] && k.aborted == 1 && !k.committed,
              "refusal %d: status %d (%s), aborted %d, committed %d", i,
              (int)st, fcn_last_error(), k.aborted, k.committed);
        if (i == 2) /* the sink failed saying nothing: the runner says where */
            CHECK(!strcmp(fcn_last_error(), "the score map's sink failed in "
                          "put (i/o error)"),
                  "a silent sink's failure named: %s", fcn_last_error());
        free(k.map);
    }
    /* a window of the wrong size for its region session */
    int h, w;
    fcn_source_size(src, &h, &w, NULL);
    const fcn_region r1 = {3, 4, 2, 2};
    fcn_session *rs;
    unsigned char px[3] = {0};
    const fcn_image tiny = {px, 1, 1, 3, 8};
    fcn_scores sc;
    if (!fcn_session_create_region(m, h, w, &r1, NULL, &rs)) {
        st = fcn_session_run_window(rs, &tiny, &sc);
        CHECK(st == FCN_ERR_ARG && strstr(fcn_last_error(), "input window"),
              "a 1x1 window refused: %s", fcn_last_error());
        fcn_session_free(rs);
    }
    fcn_source_free(src);
}

/* Level 1 of a pyramid, and an oriented TIFF read by windows. */
static void check_level_orientation(const fcn_model *m, const char *dir,
                                    const char *ppm)
{
    char cmd[4096], pyr[300], l1[300], ori[300];
    snprintf(pyr, sizeof pyr, "%s/pyr.tif", dir);
    snprintf(l1, sizeof l1, "%s/level1.png", dir);
    snprintf(ori, sizeof ori, "%s/oriented.tif", dir);
    snprintf(cmd, sizeof cmd, "vips tiffsave %s %s --tile --tile-width 128 "
             "--tile-height 128 --pyramid --compression deflate && "
             "vips copy '%s[page=1]' %s", ppm, pyr, pyr, l1);
    sh(cmd);
    int n;
    float *ref = whole_map(m, l1, &n);
    fcn_stream_options o = {.mem_limit = 8u << 20};
    msink k;
    float *map = streamed(m, pyr, 1, &o, &k, NULL);
    same(map, ref, (size_t)n, "pyramid level 1 against the page vips wrote");
    free(map);
    free(ref);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c \"from PIL import Image; "
             "Image.open('%s').crop((0, 0, 700, 500)).save('%s', "
             "tiffinfo={274: 6})\"", l1, ori);
    sh(cmd);
    ref = whole_map(m, ori, &n);
    int h, w, windowed;
    fcn_source *src;
    if (!fcn_source_open(m, ori, NULL, &src)) {
        fcn_source_size(src, &h, &w, &windowed);
        CHECK(h == 700 && w == 500 && windowed, "oriented TIFF: %dx%d "
              "(WxH) shown, windowed %d", w, h, windowed);
        fcn_source_free(src);
    }
    map = streamed(m, ori, 0, &o, &k, NULL);
    same(map, ref, (size_t)n, "EXIF orientation 6, by windows");
    free(map);
    free(ref);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_stream TMPDIR SIZE\n");
        return 2;
    }
    const int size = atoi(argv[2]);
    char dir[256], ppm[300], tif[300], png[300], cmd[4096];
    snprintf(dir, sizeof dir, "%s/stream.XXXXXX", argv[1]);
    if (!mkdtemp(dir))
        return 2;
    snprintf(ppm, sizeof ppm, "%s/in.ppm", dir);
    snprintf(tif, sizeof tif, "%s/in.tif", dir);
    snprintf(png, sizeof png, "%s/small.png", dir);
    write_ppm(ppm, size, size - 17);
    snprintf(cmd, sizeof cmd, "vips tiffsave %s %s --tile --tile-width 256 "
             "--tile-height 256 --compression jpeg --Q 90 && vips crop %s "
             "%s 0 0 301 257", ppm, tif, ppm, png);
    sh(cmd);
    net flat = net_vgg_flat();  /* test_exact's Flatten-head model */
    net_weights(&flat);
    fcn_model *m = net_load(&flat, FCN_WINOGRAD_ALWAYS);
    if (!m)
        return 1;
    int n;
    float *ref = whole_map(m, tif, &n);
    fcn_source *src;
    int oh = 0, ow = 0, h = 0, w = 0, windowed = 0;
    if (!fcn_source_open(m, tif, NULL, &src)) {
        fcn_source_size(src, &h, &w, &windowed);
        fcn_source_free(src);
    }
    CHECK(h == size - 17 && w == size && windowed, "tiled TIFF %dx%d read "
          "by windows (%d)", w, h, windowed);
    {
        fcn_session *s;
        fcn_scores sc;
        if (!fcn_session_create(m, h, w, &(fcn_session_options){.tile = 64},
                                &s)) {
            fcn_session_shape(s, &sc);
            oh = sc.out_h;
            ow = sc.out_w;
            fcn_session_free(s);
        }
    }
    check_limits(m, tif, ref, n);
    check_cells(m, tif, ref, n / (oh * ow), oh, ow);
    check_npy(m, tif, dir, ref, n);
    free(ref);
    ref = whole_map(m, png, &n);
    fcn_stream_options o = {.mem_limit = 2u << 20, .threads = 3};
    msink k;
    float *map = streamed(m, png, 0, &o, &k, NULL);
    same(map, ref, (size_t)n, "PNG decoded whole, streamed");
    free(map);
    free(ref);
    check_refusals(m, tif, png, oh, ow);
    {
        /* a 50000 x 50000 image: its first conv's map would be 2e10 floats,
        ** over the 2^34 of a layer at the trained size; a region session
        ** holds only its region's */
        const fcn_region far = {9000, 11000, 5, 7};
        fcn_session *s = NULL;
        fcn_status st = fcn_session_create_region(m, 50000, 50000, &far, NULL,
                                                  &s);
        CHECK(!st && fcn_session_arena_bytes(s) < (64u << 20), "a region of "
              "a 50000x50000 image: %s, %zu bytes of arena",
              st ? fcn_last_error() : "planned",
              s ? fcn_session_arena_bytes(s) : 0);
        fcn_session_free(s);
    }
    check_level_orientation(m, dir, ppm);
    fcn_model_free(m);
    net_free(&flat);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    sh(cmd);
    return check_done();
}
