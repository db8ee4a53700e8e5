/*
** test_images.c: images through both decoders, against what PIL and NumPy
** make of them (tests/gen_images.py writes the files and the expected
** pixels, run here into TMPDIR):
**
**  - lossless files decode exactly: PNG (RGB, RGBA, gray, gray+alpha,
**    palette with transparency), PNM and BMP with both decoders (so they
**    agree), and with libvips TIFF, BigTIFF, WebP lossless and CMYK TIFF;
**    each to 3 channels as PIL's convert('RGB') and to 1 as convert('L');
**  - 16-bit PNG, PGM and TIFF at full depth (depth 16);
**  - JPEGs with EXIF orientations 1 to 8: libvips gives what
**    ImageOps.exif_transpose gives;
**  - float TIFF refused, and files cut short (PNG, JPEG, TIFF, WebP), with
**    a message naming the file; TIFF and WebP headers claiming 60000x60000
**    and 16383x16383 pixels refused with FCN_ERR_NOMEM before decoding
**    (the peak RSS growing by under 64 MiB);
**  - fcn_image_fit: sizes and crop offsets from torchvision's formulas,
**    the pixels of a 2x box downscale and cut against NumPy;
**  - fcn_options.prep: the floats equal (x*scale - mean[c]) / std[c]
**    computed here, channels swapped for "bgr", the effective values in
**    fcn_model_info, out-of-range values refused; 16-bit v*257 gives the
**    floats of 8-bit v bit for bit, and the same scores;
**  - the allocation hook: each allocation of a decode and a fit refused
**    in turn (FCN_ERR_NOMEM, nothing leaked).
**
** usage: test_images GEN_IMAGES_PY TMPDIR GRAY_MODEL RGB_MODEL DECODER
** DECODER: what FCN_DECODER is set to (stb, vips; another value: the
** decode must fail naming it).
*/
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "fcn.h"

static char dir[1024];
static const char *decoder;
static fcn_model *gray_m, *rgb_m;

static const char *at(const char *name)
{
    static char p[2][1200];
    static int k;
    k ^= 1;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

/* The whole of file name in dir (NULL if absent); *n its size. */
static unsigned char *slurp(const char *name, size_t *n)
{
    return check_read_file(at(name), n);
}

static size_t image_bytes(const fcn_image *im)
{
    return (size_t)im->w * im->h * im->c * (im->depth == 16 ? 2 : 1);
}

/* ---- decode and refuse lines ---- */

static void decode_line(const char *name, const char *file, int c, int depth,
                        int w, int h, const char *raw, const char *who)
{
    if (!strcmp(who, "vips") && strcmp(decoder, "vips"))
        return;
    fcn_image im = {0};
    fcn_status st = fcn_image_decode(c == 1 ? gray_m : rgb_m, at(file), 0, 0,
                                     &im);
    CHECK(st == FCN_OK, "%s: decode: %s", name, fcn_last_error());
    if (st)
        return;
    const int d = im.depth ? im.depth : 8;
    CHECK(im.w == w && im.h == h && im.c == c && d == depth,
          "%s: %dx%dx%d depth %d, want %dx%dx%d depth %d", name, im.w, im.h,
          im.c, d, w, h, c, depth);
    size_t n = 0;
    unsigned char *e = slurp(raw, &n);
    if (im.w == w && im.h == h && im.c == c && d == depth && e) {
        /* the raw file is little-endian, this host too (x86-64) */
        size_t bad = 0, first = 0;
        for (size_t i = 0; i < n; i++)
            if (im.pixels[i] != e[i] && !bad++)
                first = i;
        CHECK(n == image_bytes(&im) && !bad, "%s: %zu of %zu bytes differ "
              "from PIL's (first at %zu: %d, want %d)", name, bad, n, first,
              im.pixels[first], e[first]);
    }
    free(e);
    fcn_image_free(&im);
}

static void refuse_line(const char *name, const char *file, int want,
                        char *text, const char *who)
{
    if (!strcmp(who, "vips") && strcmp(decoder, "vips"))
        return;
    for (char *p = text; *p; p++)
        if (*p == '_')
            *p = ' ';
    fcn_image im = {(unsigned char *)1, 1, 1, 1, 8};
    const double t0 = check_now();
    const long rss0 = check_peak_rss_kb();
    fcn_status st = fcn_image_decode(rgb_m, at(file), 0, 0, &im);
    const double dt = check_now() - t0;
    CHECK((int)st == want && strstr(fcn_last_error(), text) && !im.pixels,
          "%s: status %d (want %d): %s (want '%s')", name, st, want,
          fcn_last_error(), text);
    /* nothing decoded: the peak RSS stays (the time is only reported) */
    CHECK(check_peak_rss_kb() - rss0 < 64 * 1024,
          "%s: refused in %.3f s, peak RSS +%ld KB", name, dt,
          check_peak_rss_kb() - rss0);
}

/* ---- fit ---- */

/* An h x w image of c channels, depth 8 or 16, of pseudo-random samples
** (malloc'd: the caller's own buffer). */
static fcn_image noise(int h, int w, int c, int depth, unsigned seed)
{
    fcn_image im = {NULL, w, h, c, depth};
    const size_t n = (size_t)w * h * c;
    im.pixels = malloc(n * (depth == 16 ? 2 : 1));
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        if (depth == 16)
            ((uint16_t *)im.pixels)[i] = (uint16_t)(seed >> 8);
        else
            im.pixels[i] = (unsigned char)(seed >> 16);
    }
    return im;
}

