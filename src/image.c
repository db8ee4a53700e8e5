/*
** image.c: images (stb_image, stb_image_resize from Debian's libstb) and
** .npy arrays in and out.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stb_image.h>
#include <stb_image_resize.h>

#include "internal.h"

#define MAX_IMAGE_DIM 65536
#define MAX_IMAGE_PIXELS ((int64_t)1 << 31)

void fcn_tensor_free(fcn_tensor *t)
{
    if (!t)
        return;
    fcn_free(t->data);
    t->data = NULL;
}

void fcn_image_free(fcn_image *img)
{
    if (!img)
        return;
    fcn_free(img->pixels);
    img->pixels = NULL;
}

fcn_status fcn_image_decode(const fcn_model *m, const char *path, int out_h,
                            int out_w, fcn_image *out)
{
    if (!m || !path || !out)
        return fcn_error(FCN_ERR_ARG, "fcn_image_decode: NULL argument");
    memset(out, 0, sizeof *out);
    if (out_h < 0 || out_w < 0 || out_h > MAX_IMAGE_DIM ||
        out_w > MAX_IMAGE_DIM)
        return fcn_error(FCN_ERR_ARG, "resize to %dx%d is impossible", out_w,
                         out_h);
    FILE *f = fopen(path, "rb");
    if (!f)
        return fcn_error(FCN_ERR_IO, "%s: %s", path, strerror(errno));
    int w, h, comp;
    if (!stbi_info_from_file(f, &w, &h, &comp)) {
        fclose(f);
        return fcn_error(FCN_ERR_FORMAT, "%s: not a readable image (%s)",
                         path, stbi_failure_reason());
    }
    if (w < 1 || h < 1 || w > MAX_IMAGE_DIM || h > MAX_IMAGE_DIM ||
        (int64_t)w * h > MAX_IMAGE_PIXELS) {
        fclose(f);
        return fcn_error(FCN_ERR_FORMAT, "%s: image size %dx%d is beyond the "
                         "limit", path, w, h);
    }
    const int C = m->in_c;
    unsigned char *px = stbi_load_from_file(f, &w, &h, &comp, C);
    fclose(f);
    if (!px)
        return fcn_error(FCN_ERR_FORMAT, "%s: cannot decode image (%s)", path,
                         stbi_failure_reason());
    /* own the pixels with fcn's allocator: one free function */
    fcn_image full = {fcn_malloc((size_t)h * w * C), w, h, C};
    if (!full.pixels) {
        stbi_image_free(px);
        return fcn_error(FCN_ERR_NOMEM, "out of memory for image %s", path);
    }
    memcpy(full.pixels, px, (size_t)h * w * C);
    stbi_image_free(px);
    if ((out_h <= 0 || out_h == h) && (out_w <= 0 || out_w == w)) {
        *out = full;
        return FCN_OK;
    }
    fcn_status st = fcn_image_resize(m, &full, out_h > 0 ? out_h : h,
                                     out_w > 0 ? out_w : w, out);
    fcn_image_free(&full);
    return st;
}

fcn_status fcn_image_resize(const fcn_model *m, const fcn_image *img,
                            int out_h, int out_w, fcn_image *out)
{
    if (!m || !img || !img->pixels || !out)
        return fcn_error(FCN_ERR_ARG, "fcn_image_resize: NULL argument");
    memset(out, 0, sizeof *out);
    if (out_h < 1 || out_w < 1 || out_h > MAX_IMAGE_DIM ||
        out_w > MAX_IMAGE_DIM || (int64_t)out_h * out_w > MAX_IMAGE_PIXELS)
        return fcn_error(FCN_ERR_ARG, "resize to %dx%d is impossible", out_w,
                         out_h);
    unsigned char *dst = fcn_malloc((size_t)out_h * out_w * img->c);
    if (!dst)
        return fcn_error(FCN_ERR_NOMEM, "out of memory resizing to %dx%d",
                         out_w, out_h);
    /* The model's filter; but Debian's stb_image_resize 0.97 fails an
    ** assertion for some triangle-filter downscaling ratios
    ** (nothings/stb#1449), so an axis that shrinks uses the box filter,
    ** which averages the area as a downscaling filter should. */
    int area = !strcmp(m->resize, "area");
    stbir_filter fh = area || out_w < img->w ? STBIR_FILTER_BOX
                                             : STBIR_FILTER_TRIANGLE;
    stbir_filter fv = area || out_h < img->h ? STBIR_FILTER_BOX
                                             : STBIR_FILTER_TRIANGLE;
    if (!stbir_resize(img->pixels, img->w, img->h, 0, dst, out_w, out_h, 0,
                      STBIR_TYPE_UINT8, img->c, STBIR_ALPHA_CHANNEL_NONE, 0,
                      STBIR_EDGE_CLAMP, STBIR_EDGE_CLAMP, fh, fv,
                      STBIR_COLORSPACE_LINEAR, NULL)) {
        fcn_free(dst);
        return fcn_error(FCN_ERR_NOMEM, "cannot resize to %dx%d", out_w,
                         out_h);
    }
    *out = (fcn_image){dst, out_w, out_h, img->c};
    return FCN_OK;
}

void image_preprocess(const fcn_model *m, const fcn_image *img, int y0,
                      int x0, int h, int w, float *dst, int64_t ps)
{
    const int C = img->c, bgr = !strcmp(m->color, "bgr");
    for (int c = 0; c < C; c++) {
        const int sc = bgr ? C - 1 - c : c;
        const float a = m->scale / m->std[c], b = -m->mean[c] / m->std[c];
        for (int y = 0; y < h; y++) {
            const unsigned char *src =
                img->pixels + ((int64_t)(y0 + y) * img->w + x0) * C + sc;
            float *d = dst + c * ps + (int64_t)y * w;
            for (int x = 0; x < w; x++)
                d[x] = src[(int64_t)x * C] * a + b;
        }
    }
}

