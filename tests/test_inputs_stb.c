/*
** test_inputs_stb.c: the inputs that crash or mislead Debian's stb_image
** 2.27 are refused or decoded by fcn itself (src/io/image_guard.c, the cap
** in image.c), on the stb decoder (FCN_DECODER=stb):
**
**  - the fuzzers' crash files (tests/fuzz/regressions/fuzz_image): each
**    refused with its status and message, or (16-bit PGM/PPM decoded to
**    the other channel count) decoded to the file's big-endian samples;
**  - JPEGs written here: DHT tables of 257 codes before the frame, after
**    a scan (entropy-coded data with stuffed bytes and restart markers),
**    behind fill bytes and junk, of a bad class or id, or cut short by
**    their segment, all refused with a message naming the table; valid
**    ones (a DHT after the scan, two tables in a segment, a table of
**    exactly 256 codes) decoded;
**  - PNM headers: 11 to 20-digit sides, sides of 0 and 70000, maxval 0
**    and 65536, no maxval, no whitespace after it, data shorter than the
**    header says (refused before allocating: no growth of the peak RSS);
**  - PNM at 8 and 16 bits, every maxval class, against PIL (and NumPy for
**    16-bit P6), a JPEG with restart markers (libvips' jpegsave), and
**    large PNG (8 and 16-bit, Adam7), JPEG, GIF and BMP files against
**    PIL, decoded under the cap on stb's memory (none refused); the most
**    the library held while decoding each is printed.
**    Expected values: tests/stb_refs.py, run with /usr/bin/python3.
**
** usage: test_inputs_stb GRAY_MODEL RGB_MODEL REGRESSIONS STB_REFS TMPDIR
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "fcn.h"

static const char *tmp;
static fcn_model *gray, *rgb;

/* ---- files ---- */

static char *tmp_name(const char *name)
{
    static char p[8][1024];
    static int k;
    k = (k + 1) % 8;
    snprintf(p[k], sizeof p[k], "%s/stb.%ld.%s", tmp, (long)getpid(), name);
    return p[k];
}

typedef struct bytes {
    unsigned char b[4096];
    size_t n;
} bytes;

static void add(bytes *o, const void *p, size_t n)
{
    if (o->n + n > sizeof o->b)
        abort();
    memcpy(o->b + o->n, p, n);
    o->n += n;
}

static void add_str(bytes *o, const char *s) { add(o, s, strlen(s)); }

static const char *save(const char *name, const bytes *o)
{
    const char *p = tmp_name(name);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(o->b, 1, o->n, f) != o->n || fclose(f))
        abort();
    return p;
}

/* ---- expectations ---- */

/* Decode path with m: status want, and a message containing needle. */
static void refused(const fcn_model *m, const char *what, const char *path,
                    fcn_status want, const char *needle)
{
    fcn_image img = {(unsigned char *)1, 1, 1, 1, 8};
    fcn_status st = fcn_image_decode(m, path, 0, 0, &img);
    CHECK(st == want && !img.pixels && strstr(fcn_last_error(), needle) &&
          strstr(fcn_last_error(), path), "%s: status %d (want %d): %s",
          what, st, want, fcn_last_error());
}

/* Decoded by both models (only: 0), or the gray (1) or RGB one (3). */
static void decodes(const char *what, const char *path, int only)
{
    for (int c = 1; c <= 3; c += 2) {
        if (only && only != c)
            continue;
        fcn_image img = {0};
        fcn_status st = fcn_image_decode(c == 1 ? gray : rgb, path, 0, 0,
                                         &img);
        CHECK(st == FCN_OK && img.pixels && img.c == c, "%s (%d channels): "
              "%s", what, c, st ? fcn_last_error() : "");
        fcn_image_free(&img);
    }
}

/* ---- JPEG ---- */

/* A marker segment: FF m, its length, payload. */
static void seg(bytes *o, int m, const unsigned char *p, size_t n)
{
    const unsigned char h[4] = {0xff, (unsigned char)m,
                                (unsigned char)((n + 2) >> 8),
                                (unsigned char)(n + 2)};
    add(o, h, 4);
    add(o, p, n);
}

