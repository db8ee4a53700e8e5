/*
** image.c: decoding (stb_image), resizing (stb_image_resize) and
** preprocessing of 8-bit images.
*/
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "io/image.h"
#include "io/image_guard.h"
#include "util/err.h"
#include "util/mem.h"

/* stb_image and stb_image_resize compiled here (Debian's headers), static,
** so that every allocation they make goes through util/mem.h: a decoded
** buffer is then an fcn_image's pixels as it is (no copy), freed with
** mem_free, and it is seen by the allocation hook. */
static _Thread_local int stb_oom; /* stb was refused an allocation */
/* What stb holds at once is also capped, per header read and per decode
** (stb_limit): stb 2.27 allocates what a file claims before reading it (a
** PNG IDAT chunk of 2 GiB in a 55-byte file). A realloc counts both blocks
** (the copy). */
static _Thread_local size_t stb_live, stb_cap = SIZE_MAX;
static _Thread_local int stb_capped; /* refused for the cap */
static void *stb_alloc(size_t n)
{
    const int over = n > stb_cap - stb_live;
    void *p = over ? NULL : mem_alloc(n);
    stb_capped |= over;
    stb_oom |= !p;
    stb_live += p ? n : 0;
    return p;
}
static void *stb_realloc(void *q, size_t n)
{
    const size_t old = q ? mem_size(q) : 0;
    const int over = n > stb_cap - stb_live;
    void *p = over ? NULL : mem_realloc(q, n);
    stb_capped |= over;
    stb_oom |= !p;
    if (p)
        stb_live = stb_live - old + n;
    return p;
}
static void stb_free(void *p)
{
    if (p) {
        const size_t n = mem_size(p);
        stb_live -= n < stb_live ? n : stb_live;
        mem_free(p);
    }
}
#define STBI_MALLOC(sz) stb_alloc(sz)
#define STBI_REALLOC(p, sz) stb_realloc(p, sz)
#define STBI_FREE(p) stb_free(p)
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBIR_MALLOC(sz, ctx) ((void)(ctx), mem_alloc(sz))
#define STBIR_FREE(p, ctx) ((void)(ctx), mem_free(p))
#define STB_IMAGE_RESIZE_STATIC
#define STB_IMAGE_RESIZE_IMPLEMENTATION
/* for the whole file: stb 2.27 declares *_thread functions it never
** defines, which GCC reports at the end of the file */
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wtype-limits"
#include <stb_image.h>
#include <stb_image_resize.h>
#pragma GCC diagnostic pop

static const char *const color_names[] = {"rgb", "bgr", "gray"};
static const char *const filter_names[] = {"bilinear", "area"};

const char *img_color_name(img_color c) { return color_names[c]; }
const char *img_filter_name(img_filter f) { return filter_names[f]; }

int img_color_parse(const char *s, img_color *c)
{
    for (int i = 0; i < 3; i++)
        if (!strcmp(s, color_names[i])) {
            *c = (img_color)i;
            return 1;
        }
    return 0;
}

int img_filter_parse(const char *s, img_filter *f)
{
    for (int i = 0; i < 2; i++)
        if (!strcmp(s, filter_names[i])) {
            *f = (img_filter)i;
            return 1;
        }
    return 0;
}

void fcn_image_free(fcn_image *img)
{
    if (!img)
        return;
    mem_free(img->pixels);
    img->pixels = NULL;
}

/* A w x h image (or resize target) within the pixel cap; FCN_ERR_NOMEM
** with a message naming the cap otherwise. what: "path: image" or
** "resize to". */
static fcn_status check_pixels(const char *what, const char *path, int w,
                               int h, int64_t max_pixels)
{
    const int64_t n = (int64_t)w * h;
    if (w > IMG_MAX_DIM || h > IMG_MAX_DIM)
        return err_set(FCN_ERR_NOMEM, "%s%s%s %dx%d is larger than %d pixels "
                       "a side", path ? path : "", path ? ": " : "", what, w,
                       h, IMG_MAX_DIM);
    if (n > max_pixels)
        return err_set(FCN_ERR_NOMEM, "%s%s%s %dx%d (%lld pixels) exceeds the "
                       "limit of %lld pixels (raise it with --max-pixels or "
                       "fcn_options.max_pixels)", path ? path : "",
                       path ? ": " : "", what, w, h, (long long)n,
                       (long long)max_pixels);
    return FCN_OK;
}

/* stb's cap from now on (stb_alloc): 2 x the size of f + 1 MiB to read a
** header (w == 0), and 32 bytes a pixel of (w + 64) x (h + 64) more to
** decode. The most the library held decoding a large image was 32 bytes
** a pixel, its compressed data included (a 16-bit RGBA Adam7 PNG of
** noise; tests/test_inputs_stb.c prints these figures). */
static size_t stb_limit(FILE *f, int w, int h)
{
    struct stat sb;
    uint64_t n = fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) &&
                 sb.st_size < ((int64_t)1 << 50) ? (uint64_t)sb.st_size : 0;
    n = 2 * n + ((uint64_t)1 << 20);
    if (w > 0)
        n += (uint64_t)32 * ((uint64_t)w + 64) * ((uint64_t)h + 64);
    stb_live = 0;
    stb_capped = 0;
    stb_cap = n < SIZE_MAX ? (size_t)n : SIZE_MAX;
    return stb_cap;
}