/* o equals r's rows [top, top+o.h), columns [left, left+o.w). */
static int is_cut(const fcn_image *o, const fcn_image *r, int top, int left)
{
    const size_t px = (size_t)o->c * (o->depth == 16 ? 2 : 1);
    for (int y = 0; y < o->h; y++)
        if (memcmp(o->pixels + (size_t)y * o->w * px,
                   r->pixels + ((size_t)(top + y) * r->w + left) * px,
                   (size_t)o->w * px))
            return 0;
    return 1;
}

static void fit_line(int mode, int h, int w, int oh, int ow, int rh, int rw,
                     int top, int left)
{
    for (int depth = 8; depth <= 16; depth += 8) {
        fcn_image img = noise(h, w, 3, depth, (unsigned)(h * 131 + w));
        fcn_image o = {0}, r = {0};
        fcn_status st = fcn_image_fit(rgb_m, &img, (fcn_fit)mode, oh, ow,
                                      &o);
        const int want_h = mode == 1 ? rh : oh, want_w = mode == 1 ? rw : ow;
        CHECK(!st && o.h == want_h && o.w == want_w && o.c == 3 &&
                  o.depth == depth,
              "fit %d of %dx%d to %dx%d, depth %d: %dx%d (want %dx%d) %s",
              mode, w, h, ow, oh, depth, o.w, o.h, want_w, want_h,
              st ? fcn_last_error() : "");
        /* the resize torchvision's size says, then its cut */
        fcn_status rs = rh == h && rw == w
                            ? FCN_OK
                            : fcn_image_resize(rgb_m, &img, rh, rw, &r);
        const fcn_image *src = rh == h && rw == w ? &img : &r;
        if (!st && !rs && o.h == want_h && o.w == want_w)
            CHECK(is_cut(&o, src, mode == 2 ? top : 0, mode == 2 ? left : 0),
                  "fit %d of %dx%d to %dx%d, depth %d: not the %dx%d resize "
                  "cut at top %d, left %d", mode, w, h, ow, oh, depth, rw, rh,
                  top, left);
        fcn_image_free(&o);
        fcn_image_free(&r);
        free(img.pixels);
    }
}

