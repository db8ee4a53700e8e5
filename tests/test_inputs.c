/*
** test_inputs.c: hostile images and arrays are refused cleanly, fast and
** without big allocations; valid ones read back exactly.
**
**  - image bombs written byte by byte here: JPEGs whose frame header claims
**    20000x20000 and 32495x64016 pixels (a few hundred bytes each), a 1-bit
**    PNG claiming 32768x32768 with a real deflate stream of zeros (~850 KB);
**    refused from the header (FCN_ERR_NOMEM, the message names the limit)
**    in a fraction of a second, with no growth of the peak RSS;
**  - a pixel cap set through fcn_options.max_pixels: BMPs and PNGs just
**    under it (decoded, pixels checked) and just over it (refused); resize
**    targets over the cap refused before decoding; a side over 65536;
**  - .npy: every lie of the header (rank, dtype, byte order, Fortran order,
**    keys, padding, magic, version, header length, data length against the
**    file size) refused with a message naming the file and the problem;
**    valid files (version 1.0, 2.0, 3.0, written here per the format's
**    spec and by NumPy from /usr/bin/python3) read back exactly
**    (test_inputs_npy.c).
**
** usage: test_inputs MODEL TMPDIR (MODEL: any model taking images).
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "fcn.h"
#include "test_inputs.h"

const char *tmp;

/* A path in TMPDIR for name, kept until remove_all (which removes them
** all, whatever happened). */
static char *made[512];
static int n_made;

const char *tmp_path(const char *name)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/inputs.%ld.%s", tmp, (long)getpid(), name);
    if (n_made == (int)(sizeof made / sizeof *made) ||
        !(made[n_made] = strdup(p)))
        abort();
    return made[n_made++];
}

void remove_all(void)
{
    for (int i = 0; i < n_made; i++) {
        remove(made[i]);
        free(made[i]);
    }
    n_made = 0;
}

void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f) {
        if (n)
            fwrite(data, 1, n, f);
        fclose(f);
    }
}

/* ---- a growing byte buffer (test_inputs.h) ---- */

void put(buf *o, const void *p, size_t n)
{
    if (o->n + n > o->cap) {
        o->cap = (o->n + n) * 2;
        o->b = realloc(o->b, o->cap);
        if (!o->b)
            abort();
    }
    memcpy(o->b + o->n, p, n);
    o->n += n;
}

void put8(buf *o, int v)
{
    unsigned char c = (unsigned char)v;
    put(o, &c, 1);
}

static void put16be(buf *o, unsigned v)
{
    put8(o, (int)(v >> 8));
    put8(o, (int)v);
}

static void put32be(buf *o, uint32_t v)
{
    put16be(o, v >> 16);
    put16be(o, v & 0xffff);
}

void put16le(buf *o, unsigned v)
{
    put8(o, (int)v);
    put8(o, (int)(v >> 8));
}

void put32le(buf *o, uint32_t v)
{
    put16le(o, v & 0xffff);
    put16le(o, v >> 16);
}

/* ---- images written by hand ---- */

/* A baseline JPEG of w x h, one component: quantisation table, frame
** header, one-symbol Huffman tables (DC diff 0, AC end-of-block: two bits a
** block), a scan of a few zero bytes. A decoder that trusts the frame
** header decodes all w x h pixels from it. */
static void jpeg_bomb(const char *path, int w, int h)
{
    buf o = {0};
    put16be(&o, 0xffd8);
    put16be(&o, 0xffdb);
    put16be(&o, 67);
    put8(&o, 0);
    for (int i = 0; i < 64; i++)
        put8(&o, 1);
    put16be(&o, 0xffc0);
    put16be(&o, 11);
    put8(&o, 8);
    put16be(&o, (unsigned)h);
    put16be(&o, (unsigned)w);
    static const unsigned char comp[4] = {1, 1, 0x11, 0};
    put(&o, comp, 4);
    for (int tc = 0; tc < 2; tc++) {
        put16be(&o, 0xffc4);
        put16be(&o, 20);
        put8(&o, tc << 4);
        put8(&o, 1);
        for (int i = 1; i < 16; i++)
            put8(&o, 0);
        put8(&o, 0);
    }
    static const unsigned char sos[10] = {0xff, 0xda, 0, 8, 1, 1, 0, 0, 63, 0};
    put(&o, sos, sizeof sos);
    for (int i = 0; i < 16; i++)
        put8(&o, 0);
    put16be(&o, 0xffd9);
    write_file(path, o.b, o.n);
    free(o.b);
}