/* One Huffman table: class/id byte, 16 counts, `values` symbols (0). */
static size_t table(unsigned char *p, int tc_th, const int counts[16],
                    int values)
{
    size_t n = 0;
    p[n++] = (unsigned char)tc_th;
    for (int i = 0; i < 16; i++)
        p[n++] = (unsigned char)counts[i];
    memset(p + n, 0, (size_t)values);
    return n + (size_t)values;
}

static const int one_code[16] = {1};       /* one code of 1 bit */
static const int codes_257[16] = {0, 0, 0, 0, 0, 0, 0, 255, 2};
static const int codes_256[16] = {0, 0, 0, 0, 0, 0, 0, 255, 1};

/* A 16x8 grey JPEG up to its scan (SOI, DQT, SOF0, the DC and AC tables
** of one code each: a block is two 0 bits), then `scan` entropy bytes. */
static void jpeg_start(bytes *o, const unsigned char *scan, size_t n)
{
    add_str(o, "\xff\xd8");
    unsigned char q[65] = {0};
    memset(q + 1, 1, 64);
    seg(o, 0xdb, q, sizeof q);
    static const unsigned char sof[] = {8, 0, 8, 0, 16, 1, 1, 0x11, 0};
    seg(o, 0xc0, sof, sizeof sof);
    unsigned char t[40];
    size_t k = table(t, 0x00, one_code, 1);
    k += table(t + k, 0x10, one_code, 1); /* two tables, one segment */
    seg(o, 0xc4, t, k);
    static const unsigned char sos[] = {1, 1, 0, 0, 63, 0};
    seg(o, 0xda, sos, sizeof sos);
    add(o, scan, n);
}

static void jpeg_dht(bytes *o, int tc_th, const int counts[16], int values,
                     size_t len)
{
    unsigned char t[300];
    size_t k = table(t, tc_th, counts, values);
    seg(o, 0xc4, t, len ? len : k);
}