static void fitpx_line(const char *file, int oh, int ow, const char *raw)
{
    fcn_image img = {0}, o = {0};
    size_t n = 0;
    float *e = (float *)slurp(raw, &n);
    fcn_status st = fcn_image_decode(gray_m, at(file), 0, 0, &img);
    if (!st)
        st = fcn_image_fit(gray_m, &img, FCN_FIT_CROP, oh, ow, &o);
    CHECK(!st && e && n == sizeof(float) * oh * ow && o.h == oh &&
              o.w == ow && o.c == 1,
          "fit pixels of %s: %s", file, st ? fcn_last_error() : "size");
    if (!st && e && n == sizeof(float) * oh * ow && o.h == oh && o.w == ow) {
        double worst = 0;
        for (int i = 0; i < oh * ow; i++)
            worst = fmax(worst, fabs(o.pixels[i] - e[i]));
        /* a mean of 4 samples rounded to the nearest integer */
        CHECK(worst <= 0.5 + 1e-4, "fit pixels of %s: %.3f from NumPy's 2x2 "
              "means", file, worst);
    }
    free(e);
    fcn_image_free(&img);
    fcn_image_free(&o);
}

/* ---- preprocessing overrides and 16 bits ---- */

static void prep_checks(const char *rgb_path)
{
    const float mean[3] = {0.25f, -0.5f, 0.125f};
    const float stdv[3] = {0.5f, 2.0f, 0.2f};
    const float scale = 1.0f / 127.5f;
    fcn_options o = {0};
    o.prep = (fcn_preprocess){"bgr", scale, mean, stdv};
    fcn_model *m = NULL;
    fcn_status st = fcn_model_load(rgb_path, &o, &m);
    CHECK(st == FCN_OK, "model with prep overrides: %s", fcn_last_error());
    if (st)
        return;
    fcn_model_info info;
    fcn_model_get_info(m, &info);
    CHECK(!strcmp(info.color, "bgr") && info.scale == scale &&
              info.mean[1] == mean[1] && info.std[2] == stdv[2] &&
              info.mean != mean,
          "effective preprocessing: %s %g %g %g", info.color, info.scale,
          info.mean[1], info.std[2]);
    fcn_tensor t = {0};
    size_t n = 0;
    unsigned char *x = slurp("rgb_rgb.raw", &n);
    st = fcn_image_load(m, at("rgb.png"), 0, 0, &t);
    CHECK(!st && x && t.c == 3 && n == (size_t)t.h * t.w * 3,
          "fcn_image_load with overrides: %s", fcn_last_error());
    if (!st && x && t.c == 3 && n == (size_t)t.h * t.w * 3) {
        double worst = 0;
        const size_t hw = (size_t)t.h * t.w;
        for (int c = 0; c < 3; c++)
            for (size_t p = 0; p < hw; p++) {
                /* bgr: plane c holds source channel 2 - c */
                double e = ((double)x[p * 3 + 2 - c] * scale - mean[c]) /
                           stdv[c];
                worst = fmax(worst, fabs(t.data[c * hw + p] - e) /
                                        (1 + fabs(e)));
            }
        CHECK(worst < 1e-5, "overrides: floats %.3g from (x*scale - mean) / "
              "std", worst);
    }
    free(x);
    fcn_tensor_free(&t);
    fcn_model_free(m);
}

/* A refused override: the status and the message. */
static void prep_refused(const char *model, fcn_preprocess p,
                         const char *text)
{
    fcn_options o = {0};
    o.prep = p;
    fcn_model *m = (fcn_model *)1;
    fcn_status st = fcn_model_load(model, &o, &m);
    CHECK(st == FCN_ERR_ARG && !m && strstr(fcn_last_error(), text),
          "prep refused (%s): status %d: %s", text, st, fcn_last_error());
    if (!st)
        fcn_model_free(m);
}

