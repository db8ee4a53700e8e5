/*
** image_vips.c: the choice of decoder (FCN_DECODER), and decoding through
** libvips where fcn is built with it (-DFCN_HAVE_VIPS): TIFF and BigTIFF,
** WebP, PNG, JPEG, GIF, PNM, ... with the EXIF orientation applied and
** 16-bit samples kept (docs/images.md).
**
** libvips is opened on first use (dlopen). A file's header is read first
** (libvips opens files lazily), so that the pixel cap is checked before
** any pixel is decoded; the file is opened for sequential access, and its
** rows are then pulled in order, a strip at a time, converted to the
** model's channels and put where the orientation shows them, into fcn's
** own buffer (mem_alloc), which is the image handed back. libvips' own
** memory (a strip, the codec's state) is outside fcn's allocation hook
** (include/fcn.h).
*/
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/image.h"
#include "util/err.h"
#include "util/mem.h"

#ifdef FCN_HAVE_VIPS
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <vips/vips.h>
#pragma GCC diagnostic pop
#endif

/* ---- FCN_DECODER, read once ---- */

static pthread_once_t decoder_once = PTHREAD_ONCE_INIT;
static img_decoder decoder;
static char decoder_bad[64];  /* the value refused, "" if none */

static void decoder_read(void)
{
    const char *e = getenv("FCN_DECODER");
#ifdef FCN_HAVE_VIPS
    const int have_vips = 1;
    decoder = IMG_DEC_VIPS;
#else
    const int have_vips = 0;
    decoder = IMG_DEC_STB;
#endif
    if (!e || !*e)
        return;
    if (!strcmp(e, "stb"))
        decoder = IMG_DEC_STB;
    else if (have_vips && !strcmp(e, "vips"))
        decoder = IMG_DEC_VIPS;
    else
        snprintf(decoder_bad, sizeof decoder_bad, "%s", e);
}

fcn_status img_decoder_get(img_decoder *d)
{
    pthread_once(&decoder_once, decoder_read);
    *d = decoder;
    if (!decoder_bad[0])
        return FCN_OK;
#ifdef FCN_HAVE_VIPS
    return err_set(FCN_ERR_ARG, "FCN_DECODER='%s': expected stb or vips",
                   decoder_bad);
#else
    return err_set(FCN_ERR_ARG, "FCN_DECODER='%s': expected stb (this fcn "
                   "is built without libvips)", decoder_bad);
#endif
}

#ifndef FCN_HAVE_VIPS

fcn_status img_vips_decode(const char *path, int channels, int out_h,
                           int out_w, int64_t max_pixels, fcn_image *out,
                           int *use_stb)
{
    (void)path, (void)channels, (void)out_h, (void)out_w, (void)max_pixels;
    memset(out, 0, sizeof *out);
    *use_stb = 1;
    return FCN_OK;
}

#else

/* ---- libvips, opened on first use ----
** libvips and what it links (GLib, ICU, the codecs) map some 110 MiB and
** take some 40 MiB more when it starts; a program that reads no image
** through it (a .npy input, FCN_DECODER=stb) pays nothing, and under an
** address-space limit that leaves no room the files stb reads exactly as
** libvips does go to stb (below), the others fail with FCN_ERR_NOMEM. */
#define VIPS_ROOM ((size_t)192 << 20)

static struct {
    int (*version)(int);
    int (*init)(const char *);
    void (*block_untrusted_set)(gboolean);
    void (*cache_set_max)(int);
    guint (*log_set_handler)(const gchar *, GLogLevelFlags, GLogFunc,
                             gpointer);
    const char *(*error_buffer)(void);
    void (*error_clear)(void);
    VipsBandFormat (*get_format)(const VipsImage *);
    int (*get_bands)(const VipsImage *);
    VipsInterpretation (*get_interpretation)(const VipsImage *);
    int (*get_orientation)(VipsImage *);
    const char *(*enum_nick)(GType, int);
    GType (*band_format_type)(void);
    GType (*interpretation_type)(void);
    const char *(*find_load)(const char *);
    GType (*type_from_name)(const gchar *);
    gpointer (*class_ref)(GType);
    void (*class_unref)(gpointer);
    VipsImage *(*new_from_file)(const char *, ...);
    VipsRegion *(*region_new)(VipsImage *);
    int (*region_prepare)(VipsRegion *, const VipsRect *);
    void (*unref)(gpointer);
    int (*resize)(VipsImage *, VipsImage **, double, ...);
} V;