static uint32_t crc32_of(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0xedb88320u : c >> 1;
    }
    return c ^ 0xffffffffu;
}

static void png_chunk(buf *o, const char *type, const buf *data)
{
    put32be(o, (uint32_t)data->n);
    size_t at = o->n;
    put(o, type, 4);
    if (data->n)
        put(o, data->b, data->n);
    put32be(o, crc32_of(o->b + at, o->n - at));
}

/* LSB-first bits for deflate. */
typedef struct bits {
    buf *o;
    uint32_t acc;
    int n;
} bits;

static void bits_put(bits *b, uint32_t v, int n)
{
    for (int i = 0; i < n; i++) {
        b->acc |= ((v >> i) & 1u) << b->n;
        if (++b->n == 8) {
            put8(b->o, (int)b->acc);
            b->acc = 0;
            b->n = 0;
        }
    }
}

/* A Huffman code, most significant bit first. */
static void bits_code(bits *b, uint32_t code, int n)
{
    for (int i = n - 1; i >= 0; i--)
        bits_put(b, (code >> i) & 1u, 1);
}

/* A zlib stream of `raw` zero bytes: one fixed-Huffman block, a literal
** zero, then matches of 258 at distance 1 (13 bits each), literals for the
** rest; adler32 of zeros is (raw mod 65521) << 16 | 1. */
static void zlib_zeros(buf *o, uint64_t raw)
{
    put8(o, 0x78);
    put8(o, 0x01);
    bits b = {o, 0, 0};
    bits_put(&b, 1, 1); /* final */
    bits_put(&b, 1, 2); /* fixed Huffman */
    uint64_t left = raw;
    if (left) {
        bits_code(&b, 0x30, 8); /* literal 0 */
        left--;
    }
    for (; left >= 258; left -= 258) {
        bits_code(&b, 0xc5, 8); /* length 258 (symbol 285) */
        bits_code(&b, 0, 5);    /* distance 1 */
    }
    for (; left; left--)
        bits_code(&b, 0x30, 8);
    bits_code(&b, 0, 7); /* end of block */
    if (b.n)
        bits_put(&b, 0, 8 - b.n);
    put32be(o, (uint32_t)(raw % 65521) << 16 | 1);
}

/* A 1-bit greyscale PNG of w x h, all black, with a real IDAT. */
static void png_zeros(const char *path, uint32_t w, uint32_t h)
{
    buf o = {0}, d = {0};
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n',
                                         0x1a, '\n'};
    put(&o, sig, 8);
    put32be(&d, w);
    put32be(&d, h);
    static const unsigned char ihdr[5] = {1, 0, 0, 0, 0};
    put(&d, ihdr, 5);
    png_chunk(&o, "IHDR", &d);
    d.n = 0;
    zlib_zeros(&d, (uint64_t)h * (1 + (w + 7) / 8));
    png_chunk(&o, "IDAT", &d);
    d.n = 0;
    png_chunk(&o, "IEND", &d);
    write_file(path, o.b, o.n);
    free(o.b);
    free(d.b);
}

static int bmp_value(int x, int y) { return (x * 7 + y * 13) & 255; }

/* A 24-bit BMP of w x h, grey bmp_value(x, y) (equal R, G, B, so every
** channel count decodes to it). */
static void bmp_grey(const char *path, int w, int h)
{
    buf o = {0};
    const int row = (w * 3 + 3) & ~3;
    put8(&o, 'B');
    put8(&o, 'M');
    put32le(&o, (uint32_t)(54 + row * h));
    put32le(&o, 0);
    put32le(&o, 54);
    put32le(&o, 40);
    put32le(&o, (uint32_t)w);
    put32le(&o, (uint32_t)h);
    put16le(&o, 1);
    put16le(&o, 24);
    put32le(&o, 0);
    put32le(&o, (uint32_t)(row * h));
    put32le(&o, 2835);
    put32le(&o, 2835);
    put32le(&o, 0);
    put32le(&o, 0);
    for (int y = h - 1; y >= 0; y--) { /* bottom-up */
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++)
                put8(&o, bmp_value(x, y));
        for (int p = w * 3; p < row; p++)
            put8(&o, 0);
    }
    write_file(path, o.b, o.n);
    free(o.b);
}

static fcn_model *load_capped(const char *model, int64_t cap)
{
    fcn_options o = {0};
    o.max_pixels = cap;
    fcn_model *m = NULL;
    if (fcn_model_load(model, &o, &m) != FCN_OK)
        fprintf(stderr, "%s: %s\n", model, fcn_last_error());
    return m;
}