/* 16-bit v*257 against 8-bit v: the same floats and the same scores. */
static void depth_checks(void)
{
    fcn_tensor a = {0}, b = {0};
    fcn_status sa = fcn_image_load(rgb_m, at("rgb.png"), 0, 0, &a);
    fcn_status sb = fcn_image_load(rgb_m, at("rgb8x257.png"), 0, 0, &b);
    CHECK(!sa && !sb && a.c == b.c && a.h == b.h && a.w == b.w &&
              !memcmp(a.data, b.data, sizeof(float) * a.c * a.h * a.w),
          "16-bit v*257 and 8-bit v: the same floats (%s)", fcn_last_error());
    fcn_tensor_free(&a);
    fcn_tensor_free(&b);

    fcn_image i8 = {0}, i16 = {0};
    sa = fcn_image_decode(gray_m, at("g40.png"), 0, 0, &i8);
    sb = fcn_image_decode(gray_m, at("g40x257.png"), 0, 0, &i16);
    CHECK(!sa && !sb && i16.depth == 16 && i8.h == i16.h && i8.w == i16.w,
          "40x48 at 8 and 16 bits: %s", fcn_last_error());
    fcn_session *s = NULL;
    if (!sa && !sb && !fcn_session_create(gray_m, i8.h, i8.w, NULL, &s)) {
        fcn_scores r8, r16;
        size_t n = 0;
        float *k = NULL;
        if (!fcn_session_run_image(s, &i8, &r8)) {
            n = (size_t)r8.classes * r8.out_h * r8.out_w;
            k = malloc(sizeof(float) * n);
            memcpy(k, r8.data, sizeof(float) * n);
        }
        CHECK(k && !fcn_session_run_image(s, &i16, &r16) &&
                  !memcmp(k, r16.data, sizeof(float) * n),
              "scores of the 16-bit image equal the 8-bit one's: %s",
              fcn_last_error());
        free(k);
        /* a 16-bit resize: within 1 of the 8-bit one's, on the 8-bit
        ** scale */
        fcn_image r8i = {0}, r16i = {0};
        sa = fcn_image_resize(gray_m, &i8, 17, 31, &r8i);
        sb = fcn_image_resize(gray_m, &i16, 17, 31, &r16i);
        CHECK(!sa && !sb && r16i.depth == 16 && r16i.w == 31 && r16i.h == 17,
              "16-bit resize: %s", fcn_last_error());
        if (!sa && !sb) {
            double worst = 0;
            for (int i = 0; i < 17 * 31; i++)
                worst = fmax(worst, fabs(((uint16_t *)r16i.pixels)[i] /
                                             257.0 - r8i.pixels[i]));
            CHECK(worst <= 1.0, "16-bit resize %.3f from the 8-bit one",
                  worst);
        }
        fcn_image_free(&r8i);
        fcn_image_free(&r16i);
    }
    fcn_session_free(s);
    fcn_image_free(&i8);
    fcn_image_free(&i16);
}

/* ---- the allocation hook: the n-th allocation refused ---- */

static long hook_n, hook_calls, hook_live;

static void *hook_alloc(void *ud, size_t size, size_t align)
{
    (void)ud;
    if (++hook_calls == hook_n)
        return NULL;
    void *p = NULL;
    if (posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align,
                       size ? size : 1))
        return NULL;
    hook_live++;
    return p;
}

static void hook_free(void *ud, void *p, size_t size)
{
    (void)ud, (void)size;
    hook_live--;
    free(p);
}

