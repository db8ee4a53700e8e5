/*
** image.c: decoding (stb_image), resizing (stb_image_resize) and
** preprocessing of 8-bit images.
*/
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <stb_image.h>
#include <stb_image_resize.h>

#include "io/image.h"
#include "util/err.h"
#include "util/mem.h"

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

fcn_status img_decode(const char *path, int channels, img_filter filter,
                      int out_h, int out_w, fcn_image *out)
{
    memset(out, 0, sizeof *out);
    if (out_h < 0 || out_w < 0 || out_h > IMG_MAX_DIM || out_w > IMG_MAX_DIM)
        return err_set(FCN_ERR_ARG, "resize to %dx%d is impossible", out_w,
                       out_h);
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(FCN_ERR_IO, "%s: %s", path, strerror(errno));
    int w, h, comp;
    if (!stbi_info_from_file(f, &w, &h, &comp)) {
        fclose(f);
        return err_set(FCN_ERR_FORMAT, "%s: not a readable image (%s)", path,
                       stbi_failure_reason());
    }
    if (w < 1 || h < 1 || w > IMG_MAX_DIM || h > IMG_MAX_DIM ||
        (int64_t)w * h > IMG_MAX_PIXELS) {
        fclose(f);
        return err_set(FCN_ERR_FORMAT, "%s: image size %dx%d is beyond the "
                       "limit", path, w, h);
    }
    unsigned char *px = stbi_load_from_file(f, &w, &h, &comp, channels);
    fclose(f);
    if (!px)
        return err_set(FCN_ERR_FORMAT, "%s: cannot decode image (%s)", path,
                       stbi_failure_reason());
    /* own the pixels with fcn's allocator: one free function */
    fcn_image full = {mem_alloc((size_t)h * w * channels), w, h, channels};
    if (!full.pixels) {
        stbi_image_free(px);
        return err_set(FCN_ERR_NOMEM, "out of memory for image %s", path);
    }
    memcpy(full.pixels, px, (size_t)h * w * channels);
    stbi_image_free(px);
    if ((out_h <= 0 || out_h == h) && (out_w <= 0 || out_w == w)) {
        *out = full;
        return FCN_OK;
    }
    fcn_status st = img_resize(filter, &full, out_h > 0 ? out_h : h,
                               out_w > 0 ? out_w : w, out);
    fcn_image_free(&full);
    return st;
}

fcn_status img_resize(img_filter filter, const fcn_image *img, int out_h,
                      int out_w, fcn_image *out)
{
    memset(out, 0, sizeof *out);
    if (out_h < 1 || out_w < 1 || out_h > IMG_MAX_DIM || out_w > IMG_MAX_DIM ||
        (int64_t)out_h * out_w > IMG_MAX_PIXELS)
        return err_set(FCN_ERR_ARG, "resize to %dx%d is impossible", out_w,
                       out_h);
    unsigned char *dst = mem_alloc((size_t)out_h * out_w * img->c);
    if (!dst)
        return err_set(FCN_ERR_NOMEM, "out of memory resizing to %dx%d",
                       out_w, out_h);
    /* The model's filter; but Debian's stb_image_resize 0.97 fails an
    ** assertion for some triangle-filter downscaling ratios
    ** (nothings/stb#1449), so an axis that shrinks uses the box filter,
    ** which averages the area as a downscaling filter should. */
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