/* fcn_image_decode of path refused with FCN_ERR_NOMEM and a message that
** contains needle, within max_s seconds; nothing returned. */
static void expect_refused(const fcn_model *m, const char *what,
                           const char *path, int out_h, int out_w,
                           const char *needle, double max_s)
{
    fcn_image img = {(unsigned char *)1, 1, 1, 1, 8};
    double t0 = check_now();
    fcn_status st = fcn_image_decode(m, path, out_h, out_w, &img);
    double dt = check_now() - t0;
    CHECK(st == FCN_ERR_NOMEM && !img.pixels &&
          strstr(fcn_last_error(), needle) && dt < max_s,
          "%s: status %d in %.3f s: %s", what, st, dt, fcn_last_error());
}

static void image_bombs(const char *model)
{
    fcn_model *m = load_capped(model, 0);
    CHECK(m != NULL, "model %s", model);
    if (!m)
        return;
    const char *j1 = tmp_path("bomb20000.jpg"), *j2 = tmp_path("bomb2G.jpg"),
               *p1 = tmp_path("bomb32768.png");
    jpeg_bomb(j1, 20000, 20000);
    jpeg_bomb(j2, 32495, 64016);
    png_zeros(p1, 32768, 32768);
    struct stat sb;
    CHECK(stat(p1, &sb) == 0 && sb.st_size < 1000000,
          "PNG bomb is small (%lld bytes)", (long long)sb.st_size);
    long rss0 = check_peak_rss_kb();
    expect_refused(m, "JPEG 20000x20000", j1, 0, 0,
                   "20000x20000 (400000000 pixels) exceeds the limit of "
                   "100000000 pixels", 1.0);
    expect_refused(m, "JPEG 32495x64016", j2, 0, 0,
                   "32495x64016 (2080199920 pixels) exceeds the limit", 1.0);
    expect_refused(m, "PNG 32768x32768", p1, 0, 0,
                   "32768x32768 (1073741824 pixels) exceeds the limit", 1.0);
    expect_refused(m, "JPEG bomb resized small", j1, 28, 28,
                   "exceeds the limit", 1.0);
    fcn_tensor t = {(float *)1, 1, 1, 1};
    fcn_status st = fcn_image_load(m, p1, 0, 0, &t);
    CHECK(st == FCN_ERR_NOMEM && !t.data, "fcn_image_load of the PNG bomb: "
          "%d %s", st, fcn_last_error());
    /* one side beyond 65536 (stb itself would go to 2^24) */
    const char *p2 = tmp_path("wide.png");
    png_zeros(p2, 70000, 1);
    expect_refused(m, "PNG 70000x1", p2, 0, 0,
                   "70000x1 is larger than 65536 pixels a side", 1.0);
    png_zeros(p2, 65536, 1);
    fcn_image ok = {0};
    CHECK(fcn_image_decode(m, p2, 0, 0, &ok) == FCN_OK && ok.w == 65536 &&
          ok.h == 1 && ok.pixels && !ok.pixels[65535],
          "65536x1 PNG: %s", fcn_last_error());
    fcn_image_free(&ok);
    /* the resize target, before decoding */
    const char *j3 = tmp_path("small.jpg");
    jpeg_bomb(j3, 16, 8);
    /* the bombs are real: the same bytes decode (DC 0: grey 128) */
    fcn_image g = {0};
    int grey = fcn_image_decode(m, j3, 0, 0, &g) == FCN_OK && g.w == 16 &&
               g.h == 8;
    for (int i = 0; grey && i < 16 * 8 * g.c; i++)
        grey = g.pixels[i] == 128;
    CHECK(grey, "16x8 JPEG of the bombs' making: %s", fcn_last_error());
    fcn_image_free(&g);
    expect_refused(m, "resize to 40000x40000", j3, 40000, 40000,
                   "resize to 40000x40000 (1600000000 pixels) exceeds the "
                   "limit of 100000000 pixels", 1.0);
    expect_refused(m, "bomb resized to 40000x40000", j1, 40000, 40000,
                   "exceeds the limit", 1.0);
    fcn_image bad = {(unsigned char *)1, 1, 1, 1, 8};
    CHECK(fcn_image_decode(m, j3, 1, 70000, &bad) == FCN_ERR_ARG &&
          !bad.pixels, "resize to 70000x1: %s", fcn_last_error());
    long grew = check_peak_rss_kb() - rss0;
    CHECK(grew < 64 * 1024, "bombs grew the peak RSS by %ld KB", grew);
    remove(j1);
    remove(j2);
    remove(p1);
    remove(p2);
    remove(j3);
    fcn_model_free(m);
}