/* Each allocation of decode (+ fit) refused in turn: FCN_ERR_NOMEM and
** the image empty (or a success where the library can do without the
** block), nothing left allocated; n past the last, it succeeds. */
static void alloc_checks(const char *file, int fit)
{
    const fcn_allocator a = {hook_alloc, hook_free, NULL};
    fcn_set_allocator(&a);
    int ok = 1, done = 0;
    long n;
    for (n = 1; n < 1000 && !done; n++) {
        hook_n = n;
        hook_calls = hook_live = 0;
        fcn_image im = {0}, o = {0};
        fcn_status st = fcn_image_decode(rgb_m, at(file), 0, 0, &im);
        if (!st && fit)
            st = fcn_image_fit(rgb_m, &im, FCN_FIT_CROP, 5, 4, &o);
        if (hook_calls < n)  /* nothing refused: the whole call */
            done = !st;
        else if (st)
            ok &= st == FCN_ERR_NOMEM && !o.pixels;
        fcn_image_free(&im);
        fcn_image_free(&o);
        ok &= hook_live == 0;
    }
    fcn_set_allocator(NULL);
    CHECK(ok && done && n > 2, "%s%s: each of %ld allocations refused in "
          "turn: FCN_ERR_NOMEM, nothing leaked", file, fit ? " + fit" : "",
          n - 2);
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: test_images GEN_IMAGES_PY TMPDIR GRAY_MODEL "
                "RGB_MODEL DECODER\n");
        return 2;
    }
    decoder = argv[5];
    snprintf(dir, sizeof dir, "%s/images.%s.%ld", argv[2], decoder,
             (long)getpid());
    CHECK(!fcn_model_load(argv[3], NULL, &gray_m) &&
              !fcn_model_load(argv[4], NULL, &rgb_m),
          "models: %s", fcn_last_error());
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' '%s'", argv[1], dir);
    CHECK(gray_m && rgb_m && system(cmd) == 0,
          "%s (needs python3-numpy, python3-pil, libvips-tools)", cmd);
    if (check_fail)
        return check_done();

    if (strcmp(decoder, "stb") && strcmp(decoder, "vips")) {
        fcn_image im = {0};
        fcn_status st = fcn_image_decode(gray_m, at("gray.png"), 0, 0, &im);
        char want[128];
        snprintf(want, sizeof want, "FCN_DECODER='%s'", decoder);
        CHECK(st == FCN_ERR_ARG && strstr(fcn_last_error(), want),
              "FCN_DECODER=%s: status %d: %s", decoder, st, fcn_last_error());
        fcn_image_free(&im);
    } else {
        FILE *f = fopen(at("manifest.txt"), "r");
        char line[512];
        while (f && fgets(line, sizeof line, f)) {
            char k[16], a[64], b[64], r[64], who[16], text[160];
            int v[9];
            if (sscanf(line, "decode %63s %63s %d %d %d %d %63s %15s", a, b,
                       &v[0], &v[1], &v[2], &v[3], r, who) == 8)
                decode_line(a, b, v[0], v[1], v[2], v[3], r, who);
            else if (sscanf(line, "refuse %63s %63s %d %159s %15s", a, b,
                            &v[0], text, who) == 5)
                refuse_line(a, b, v[0], text, who);
            else if (sscanf(line, "fit %d %d %d %d %d %d %d %d %d", &v[0],
                            &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7],
                            &v[8]) == 9)
                fit_line(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7],
                         v[8]);
            else if (sscanf(line, "fitpx %63s %d %d %63s", a, &v[0], &v[1],
                            r) == 4)
                fitpx_line(a, v[0], v[1], r);
            else if (sscanf(line, "%15s", k) == 1)
                CHECK(0, "manifest: cannot read '%s'", line);
        }
        CHECK(f != NULL, "manifest.txt: cannot open");
        if (f)
            fclose(f);
        prep_checks(argv[4]);
        const float zero[3] = {1, 0, 1}, neg[3] = {1, -1, 1};
        const float nan3[3] = {NAN, 0, 0}, inf3[3] = {INFINITY, 1, 1};
        prep_refused(argv[4], (fcn_preprocess){"gray", 0, NULL, NULL},
                     "color 'gray'");
        prep_refused(argv[3], (fcn_preprocess){"rgb", 0, NULL, NULL},
                     "color 'rgb'");
        prep_refused(argv[4], (fcn_preprocess){"RGB", 0, NULL, NULL},
                     "color 'RGB'");
        prep_refused(argv[4], (fcn_preprocess){NULL, NAN, NULL, NULL},
                     "scale");
        prep_refused(argv[4], (fcn_preprocess){NULL, INFINITY, NULL, NULL},
                     "scale");
        prep_refused(argv[4], (fcn_preprocess){NULL, 0, NULL, zero},
                     "std[1]");
        prep_refused(argv[4], (fcn_preprocess){NULL, 0, NULL, neg}, "std[1]");
        prep_refused(argv[4], (fcn_preprocess){NULL, 0, NULL, nan3},
                     "std[0]");
        prep_refused(argv[4], (fcn_preprocess){NULL, 0, inf3, NULL},
                     "mean[0]");
        prep_refused(argv[4], (fcn_preprocess){NULL, 0, nan3, NULL},
                     "mean[0]");
        depth_checks();
        alloc_checks("rgb16.png", 1);
        if (!strcmp(decoder, "vips"))
            alloc_checks("exif6.jpg", 1);
    }
    fcn_model_free(gray_m);
    fcn_model_free(rgb_m);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "test_images: could not remove %s\n", dir);
    return check_done();
}