fcn_status fcn_image_load(const fcn_model *m, const char *path, int out_h,
                          int out_w, fcn_tensor *out)
{
    if (!out)
        return fcn_error(FCN_ERR_ARG, "fcn_image_load: NULL argument");
    memset(out, 0, sizeof *out);
    fcn_image img;
    fcn_status st = fcn_image_decode(m, path, out_h, out_w, &img);
    if (st)
        return st;
    float *t = fcn_aligned_alloc((size_t)img.h * img.w * img.c * sizeof(float));
    if (!t) {
        fcn_image_free(&img);
        return fcn_error(FCN_ERR_NOMEM, "out of memory for image %s", path);
    }
    image_preprocess(m, &img, 0, 0, img.h, img.w, t, (int64_t)img.h * img.w);
    out->data = t;
    out->c = img.c;
    out->h = img.h;
    out->w = img.w;
    fcn_image_free(&img);
    return FCN_OK;
}

/* ---- .npy ---- */

fcn_status fcn_npy_read(const char *path, fcn_tensor *out)
{
    if (!path || !out)
        return fcn_error(FCN_ERR_ARG, "fcn_npy_read: NULL argument");
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return fcn_error(FCN_ERR_IO, "%s: %s", path, strerror(errno));
    unsigned char pre[10];
    char hdr[4096];
    fcn_status st = FCN_OK;
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0 ||
        (pre[6] != 1)) {
        fclose(f);
        return fcn_error(FCN_ERR_FORMAT, "%s: not a version-1 .npy file",
                         path);
    }
    size_t hl = pre[8] | (size_t)pre[9] << 8;
    if (hl >= sizeof hdr || fread(hdr, 1, hl, f) != hl) {
        fclose(f);
        return fcn_error(FCN_ERR_FORMAT, "%s: .npy header truncated", path);
    }
    hdr[hl] = 0;
    long long d[3];
    const char *sh = strstr(hdr, "'shape':");
    if (!strstr(hdr, "'descr': '<f4'") ||
        !strstr(hdr, "'fortran_order': False") || !sh ||
        sscanf(sh, "'shape': (%lld, %lld, %lld)", &d[0], &d[1], &d[2]) != 3) {
        fclose(f);
        return fcn_error(FCN_ERR_FORMAT, "%s: expected a float32 (<f4) array "
                         "of shape (C, H, W) in C order", path);
    }
    if (d[0] < 1 || d[1] < 1 || d[2] < 1 || d[0] > 4096 ||
        d[1] > MAX_IMAGE_DIM || d[2] > MAX_IMAGE_DIM ||
        d[0] * d[1] * d[2] > MAX_IMAGE_PIXELS * 4) {
        fclose(f);
        return fcn_error(FCN_ERR_FORMAT, "%s: array shape (%lld, %lld, %lld) "
                         "is impossible", path, d[0], d[1], d[2]);
    }
    size_t n = (size_t)(d[0] * d[1] * d[2]);
    float *t = fcn_aligned_alloc(n * sizeof(float));
    if (!t) {
        fclose(f);
        return fcn_error(FCN_ERR_NOMEM, "%s: out of memory", path);
    }
    if (fread(t, sizeof(float), n, f) != n)
        st = fcn_error(FCN_ERR_FORMAT, "%s: array data truncated", path);
    fclose(f);
    if (st) {
        fcn_free(t);
        return st;
    }
    out->data = t;
    out->c = (int)d[0];
    out->h = (int)d[1];
    out->w = (int)d[2];
    return FCN_OK;
}

fcn_status fcn_npy_write(const char *path, const float *data, int ndim,
                         const int *shape)
{
    if (!path || !data || ndim < 1 || ndim > 4 || !shape)
        return fcn_error(FCN_ERR_ARG, "fcn_npy_write: bad argument");
    char dims[128] = "";
    size_t n = 1, len = 0;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return fcn_error(FCN_ERR_ARG, "fcn_npy_write: negative shape");
        len += (size_t)snprintf(dims + len, sizeof dims - len, "%d,%s",
                                shape[i], ndim > 1 && i == ndim - 1 ? "" : "");
        n *= (size_t)shape[i];
    }
    if (ndim > 1)
        dims[len - 1] = 0;  /* (a,b,c) ; a 1-d shape keeps "(a,)" */
    char hdr[256];
    int hl = snprintf(hdr, sizeof hdr,
                      "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }",
                      dims);
    int total = 10 + hl + 1;
    int pad = (64 - total % 64) % 64;
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >=
        (int)sizeof tmp)
        return fcn_error(FCN_ERR_ARG, "%s: path too long", path);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return fcn_error(FCN_ERR_IO, "%s: %s", tmp, strerror(errno));
    unsigned short hlen = (unsigned short)(hl + pad + 1);
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                             (unsigned char)(hlen & 0xff),
                             (unsigned char)(hlen >> 8)};
    int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(hdr, 1, hl, f) == (size_t)hl;
    for (int i = 0; i < pad && ok; i++)
        ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF && fwrite(data, sizeof(float), n, f) == n;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        return fcn_error(FCN_ERR_IO, "%s: cannot write (%s)", path,
                         strerror(e));
    }
    return FCN_OK;
}