static pthread_once_t vips_once = PTHREAD_ONCE_INIT;
static fcn_status vips_st = FCN_ERR_UNSUPPORTED; /* FCN_OK once started */
static char vips_why[256];                        /* why not */

/* libvips' and its loaders' warnings (a bogus TIFF tag, ...), which it
** would print: the library never prints; errors come back as statuses. */
static void vips_quiet(const gchar *domain, GLogLevelFlags level,
                       const gchar *msg, gpointer ud)
{
    (void)domain, (void)level, (void)msg, (void)ud;
}

static void vips_start(void)
{
    if (!mem_address_space_for(VIPS_ROOM)) {
        vips_st = FCN_ERR_NOMEM;
        snprintf(vips_why, sizeof vips_why, "out of memory: libvips needs "
                 "%zu MiB of address space (FCN_DECODER=stb decodes without "
                 "it)", VIPS_ROOM >> 20);
        return;
    }
    void *h = dlopen(FCN_VIPS_PATH, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        h = dlopen("libvips.so.42", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(vips_why, sizeof vips_why, "libvips cannot be loaded (%s)",
                 dlerror());
        return;
    }
    const struct {
        void *to;
        const char *name;
    } sym[] = {
        {&V.version, "vips_version"},
        {&V.init, "vips_init"},
        {&V.block_untrusted_set, "vips_block_untrusted_set"},
        {&V.cache_set_max, "vips_cache_set_max"},
        {&V.log_set_handler, "g_log_set_handler"},
        {&V.error_buffer, "vips_error_buffer"},
        {&V.error_clear, "vips_error_clear"},
        {&V.get_format, "vips_image_get_format"},
        {&V.get_bands, "vips_image_get_bands"},
        {&V.get_interpretation, "vips_image_get_interpretation"},
        {&V.get_orientation, "vips_image_get_orientation"},
        {&V.enum_nick, "vips_enum_nick"},
        {&V.band_format_type, "vips_band_format_get_type"},
        {&V.interpretation_type, "vips_interpretation_get_type"},
        {&V.find_load, "vips_foreign_find_load"},
        {&V.type_from_name, "g_type_from_name"},
        {&V.class_ref, "g_type_class_ref"},
        {&V.class_unref, "g_type_class_unref"},
        {&V.new_from_file, "vips_image_new_from_file"},
        {&V.region_new, "vips_region_new"},
        {&V.region_prepare, "vips_region_prepare"},
        {&V.unref, "g_object_unref"},
        {&V.resize, "vips_resize"},
    };
    for (size_t i = 0; i < sizeof sym / sizeof *sym; i++) {
        void *f = dlsym(h, sym[i].name);
        if (!f) {
            snprintf(vips_why, sizeof vips_why, "libvips lacks %s",
                     sym[i].name);
            return;  /* h stays open: a half-bound libvips is never used */
        }
        memcpy(sym[i].to, &f, sizeof f);
    }
    /* VIPS_INIT's check, then the start (counted: harmless where the
    ** program uses libvips itself) */
    if (V.version(3) - V.version(5) != VIPS_LIBRARY_CURRENT -
                                           VIPS_LIBRARY_AGE) {
        snprintf(vips_why, sizeof vips_why, "libvips %d.%d has another ABI",
                 V.version(0), V.version(1));
        return;
    }
    if (V.init("fcn")) {
        snprintf(vips_why, sizeof vips_why, "libvips did not start (%.200s)",
                 V.error_buffer());
        V.error_clear();
        return;
    }
    /* the loaders libvips marks untrusted (ImageMagick, ...) are not
    ** offered the files fcn reads */
    V.block_untrusted_set(TRUE);
    V.log_set_handler("VIPS", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE |
                      G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG, vips_quiet, NULL);
    /* no operation cache: a file is read anew each time (it may have
    ** changed), and nothing decoded outlives the call that read it */
    V.cache_set_max(0);
    vips_st = FCN_OK;
}

/* The first line of libvips' error buffer, which is then cleared; st with
** "path: what: LINE". The buffer is process-wide in libvips: with several
** threads decoding at once, a message may be another's. */
static fcn_status vips_fail(fcn_status st, const char *path, const char *what)
{
    char line[256];
    const char *b = V.error_buffer();
    size_t n = strcspn(b, "\n");
    while (n > 0 && (b[n - 1] == ' ' || b[n - 1] == '\r'))
        n--;
    snprintf(line, sizeof line, "%.*s", (int)n, b);
    V.error_clear();
    return err_set(st, "%s: %s%s%s", path, what, line[0] ? ": " : "",
                   line);
}

/* Bands, depth and layout of im as fcn takes them; else why not. */
static fcn_status vips_layout(VipsImage *im, const char *path,
                              img_bands *b, int *depth)
{
    const VipsBandFormat fmt = V.get_format(im);
    const int nb = V.get_bands(im);
    const VipsInterpretation in = V.get_interpretation(im);
    const int cmyk = in == VIPS_INTERPRETATION_CMYK;
    if (fmt == VIPS_FORMAT_UCHAR)
        *depth = 8;
    else if (fmt == VIPS_FORMAT_USHORT)
        *depth = 16;
    else
        return err_set(FCN_ERR_UNSUPPORTED, "%s: %s samples are not "
                       "supported (8 or 16-bit unsigned integers only)",
                       path, V.enum_nick(V.band_format_type(), fmt));
    if (cmyk && (nb == 4 || nb == 5))
        *b = nb == 4 ? IMG_BANDS_CMYK : IMG_BANDS_CMYKA;
    else if (!cmyk && in != VIPS_INTERPRETATION_LAB &&
             in != VIPS_INTERPRETATION_LABQ &&
             in != VIPS_INTERPRETATION_LABS && nb >= 1 && nb <= 4)
        *b = (img_bands)(nb - 1);
    else
        return err_set(FCN_ERR_UNSUPPORTED, "%s: %d bands (%s) are not "
                       "supported (gray, RGB or CMYK, with or without "
                       "alpha)", path, nb,
                       V.enum_nick(V.interpretation_type(), in));
    return FCN_OK;
}

/* Where pixel (x, y) of a w x h file shows in the image its EXIF
** orientation o gives (*dx, *dy; the rotated size for o >= 5 is h x w). */
static void oriented_xy(int o, int x, int y, int w, int h, int *dx, int *dy)
{
    *dx = x, *dy = y;
    switch (o) {
    case 2: *dx = w - 1 - x; break;
    case 3: *dx = w - 1 - x; *dy = h - 1 - y; break;
    case 4: *dy = h - 1 - y; break;
    case 5: *dx = y; *dy = x; break;
    case 6: *dx = h - 1 - y; *dy = x; break;
    case 7: *dx = h - 1 - y; *dy = w - 1 - x; break;
    case 8: *dx = y; *dy = w - 1 - x; break;
    default: break;
    }
}

/* The orientation that undoes o (6 and 8 undo each other; the others
** undo themselves). */
static int orientation_inverse(int o) { return o == 6 ? 8 : o == 8 ? 6 : o; }

/* The rectangle r of a file of fw x fh pixels, converted, put where
** orientation o shows it in px: the shown window whose top-left is (wx,
** wy), ww pixels wide (channels samples of depth bits a pixel). The rows
** are read in order, a strip at a time. */
static fcn_status vips_pull(VipsImage *im, const char *path, img_bands b,
                            int depth, int channels, int o, VipsRect r,
                            int wx, int wy, int ww, unsigned char *px)
{
    const int fw = im->Xsize, fh = im->Ysize, strip = 64;
    const size_t pel = (size_t)channels * (depth / 8),
                 row = (size_t)r.width * pel;
    unsigned char *tmp = NULL;
    if (o > 1 && !(tmp = mem_alloc(row)))
        return err_set(FCN_ERR_NOMEM, "%s: out of memory for a row", path);
    VipsRegion *reg = V.region_new(im);
    fcn_status st = FCN_OK;
    if (!reg)
        st = vips_fail(FCN_ERR_NOMEM, path, "cannot read the pixels");
    for (int y = 0; y < r.height && !st; y += strip) {
        VipsRect s = {r.left, r.top + y, r.width,
                      r.height - y < strip ? r.height - y : strip};
        if (V.region_prepare(reg, &s)) {
            st = vips_fail(FCN_ERR_FORMAT, path, "cannot decode image");
            break;
        }
        for (int i = 0; i < s.height; i++) {
            const int sy = s.top + i;
            unsigned char *d = tmp ? tmp : px + (size_t)(y + i) * row;
            /* VIPS_REGION_ADDR, without its call into libvips */
            img_px_convert(reg->data + (size_t)(sy - reg->valid.top) *
                               VIPS_REGION_LSKIP(reg) +
                               (size_t)(s.left - reg->valid.left) *
                                   img_bands_count(b) * (depth / 8),
                           b, depth, (size_t)r.width, channels, d);
            for (int x = 0; tmp && x < r.width; x++) {
                int dx, dy;
                oriented_xy(o, r.left + x, sy, fw, fh, &dx, &dy);
                memcpy(px + ((size_t)(dy - wy) * ww + (dx - wx)) * pel,
                       tmp + x * pel, pel);
            }
        }
    }
    if (reg)
        V.unref(reg);
    mem_free(tmp);
    return st;
}

/* The canvas of a WebP file from its first 30 bytes (RIFF, then a VP8X,
** VP8L or VP8 chunk: the WebP container spec): libvips allocates the
** whole canvas when it reads a WebP header, so the cap is checked on this
** before. 0 if b (n bytes) is not a WebP's start. */
static int webp_canvas(const unsigned char *b, size_t n, int *w, int *h)
{
    if (n < 30 || memcmp(b, "RIFF", 4) ||
        memcmp(b + 8, "WEBP", 4))
        return 0;
    const unsigned char *d = b + 20;  /* the first chunk's data */
    if (!memcmp(b + 12, "VP8X", 4)) {
        *w = 1 + (d[4] | d[5] << 8 | d[6] << 16);
        *h = 1 + (d[7] | d[8] << 8 | d[9] << 16);
    } else if (!memcmp(b + 12, "VP8L", 4) && d[0] == 0x2f) {
        const uint32_t v = d[1] | d[2] << 8 | d[3] << 16 | (uint32_t)d[4] << 24;
        *w = 1 + (int)(v & 0x3fff);
        *h = 1 + (int)(v >> 14 & 0x3fff);
    } else if (!memcmp(b + 12, "VP8 ", 4) && d[3] == 0x9d && d[4] == 0x01 &&
               d[5] == 0x2a) {
        *w = (d[6] | d[7] << 8) & 0x3fff;
        *h = (d[8] | d[9] << 8) & 0x3fff;
    } else
        return 0;
    return 1;
}

/* Whether libvips has a loader it trusts for path (none for BMP, TGA, ...:
** those it has only through ImageMagick, which fcn blocks). */
static int vips_trusted_loader(const char *path)
{
    const char *name = V.find_load(path);
    V.error_clear();
    const GType t = name ? V.type_from_name(name) : 0;
    if (!t)
        return 0;
    VipsOperationClass *c = V.class_ref(t);
    const int ok = c && !(c->flags & (VIPS_OPERATION_BLOCKED |
                                      VIPS_OPERATION_UNTRUSTED));
    if (c)
        V.class_unref(c);
    return ok;
}

/* The channels asked checked, and the first bytes of path (up to 30, *n
** of them): the same message as stb's path for a file that cannot be
** opened. */
static fcn_status vips_file_head(const char *path, int channels,
                                 unsigned char *head, size_t *n)
{
    if (channels != 1 && channels != 3)
        return err_set(FCN_ERR_UNSUPPORTED, "%s: %d channels asked of an "
                       "image (libvips: 1 or 3)", path, channels);
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(FCN_ERR_IO, "%s: %s", path, strerror(errno));
    *n = fread(head, 1, 30, f);
    fclose(f);
    return FCN_OK;
}

/* PNG, PNM and BMP: what stb reads exactly as libvips does
** (tests/test_images.c), by their first bytes. */
static int stb_same(const unsigned char *b, size_t n)
{
    return (n >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8)) ||
           (n >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6') ||
           (n >= 2 && b[0] == 'B' && b[1] == 'M');
}

fcn_status img_vips_decode(const char *path, int channels, int out_h,
                           int out_w, int64_t max_pixels, fcn_image *out,
                           int *use_stb)
{
    memset(out, 0, sizeof *out);
    *use_stb = 0;
    unsigned char head[30];
    size_t nh = 0;
    fcn_status st = vips_file_head(path, channels, head, &nh);
    if (st)
        return st;
    int ww, wh;
    if (webp_canvas(head, nh, &ww, &wh) &&
        (st = img_check_pixels("image", path, ww, wh, max_pixels)))
        return st;
    pthread_once(&vips_once, vips_start);
    if (vips_st) {
        if (stb_same(head, nh)) {
            *use_stb = 1;
            return FCN_OK;
        }
        return err_set(vips_st, "%s: %s", path, vips_why);
    }
    if (!vips_trusted_loader(path)) {
        *use_stb = 1;
        return FCN_OK;
    }
    /* the header alone (libvips opens lazily), the pixels to be read in
    ** order, once */
    VipsImage *im = V.new_from_file(path, "access", VIPS_ACCESS_SEQUENTIAL,
                                    "fail_on", VIPS_FAIL_ON_ERROR, NULL);
    if (!im)
        return vips_fail(FCN_ERR_FORMAT, path, "not a readable image");
    int o = V.get_orientation(im);
    o = o >= 1 && o <= 8 ? o : 1;
    const int w = o >= 5 ? im->Ysize : im->Xsize;
    const int h = o >= 5 ? im->Xsize : im->Ysize;
    const int rh = out_h > 0 ? out_h : h, rw = out_w > 0 ? out_w : w;
    img_bands b = IMG_BANDS_GRAY;
    int depth = 8;
    st = FCN_OK;
    if (w < 1 || h < 1)
        st = err_set(FCN_ERR_FORMAT, "%s: image size %dx%d", path, w, h);
    else if (!(st = img_check_pixels("image", path, w, h, max_pixels)) &&
             (rh != h || rw != w))
        st = img_check_pixels("resize to", path, rw, rh, max_pixels);
    if (!st)
        st = vips_layout(im, path, &b, &depth);
    unsigned char *px = NULL;
    if (!st && !(px = mem_alloc((size_t)w * h * channels * (depth / 8))))
        st = err_set(FCN_ERR_NOMEM, "%s: out of memory decoding a %dx%d "
                     "image", path, w, h);
    if (!st)
        st = vips_pull(im, path, b, depth, channels, o,
                       (VipsRect){0, 0, im->Xsize, im->Ysize}, 0, 0, w, px);
    V.unref(im);
    if (st) {
        mem_free(px);
        return st;
    }
    *out = (fcn_image){px, w, h, channels, depth};
    return FCN_OK;
}

#endif

/* ---- windows of a file (fcn_source, include/fcn_stream.h) ---- */

#ifdef FCN_HAVE_VIPS

struct img_vsrc {
    VipsImage *im;
    img_bands b;
    int depth, channels, o;  /* o: the EXIF orientation */
    int h, w;                /* as shown (after the orientation) */
    char path[];
};

/* The loaders that read a window without the rest of the file, and which
** of them has levels (the option naming them), by libvips' loader name. */
static int vips_windowed(const char *name, const char **level_opt)
{
    *level_opt = NULL;
    if (!name)
        return 0;
    if (strstr(name, "LoadTiff"))
        *level_opt = "page";
    else if (strstr(name, "LoadOpenslide"))
        *level_opt = "level";
    return *level_opt || strstr(name, "LoadVips") != NULL;
}

fcn_status img_vips_open(const char *path, int channels, int level,
                         img_vsrc **out, int *h, int *w)
{
    *out = NULL;
    unsigned char head[30];
    size_t nh = 0;
    fcn_status st = vips_file_head(path, channels, head, &nh);
    if (st)
        return st;
    pthread_once(&vips_once, vips_start);
    if (vips_st || !vips_trusted_loader(path))
        return FCN_OK;  /* the whole-image decode says what it can */
    const char *lopt, *name = V.find_load(path);
    V.error_clear();
    if (!vips_windowed(name, &lopt))
        return FCN_OK;
    if (level > 0 && !lopt)
        return err_set(FCN_ERR_ARG, "%s: level %d asked of a file without "
                       "levels", path, level);
    VipsImage *im = level > 0
        ? V.new_from_file(path, "access", VIPS_ACCESS_RANDOM, "fail_on",
                          VIPS_FAIL_ON_ERROR, lopt, level, NULL)
        : V.new_from_file(path, "access", VIPS_ACCESS_RANDOM, "fail_on",
                          VIPS_FAIL_ON_ERROR, NULL);
    if (!im)
        return vips_fail(level > 0 ? FCN_ERR_ARG : FCN_ERR_FORMAT, path,
                         level > 0 ? "no such level" : "not a readable image");
    img_vsrc *s = mem_alloc(sizeof *s + strlen(path) + 1);
    if (!s) {
        V.unref(im);
        return err_set(FCN_ERR_NOMEM, "%s: out of memory", path);
    }
    strcpy(s->path, path);
    s->im = im;
    s->channels = channels;
    s->o = V.get_orientation(im);
    s->o = s->o >= 1 && s->o <= 8 ? s->o : 1;
    s->w = s->o >= 5 ? im->Ysize : im->Xsize;
    s->h = s->o >= 5 ? im->Xsize : im->Ysize;
    st = s->w < 1 || s->h < 1
        ? err_set(FCN_ERR_FORMAT, "%s: image size %dx%d", path, s->w, s->h)
        : vips_layout(im, path, &s->b, &s->depth);
    if (st) {
        img_vips_close(s);
        return st;
    }
    *out = s;
    *h = s->h;
    *w = s->w;
    return FCN_OK;
}

fcn_status img_vips_read(img_vsrc *s, int y0, int x0, int h, int w,
                         int64_t max_pixels, fcn_image *out)
{
    memset(out, 0, sizeof *out);
    if (h < 1 || w < 1 || y0 < 0 || x0 < 0 || y0 > s->h - h ||
        x0 > s->w - w)
        return err_set(FCN_ERR_ARG, "%s: window %dx%d at %d,%d is outside "
                       "the %dx%d image", s->path, w, h, x0, y0, s->w, s->h);
    fcn_status st = img_check_pixels("window", s->path, w, h, max_pixels);
    if (st)
        return st;
    /* the file's rectangle: the shown corners taken back through the
    ** orientation (flips and transposes keep rectangles) */
    const int inv = orientation_inverse(s->o);
    int ax, ay, bx, by;
    oriented_xy(inv, x0, y0, s->w, s->h, &ax, &ay);
    oriented_xy(inv, x0 + w - 1, y0 + h - 1, s->w, s->h, &bx, &by);
    const VipsRect r = {ax < bx ? ax : bx, ay < by ? ay : by,
                        (ax < bx ? bx - ax : ax - bx) + 1,
                        (ay < by ? by - ay : ay - by) + 1};
    unsigned char *px = mem_alloc((size_t)w * h * s->channels *
                                  (s->depth / 8));
    if (!px)
        return err_set(FCN_ERR_NOMEM, "%s: out of memory for a %dx%d "
                       "window", s->path, w, h);
    st = vips_pull(s->im, s->path, s->b, s->depth, s->channels, s->o, r, x0,
                   y0, w, px);
    if (st) {
        mem_free(px);
        return st;
    }
    *out = (fcn_image){px, w, h, s->channels, s->depth};
    return FCN_OK;
}

void img_vips_close(img_vsrc *s)
{
    if (!s)
        return;
    V.unref(s->im);
    mem_free(s);
}

fcn_status img_vips_resize(img_vsrc *s, int h, int w)
{
    if (h < 1 || w < 1)
        return err_set(FCN_ERR_ARG, "%s: resize to %dx%d is impossible",
                       s->path, w, h);
    if (h == s->h && w == s->w)
        return FCN_OK;
    /* the file's axes: the shown ones taken back through the orientation */
    const int fw = s->o >= 5 ? h : w, fh = s->o >= 5 ? w : h;
    VipsImage *out = NULL;
    if (V.resize(s->im, &out, (double)fw / s->im->Xsize, "vscale",
                 (double)fh / s->im->Ysize, "kernel", VIPS_KERNEL_LINEAR,
                 NULL) || !out)
        return vips_fail(FCN_ERR_NOMEM, s->path, "cannot resize");
    if (out->Xsize != fw || out->Ysize != fh) {
        V.unref(out);
        return err_set(FCN_ERR_SHAPE, "%s: libvips resized to %dx%d, not "
                       "%dx%d", s->path, out->Xsize, out->Ysize, fw, fh);
    }
    V.unref(s->im);
    s->im = out;
    s->h = h;
    s->w = w;
    return FCN_OK;
}

#else

fcn_status img_vips_open(const char *path, int channels, int level,
                         img_vsrc **out, int *h, int *w)
{
    (void)path, (void)channels, (void)level, (void)h, (void)w;
    *out = NULL;
    return FCN_OK;
}

fcn_status img_vips_read(img_vsrc *s, int y0, int x0, int h, int w,
                         int64_t max_pixels, fcn_image *out)
{
    (void)s, (void)y0, (void)x0, (void)h, (void)w, (void)max_pixels;
    memset(out, 0, sizeof *out);
    return err_set(FCN_ERR_UNSUPPORTED, "built without libvips");
}

void img_vips_close(img_vsrc *s) { (void)s; }

fcn_status img_vips_resize(img_vsrc *s, int h, int w)
{
    (void)s, (void)h, (void)w;
    return err_set(FCN_ERR_UNSUPPORTED, "built without libvips");
}

#endif