/* stb failed for want of memory (stb_oom): FCN_ERR_NOMEM, saying whether
** the cap refused it (what: "reading the image's header" or "decoding a
** WxH image"). */
static fcn_status stb_nomem(const char *path, const char *what, size_t cap)
{
    if (stb_capped)
        return err_set(FCN_ERR_NOMEM, "%s: %s would take more than %zu KiB "
                       "(a corrupt file?)", path, what, cap >> 10);
    return err_set(FCN_ERR_NOMEM, "%s: out of memory %s", path, what);
}

fcn_status img_check_pixels(const char *what, const char *path, int w,
                            int h, int64_t max_pixels)
{
    return check_pixels(what, path, w, h, max_pixels);
}

/* A decoded image, resized to rh x rw where that is another size. */
static fcn_status decoded(fcn_image full, img_filter filter, int rh, int rw,
                          int64_t max_pixels, fcn_image *out)
{
    if (rh == full.h && rw == full.w) {
        *out = full;
        return FCN_OK;
    }
    fcn_status st = img_resize(filter, &full, rh, rw, max_pixels, out);
    fcn_image_free(&full);
    return st;
}

fcn_status img_decode(const char *path, int channels, img_filter filter,
                      int out_h, int out_w, int64_t max_pixels,
                      fcn_image *out)
{
    memset(out, 0, sizeof *out);
    if (out_h < 0 || out_w < 0 || out_h > IMG_MAX_DIM || out_w > IMG_MAX_DIM)
        return err_set(FCN_ERR_ARG, "resize to %dx%d is impossible", out_w,
                       out_h);
    if (channels < 1 || channels > 4)
        return err_set(FCN_ERR_ARG, "%s: %d channels asked of an image", path,
                       channels);
    /* libvips where chosen and it has a loader for the file (image_vips.c) */
    img_decoder dec;
    fcn_status dst = img_decoder_get(&dec);
    fcn_image vim;
    int use_stb = 1;
    if (!dst && dec == IMG_DEC_VIPS &&
        !(dst = img_vips_decode(path, channels, out_h, out_w, max_pixels,
                                &vim, &use_stb)) && !use_stb)
        return decoded(vim, filter, out_h > 0 ? out_h : vim.h,
                       out_w > 0 ? out_w : vim.w, max_pixels, out);
    if (dst)
        return dst;
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(FCN_ERR_IO, "%s: %s", path, strerror(errno));
    /* The size from the header alone, and every limit checked on it,
    ** before anything is decoded or allocated */
    int w, h, comp;
    img_pnm pnm; /* stb 2.27's unsafe inputs checked first; PNM is fcn's */
    fcn_status gst = img_guard(f, path, &pnm);
    stb_oom = 0;  /* stb reports a refused allocation as a bad file */
    const size_t cap = stb_limit(f, 0, 0);
    if (gst) {
        fclose(f);
        return gst;
    } else if (pnm.c) {
        w = pnm.w, h = pnm.h, comp = pnm.c;
    } else if (!stbi_info_from_file(f, &w, &h, &comp)) {
        fclose(f);
        if (stb_oom)
            return stb_nomem(path, "reading the image's header", cap);
        return err_set(FCN_ERR_FORMAT, "%s: not a readable image (%s)", path,
                       stbi_failure_reason());
    }
    const int rh = out_h > 0 ? out_h : h, rw = out_w > 0 ? out_w : w;
    const int resize = rh != h || rw != w;
    fcn_status st = FCN_OK;
    if (w < 1 || h < 1)
        st = err_set(FCN_ERR_FORMAT, "%s: image size %dx%d", path, w, h);
    else if (!(st = check_pixels("image", path, w, h, max_pixels)) && resize)
        st = check_pixels("resize to", path, rw, rh, max_pixels);
    if (st) {
        fclose(f);
        return st;
    }
    /* stb's buffer (mem_alloc'd) becomes the image's pixels */
    if (pnm.c) {
        unsigned char *pp;
        st = img_pnm_decode(f, path, &pnm, channels, &pp);
        fclose(f);
        return st ? st : decoded((fcn_image){pp, w, h, channels,
                                             pnm.maxval > 255 ? 16 : 8},
                                 filter, rh, rw, max_pixels, out);
    }
    char what[64];
    snprintf(what, sizeof what, "decoding a %dx%d image", w, h);
    const size_t dcap = stb_limit(f, w, h);
    /* 16-bit PNG at full depth; RGB to gray as PIL's convert('L')
    ** (image_px.c) rather than with stb's weights, as libvips' path does */
    int dw, dh;
    const int depth = stbi_is_16_bit_from_file(f) ? 16 : 8;
    const int pil_gray = channels == 1 && comp >= 3;
    const int req = pil_gray ? 3 : channels;
    unsigned char *px =
        depth == 16 ? (unsigned char *)stbi_load_from_file_16(f, &dw, &dh,
                                                              &comp, req)
                    : stbi_load_from_file(f, &dw, &dh, &comp, req);
    fclose(f);
    if (!px && stb_oom)
        return stb_nomem(path, what, dcap);
    if (!px)
        return err_set(FCN_ERR_FORMAT, "%s: cannot decode image (%s)", path,
                       stbi_failure_reason());
    if (dw != w || dh != h) {
        mem_free(px);
        return err_set(FCN_ERR_FORMAT, "%s: decoded %dx%d, but its header "
                       "says %dx%d", path, dw, dh, w, h);
    }
    if (pil_gray)  /* in place: the buffer keeps its RGB size */
        img_px_convert(px, IMG_BANDS_RGB, depth, (size_t)w * h, 1, px);
    return decoded((fcn_image){px, w, h, channels, depth}, filter, rh, rw,
                   max_pixels, out);
}

