/*
** image.c: decoding (stb_image), resizing (stb_image_resize) and
** preprocessing of 8-bit images.
*/
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "io/image.h"
#include "util/err.h"
#include "util/mem.h"

/* stb_image and stb_image_resize compiled here (Debian's headers), static,
** so that every allocation they make goes through util/mem.h: a decoded
** buffer is then an fcn_image's pixels as it is (no copy), freed with
** mem_free, and it is seen by the allocation hook. */
static _Thread_local int stb_oom; /* stb was refused an allocation */
static void *stb_alloc(size_t n)
{
    void *p = mem_alloc(n);
    stb_oom |= !p;
    return p;
}
static void *stb_realloc(void *q, size_t n)
{
    void *p = mem_realloc(q, n);
    stb_oom |= !p;
    return p;
}
#define STBI_MALLOC(sz) stb_alloc(sz)
#define STBI_REALLOC(p, sz) stb_realloc(p, sz)
#define STBI_FREE(p) mem_free(p)
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
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(FCN_ERR_IO, "%s: %s", path, strerror(errno));
    /* The size from the header alone, and every limit checked on it,
    ** before anything is decoded or allocated */
    int w, h, comp;
    stb_oom = 0;  /* stb reports a refused allocation as a bad file */
    if (!stbi_info_from_file(f, &w, &h, &comp)) {
        fclose(f);
        if (stb_oom)
            return err_set(FCN_ERR_NOMEM, "%s: out of memory reading the "
                           "image's header", path);
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
    int dw, dh;
    unsigned char *px = stbi_load_from_file(f, &dw, &dh, &comp, channels);
    fclose(f);
    if (!px && stb_oom)
        return err_set(FCN_ERR_NOMEM, "%s: out of memory decoding a %dx%d "
                       "image", path, w, h);
    if (!px)
        return err_set(FCN_ERR_FORMAT, "%s: cannot decode image (%s)", path,
                       stbi_failure_reason());
    if (dw != w || dh != h) {
        mem_free(px);
        return err_set(FCN_ERR_FORMAT, "%s: decoded %dx%d, but its header "
                       "says %dx%d", path, dw, dh, w, h);
    }
    fcn_image full = {px, w, h, channels};
    if (!resize) {
        *out = full;
        return FCN_OK;
    }
    st = img_resize(filter, &full, rh, rw, max_pixels, out);
    fcn_image_free(&full);
    return st;
}

fcn_status img_resize(img_filter filter, const fcn_image *img, int out_h,
                      int out_w, int64_t max_pixels, fcn_image *out)
{
    memset(out, 0, sizeof *out);
    if (img->w < 1 || img->h < 1 || img->w > IMG_MAX_DIM ||
        img->h > IMG_MAX_DIM || img->c < 1 || img->c > 4)
        return err_set(FCN_ERR_ARG, "cannot resize a %dx%d image of %d "
                       "channels", img->w, img->h, img->c);
    if (out_h < 1 || out_w < 1)
        return err_set(FCN_ERR_ARG, "resize to %dx%d is impossible", out_w,
                       out_h);
    fcn_status st = check_pixels("resize to", NULL, out_w, out_h, max_pixels);
    if (st)
        return st;
    unsigned char *dst = mem_alloc((size_t)out_h * out_w * img->c);
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
                      STBIR_TYPE_UINT8, img->c, STBIR_ALPHA_CHANNEL_NONE, 0,
                      STBIR_EDGE_CLAMP, STBIR_EDGE_CLAMP, fh, fv,
                      STBIR_COLORSPACE_LINEAR, NULL)) {
        mem_free(dst);
        return err_set(FCN_ERR_NOMEM, "cannot resize to %dx%d", out_w, out_h);
    }
    *out = (fcn_image){dst, out_w, out_h, img->c};
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
            const unsigned char *src =
                img->pixels + ((int64_t)(y0 + y) * img->w + x0) * C + sc;
            float *d = dst + c * ps + (int64_t)y * w;
            for (int x = 0; x < w; x++)
                d[x] = src[(int64_t)x * C] * a + b;
        }
    }
}