static void jpegs(void)
{
    static const unsigned char zeros[2] = {0x00, 0x0f};
    /* entropy data that a scan of markers must step over */
    static const unsigned char tricky[] = {0x00, 0xff, 0x00, 0x12, 0xff,
                                           0xd3, 0x34, 0xff, 0xff, 0x00,
                                           0xff, 0xd7, 0x00};
    bytes o = {0};
    jpeg_start(&o, zeros, sizeof zeros);
    jpeg_dht(&o, 0x13, codes_256, 256, 0); /* unused, at the limit */
    add_str(&o, "\xff\xd9");
    const char *ok = save("ok.jpg", &o);
    fcn_image img = {0};
    int grey = fcn_image_decode(gray, ok, 0, 0, &img) == FCN_OK &&
               img.w == 16 && img.h == 8;
    for (int i = 0; grey && i < 16 * 8; i++)
        grey = img.pixels[i] == 128;
    CHECK(grey, "16x8 JPEG with a DHT of 256 codes after its scan: %s",
          fcn_last_error());
    fcn_image_free(&img);
    decodes("16x8 JPEG", ok, 3);

    /* a baseline scan whose AC table no DHT defined (only DC 0 is) */
    o.n = 0;
    add_str(&o, "\xff\xd8");
    unsigned char q[65] = {0};
    memset(q + 1, 1, 64);
    seg(&o, 0xdb, q, sizeof q);
    static const unsigned char sof[] = {8, 0, 8, 0, 16, 1, 1, 0x11, 0};
    seg(&o, 0xc0, sof, sizeof sof);
    jpeg_dht(&o, 0x00, one_code, 1, 0);
    static const unsigned char sos[] = {1, 1, 0, 0, 63, 0};
    seg(&o, 0xda, sos, sizeof sos);
    add(&o, zeros, sizeof zeros);
    add_str(&o, "\xff\xd9");
    refused(gray, "a scan on an undefined AC table", save("noac.jpg", &o),
            FCN_ERR_FORMAT, "JPEG: a scan uses the AC Huffman table 0, "
            "which is not defined");

    const char *want = "JPEG: Huffman table with 257 codes (at most 256)";
    o.n = 0;
    add_str(&o, "\xff\xd8");
    jpeg_dht(&o, 0x00, codes_257, 257, 0);
    const char *p = save("dht257_head.jpg", &o);
    refused(gray, "DHT of 257 codes before the frame", p, FCN_ERR_FORMAT,
            want);
    refused(rgb, "DHT of 257 codes before the frame (RGB)", p,
            FCN_ERR_FORMAT, want);
    o.n = 0;
    jpeg_start(&o, tricky, sizeof tricky);
    jpeg_dht(&o, 0x11, codes_257, 257, 0);
    add_str(&o, "\xff\xd9");
    refused(gray, "DHT of 257 codes after a scan", save("dht257_scan.jpg", &o),
            FCN_ERR_FORMAT, want);
    o.n = 0;
    add_str(&o, "\xff\xff\xff\xd8junk");
    jpeg_dht(&o, 0x00, codes_257, 257, 0);
    refused(gray, "DHT of 257 codes behind fill bytes and junk",
            save("dht257_junk.jpg", &o), FCN_ERR_FORMAT, want);
    /* the file ends inside the counts: stb reads zeros, 646 codes */
    o.n = 0;
    add(&o, "\xff\xd8\xff\xc4\0\xb5\x11\0\x02\x7e\x25\x96\x49\x07\x09\x09"
        "\xe9", 17);
    refused(gray, "DHT cut by the end of the file", save("dht_eof.jpg", &o),
            FCN_ERR_FORMAT, "Huffman table with 646 codes (at most 256)");
    static const struct {
        int tc_th, values;
        size_t len;
        const char *needle;
    } bad[] = {
        {0x20, 1, 0, "Huffman table of class 2, id 0 (class 0 or 1"},
        {0x14, 1, 0, "Huffman table of class 1, id 4"},
        {0x00, 1, 10, "Huffman table header beyond the end of its DHT"},
        {0x00, 1, 17, "Huffman table of 1 codes beyond the end of its DHT"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        o.n = 0;
        jpeg_start(&o, zeros, sizeof zeros);
        jpeg_dht(&o, bad[i].tc_th, one_code, bad[i].values, bad[i].len);
        add_str(&o, "\xff\xd9");
        refused(gray, bad[i].needle, save("dht_bad.jpg", &o), FCN_ERR_FORMAT,
                bad[i].needle);
    }
}

/* ---- PNM headers ---- */

static void pnm_headers(void)
{
    static const struct {
        const char *hdr, *needle;
        fcn_status st;
    } bad[] = {
        {"P5\n99999999999 1\n255\n", "PNM: image width 99999999999 is larger "
         "than 65536 pixels a side", FCN_ERR_NOMEM},
        {"P6\n2 99999999999999999999\n255\n", "PNM: image height over "
         "1000000000000 is larger than 65536", FCN_ERR_NOMEM},
        {"P5\n70000 1\n255\n", "PNM: image width 70000 is larger than 65536",
         FCN_ERR_NOMEM},
        {"P5\n5 0\n255\n", "PNM: image height 0", FCN_ERR_FORMAT},
        {"P5\n5 5\n0\n", "PNM: maxval 0 (1 to 65535)", FCN_ERR_FORMAT},
        {"P6\n5 5\n65536\n", "PNM: maxval 65536 (1 to 65535)",
         FCN_ERR_FORMAT},
        {"P5\n5 5\n", "PNM: no maxval in the header", FCN_ERR_FORMAT},
        {"P5 x", "PNM: no width in the header", FCN_ERR_FORMAT},
        {"P6\n1 1\n255x\1\2\3", "PNM: no whitespace after the maxval",
         FCN_ERR_FORMAT},
        {"P5\n4 4\n1000\n0123456789012345678901234567890",
         "PNM: the pixel data ends after 31 of 32 bytes", FCN_ERR_FORMAT},
        {"P5\n10000 10000\n255\n\1\2\3", "PNM: the pixel data ends after 3 "
         "of 100000000 bytes", FCN_ERR_FORMAT},
        {"P5\n10001 10000\n255\n\1\2\3", "10001x10000 (100010000 pixels) "
         "exceeds the limit of 100000000 pixels", FCN_ERR_NOMEM},
    };
    long rss0 = check_peak_rss_kb();
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        bytes o = {0};
        add_str(&o, bad[i].hdr);
        const char *p = save("bad.pnm", &o);
        refused(gray, bad[i].needle, p, bad[i].st, bad[i].needle);
        refused(rgb, bad[i].needle, p, bad[i].st, bad[i].needle);
    }
    long grew = check_peak_rss_kb() - rss0;
    CHECK(grew < 16 * 1024, "PNM headers grew the peak RSS by %ld KB", grew);
}