fcn_status img_resize(img_filter filter, const fcn_image *img, int out_h,
                      int out_w, int64_t max_pixels, fcn_image *out)
{
    memset(out, 0, sizeof *out);
    if (img->w < 1 || img->h < 1 || img->w > IMG_MAX_DIM ||
        img->h > IMG_MAX_DIM || img->c < 1 || img->c > 4 ||
        !img_depth_ok(img))
        return err_set(FCN_ERR_ARG, "cannot resize a %dx%d image of %d "
                       "channels, depth %d", img->w, img->h, img->c,
                       img->depth);
    if (out_h < 1 || out_w < 1)
        return err_set(FCN_ERR_ARG, "resize to %dx%d is impossible", out_w,
                       out_h);
    fcn_status st = check_pixels("resize to", NULL, out_w, out_h, max_pixels);
    if (st)
        return st;
    const int wide = img->depth == 16;  /* stb_image_resize's uint16 path */
    unsigned char *dst = mem_alloc((size_t)out_h * out_w * img->c *
                                   (wide ? 2 : 1));
    if (!dst)
        return err_set(FCN_ERR_NOMEM, "out of memory resizing to %dx%d",
                       out_w, out_h);
    /* The model's filter; but stb_image_resize 0.97 fails an assertion for
    ** some triangle-filter downscaling ratios (nothings/stb#1449), so an
    ** axis that shrinks uses the box filter, which averages the area as a
    ** downscaling filter should. */
    const int area = filter == IMG_AREA;
    stbir_filter fh = area || out_w < img->w ? STBIR_FILTER_BOX
                                             : STBIR_FILTER_TRIANGLE;
    stbir_filter fv = area || out_h < img->h ? STBIR_FILTER_BOX
                                             : STBIR_FILTER_TRIANGLE;
    if (!stbir_resize(img->pixels, img->w, img->h, 0, dst, out_w, out_h, 0,
                      wide ? STBIR_TYPE_UINT16 : STBIR_TYPE_UINT8, img->c,
                      STBIR_ALPHA_CHANNEL_NONE, 0,
                      STBIR_EDGE_CLAMP, STBIR_EDGE_CLAMP, fh, fv,
                      STBIR_COLORSPACE_LINEAR, NULL)) {
        mem_free(dst);
        return err_set(FCN_ERR_NOMEM, "cannot resize to %dx%d", out_w, out_h);
    }
    *out = (fcn_image){dst, out_w, out_h, img->c, img->depth};
    return FCN_OK;
}

void img_preprocess(const img_prep *p, const fcn_image *img, int y0, int x0,
                    int h, int w, float *dst, int64_t ps)
{
    const int C = img->c, bgr = p->color == IMG_BGR;
    for (int c = 0; c < C; c++) {
        const int sc = bgr ? C - 1 - c : c;
        const float a = p->scale / p->std[c], b = -p->mean[c] / p->std[c];
        for (int y = 0; y < h; y++) {
            const int64_t at = ((int64_t)(y0 + y) * img->w + x0) * C + sc;
            float *d = dst + c * ps + (int64_t)y * w;
            if (img->depth == 16) {
                /* v / 257 on the 8-bit scale: v * 257 gives the 8-bit
                ** value's float exactly */
                const uint16_t *src = (const uint16_t *)img->pixels + at;
                for (int x = 0; x < w; x++)
                    d[x] = src[(int64_t)x * C] / 257.0f * a + b;
            } else {
                const unsigned char *src = img->pixels + at;
                for (int x = 0; x < w; x++)
                    d[x] = src[(int64_t)x * C] * a + b;
            }
        }
    }
}