/* img decoded as a w x h bmp_grey, every channel. */
static int is_bmp_grey(const fcn_image *img, int w, int h)
{
    if (!img->pixels || img->w != w || img->h != h)
        return 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < img->c; c++)
                if (img->pixels[((size_t)y * w + x) * img->c + c] !=
                    bmp_value(x, y))
                    return 0;
    return 1;
}

/* A cap of 10000 pixels through fcn_options.max_pixels. */
static void pixel_cap(const char *model)
{
    fcn_model *m = load_capped(model, 10000);
    CHECK(m != NULL, "model with max_pixels 10000");
    if (!m)
        return;
    const char *b1 = tmp_path("100x100.bmp"), *b2 = tmp_path("101x100.bmp"),
               *p1 = tmp_path("100x100.png"), *p2 = tmp_path("100x101.png");
    bmp_grey(b1, 100, 100);
    bmp_grey(b2, 101, 100);
    png_zeros(p1, 100, 100);
    png_zeros(p2, 100, 101);
    fcn_image img = {0}, r = {0};
    CHECK(fcn_image_decode(m, b1, 0, 0, &img) == FCN_OK &&
          is_bmp_grey(&img, 100, 100), "100x100 BMP at the cap: %s",
          fcn_last_error());
    expect_refused(m, "101x100 BMP over the cap", b2, 0, 0,
                   "101x100 (10100 pixels) exceeds the limit of 10000 "
                   "pixels", 1.0);
    fcn_image z = {0};
    CHECK(fcn_image_decode(m, p1, 0, 0, &z) == FCN_OK && z.w == 100 &&
          z.h == 100 && !z.pixels[0] && !z.pixels[100 * 100 * z.c - 1],
          "100x100 PNG at the cap: %s", fcn_last_error());
    fcn_image_free(&z);
    expect_refused(m, "100x101 PNG over the cap", p2, 0, 0,
                   "100x101 (10100 pixels) exceeds the limit of 10000", 1.0);
    /* resize targets: through fcn_image_resize and fcn_image_decode */
    CHECK(fcn_image_resize(m, &img, 101, 100, &r) == FCN_ERR_NOMEM &&
          !r.pixels && strstr(fcn_last_error(), "resize to 100x101"),
          "resize over the cap: %s", fcn_last_error());
    CHECK(fcn_image_resize(m, &img, 50, 200, &r) == FCN_OK && r.w == 200 &&
          r.h == 50, "resize to the cap: %s", fcn_last_error());
    fcn_image_free(&r);
    CHECK(fcn_image_resize(m, &img, 0, 10, &r) == FCN_ERR_ARG && !r.pixels,
          "resize to 10x0: %s", fcn_last_error());
    expect_refused(m, "decode resized over the cap", b1, 100, 101,
                   "resize to 101x100", 1.0);
    expect_refused(m, "decode resized over the cap (one side)", b1, 0, 101,
                   "resize to 101x100", 1.0);
    fcn_image small = {0};
    CHECK(fcn_image_decode(m, b2, 10, 10, &small) == FCN_ERR_NOMEM,
          "an image over the cap is refused even when resized small");
    CHECK(fcn_image_decode(m, b1, 10, 20, &small) == FCN_OK &&
          small.w == 20 && small.h == 10, "decode + resize: %s",
          fcn_last_error());
    fcn_image_free(&small);
    fcn_image_free(&img);
    fcn_model_free(m);

    /* raised: 10100 takes the 101x100 BMP */
    m = load_capped(model, 10100);
    CHECK(m && fcn_image_decode(m, b2, 0, 0, &img) == FCN_OK &&
          is_bmp_grey(&img, 101, 100), "101x100 BMP at a raised cap: %s",
          fcn_last_error());
    fcn_image_free(&img);
    fcn_model_free(m);
    fcn_options neg = {0};
    neg.max_pixels = -1;
    fcn_model *x = (fcn_model *)1;
    CHECK(fcn_model_load(model, &neg, &x) == FCN_ERR_ARG && !x &&
          strstr(fcn_last_error(), "max_pixels"), "max_pixels -1: %s",
          fcn_last_error());
    remove(b1);
    remove(b2);
    remove(p1);
    remove(p2);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: test_inputs MODEL TMPDIR\n");
        return 2;
    }
    tmp = argv[2];
    image_bombs(argv[1]);
    pixel_cap(argv[1]);
    npy_hand();
    npy_numpy();
    remove_all();
    return check_done();
}