/* ---- the fuzzers' crash files ---- */

static const char *regression(const char *dir, const char *name)
{
    static char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

/* The 16-bit big-endian samples of a maxval-65535 PNM (header of hdr
** bytes) decoded with c channels: the samples as they are (v * 65535 /
** 65535), gray replicated. */
static void pnm16_raw(const char *path, size_t hdr, int file_c, int c,
                      int w, int h)
{
    size_t n;
    unsigned char *raw = check_read_file(path, &n);
    fcn_image img = {0};
    fcn_status st = fcn_image_decode(c == 1 ? gray : rgb, path, 0, 0, &img);
    int ok = st == FCN_OK && raw && img.w == w && img.h == h && img.c == c &&
             img.depth == 16 && n == hdr + (size_t)w * h * file_c * 2;
    for (int i = 0; ok && i < w * h * c; i++) {
        const unsigned char *s =
            raw + hdr + 2 * (i / c * file_c + (file_c == 1 ? 0 : i % c));
        ok = ((const uint16_t *)img.pixels)[i] == (s[0] << 8 | s[1]);
    }
    CHECK(ok, "%s with %d channels: the file's samples (%s)", path, c,
          st ? fcn_last_error() : "values differ");
    fcn_image_free(&img);
    free(raw);
}

static void regressions(const char *dir)
{
    const char *p = regression(dir, "jpeg_dht_257_codes.jpg");
    refused(gray, p, p, FCN_ERR_FORMAT, "JPEG: Huffman table with 257 codes "
            "(at most 256)");
    p = regression(dir, "jpeg_dht_cut_by_eof.jpg");
    refused(rgb, p, p, FCN_ERR_FORMAT, "JPEG: Huffman table with 646 codes "
            "(at most 256)");
    p = regression(dir, "pnm_size_overflows_int.pgm");
    refused(rgb, p, p, FCN_ERR_NOMEM, "PNM: image width 77777777777 is "
            "larger than 65536 pixels a side");
    p = regression(dir, "png_idat_claims_2gib.png");
    refused(gray, p, p, FCN_ERR_NOMEM, "decoding a 1x1 image would take more "
            "than 1156 KiB (a corrupt file?)");
    refused(rgb, p, p, FCN_ERR_NOMEM, "would take more than");
    p = regression(dir, "jpeg_scan_undefined_ac_table.jpg");
    refused(rgb, p, p, FCN_ERR_UNSUPPORTED, "progressive JPEG: decoded only "
            "through libvips");
    p = regression(dir, "png_empty_first_idat.png");
    refused(rgb, p, p, FCN_ERR_FORMAT, "PNG: empty IDAT chunk before the "
            "image data (not supported)");
    /* P5 2x2 and P6 2x1 at maxval 65535, headers of 13 bytes */
    pnm16_raw(regression(dir, "pgm16_as_rgb.pgm"), 13, 1, 3, 2, 2);
    pnm16_raw(regression(dir, "pgm16_as_rgb.pgm"), 13, 1, 1, 2, 2);
    pnm16_raw(regression(dir, "ppm16_as_gray.ppm"), 13, 3, 3, 2, 1);
    decodes("ppm16_as_gray.ppm", regression(dir, "ppm16_as_gray.ppm"), 1);
}

/* ---- against PIL ---- */

/* The live bytes the library holds, and their peak. */
static size_t live, peak;

static void *count_alloc(void *ud, size_t size, size_t align)
{
    (void)ud;
    void *p = NULL;
    if (posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align,
                       size))
        return NULL;
    live += size;
    peak = live > peak ? live : peak;
    return p;
}

static void count_free(void *ud, void *p, size_t size)
{
    (void)ud;
    live -= size;
    free(p);
}

/* One manifest line: the image decoded with c channels is w x h at depth,
** within maxd (largest) and meand (mean) of the expected samples. */
static void against(const char *image, int c, int w, int h, int depth,
                    const char *expected, double maxd, double meand)
{
    const size_t count = (size_t)w * h * c, bps = depth == 16 ? 2 : 1;
    size_t got;
    unsigned char *e = check_read_file(expected, &got);
    if (e && got != count * bps) {  /* exactly the samples, else none */
        free(e);
        e = NULL;
    }
    struct stat sb;
    const long long fsize = stat(image, &sb) == 0 ? (long long)sb.st_size : 0;
    fcn_image img = {0};
    size_t live0 = live;
    peak = live;
    fcn_status st = fcn_image_decode(c == 1 ? gray : rgb, image, 0, 0, &img);
    const size_t held = peak - live0;
    int ok = st == FCN_OK && e && img.w == w && img.h == h && img.c == c &&
             (img.depth ? img.depth : 8) == depth;
    double worst = 0, sum = 0;
    for (size_t i = 0; ok && i < count; i++) {
        const int got = bps == 2 ? ((const uint16_t *)img.pixels)[i]
                                 : img.pixels[i];
        const int want = bps == 2 ? e[2 * i] | e[2 * i + 1] << 8 : e[i];
        const double d = abs(got - want);
        worst = d > worst ? d : worst;
        sum += d;
    }
    const double mean = count ? sum / (double)count : 0;
    CHECK(ok && worst <= maxd && mean <= meand, "%s, %d channels: %s (largest "
          "difference %g, mean %.3f)", image, c,
          st ? fcn_last_error() : ok ? "pixels differ" : "wrong shape", worst,
          mean);
    if ((int64_t)w * h >= 100000)
        printf("note: %s (%dx%d, %lld bytes): the library held at most %.1f "
               "bytes a pixel\n", strrchr(image, '/') + 1, w, h, fsize,
               (double)held / ((double)w * h));
    fcn_image_free(&img);
    free(e);
}

static void pil(const char *script)
{
    static const char *const py = "/usr/bin/python3";
    if (access(py, X_OK) != 0) {
        printf("note: %s not found; no comparison with PIL\n", py);
        return;
    }
    char prefix[64], cmd[4096];
    snprintf(prefix, sizeof prefix, "stb.%ld.pil_", (long)getpid());
    snprintf(cmd, sizeof cmd, "%s '%s' '%s' '%s'", py, script, tmp, prefix);
    int rc = system(cmd);
    CHECK(rc == 0, "%s: %d", cmd, rc);
    char man[1200];
    snprintf(man, sizeof man, "%s/%smanifest.txt", tmp, prefix);
    FILE *f = fopen(man, "r");
    CHECK(rc || f, "%s", man);
    if (!f)
        return;
    const fcn_allocator a = {count_alloc, count_free, NULL};
    fcn_set_allocator(&a);
    char image[1024], expected[1024];
    int c, w, h, depth, lines = 0;
    double maxd, meand;
    while (fscanf(f, "%1023s %d %d %d %d %1023s %lf %lf", image, &c, &w, &h,
                  &depth, expected, &maxd, &meand) == 8) {
        against(image, c, w, h, depth, expected, maxd, meand);
        remove(expected);
        lines++;
    }
    fclose(f);
    fcn_set_allocator(NULL);
    CHECK(lines >= 40, "%d expectations in %s", lines, man);
    remove(man);
    /* a valid progressive JPEG (PIL's): not for stb 2.27 */
    snprintf(image, sizeof image, "%s/%sprog.jpg", tmp, prefix);
    refused(rgb, image, image, FCN_ERR_UNSUPPORTED, "progressive JPEG: "
            "decoded only through libvips");
    /* the images (several lines may share one) */
    snprintf(cmd, sizeof cmd, "rm -f '%s'/%s*", tmp, prefix);
    if (system(cmd) != 0)
        printf("note: %s failed\n", cmd);
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: test_inputs_stb GRAY_MODEL RGB_MODEL "
                "REGRESSIONS STB_REFS TMPDIR\n");
        return 2;
    }
    setenv("FCN_DECODER", "stb", 1);
    tmp = argv[5];
    CHECK(fcn_model_load(argv[1], NULL, &gray) == FCN_OK &&
          fcn_model_load(argv[2], NULL, &rgb) == FCN_OK, "models: %s",
          fcn_last_error());
    if (gray && rgb) {
        jpegs();
        pnm_headers();
        regressions(argv[3]);
        pil(argv[4]);
    }
    fcn_model_free(gray);
    fcn_model_free(rgb);
    const char *names[] = {"ok.jpg", "dht257_head.jpg", "dht257_scan.jpg",
                           "dht257_junk.jpg", "dht_eof.jpg", "dht_bad.jpg", "noac.jpg",
                           "bad.pnm"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        remove(tmp_name(names[i]));
    return check_done();
}
