/*
** images.c: the public image entry points, which apply a model's channel
** count, resize filter and preprocessing through src/io/image.c.
*/
#include <string.h>

#include "core/model.h"
#include "util/err.h"

fcn_status fcn_image_decode(const fcn_model *m, const char *path, int out_h,
                            int out_w, fcn_image *out)
{
    if (!m || !path || !out)
        return err_set(FCN_ERR_ARG, "fcn_image_decode: NULL argument");
    return img_decode(path, m->in_c, m->resize, out_h, out_w, m->max_pixels,
                      out);
}

fcn_status fcn_image_resize(const fcn_model *m, const fcn_image *img,
                            int out_h, int out_w, fcn_image *out)
{
    if (!m || !img || !img->pixels || !out)
        return err_set(FCN_ERR_ARG, "fcn_image_resize: NULL argument");
    return img_resize(m->resize, img, out_h, out_w, m->max_pixels, out);
}

fcn_status fcn_image_load(const fcn_model *m, const char *path, int out_h,
                          int out_w, fcn_tensor *out)
{
    if (!out)
        return err_set(FCN_ERR_ARG, "fcn_image_load: NULL argument");
    memset(out, 0, sizeof *out);
    fcn_image img;
    fcn_status st = fcn_image_decode(m, path, out_h, out_w, &img);
    if (st)
        return st;
    float *t = mem_aligned((size_t)img.h * img.w * img.c * sizeof(float));
    if (!t) {
        fcn_image_free(&img);
        return err_set(FCN_ERR_NOMEM, "out of memory for image %s", path);
    }
    img_preprocess(&m->prep, &img, 0, 0, img.h, img.w, t,
                   (int64_t)img.h * img.w);
    *out = (fcn_tensor){t, img.c, img.h, img.w};
    fcn_image_free(&img);
    return FCN_OK;
}

/* torchvision's Resize(int) for a shorter side of s: (H, W) of h x w. */
static void fit_shorter(int h, int w, int s, int *rh, int *rw)
{
    if (w <= h) {
        *rw = s;
        *rh = (int)((int64_t)s * h / w);
    } else {
        *rh = s;
        *rw = (int)((int64_t)s * w / h);
    }
}

/* Python's int(round(d / 2.0)) for d >= 0: half to even. */
static int half_even(int d)
{
    return d / 2 + ((d & 1) && ((d / 2) & 1));
}

fcn_status fcn_image_fit(const fcn_model *m, const fcn_image *img,
                         fcn_fit fit, int out_h, int out_w, fcn_image *out)
{
    if (!m || !img || !img->pixels || !out)
        return err_set(FCN_ERR_ARG, "fcn_image_fit: NULL argument");
    memset(out, 0, sizeof *out);
    if (out_h < 1 || out_w < 1 || out_h > IMG_MAX_DIM || out_w > IMG_MAX_DIM)
        return err_set(FCN_ERR_ARG, "fit to %dx%d is impossible", out_w,
                       out_h);
    if (img->w < 1 || img->h < 1 || img->c < 1 || img->c > 4 ||
        !img_depth_ok(img))
        return err_set(FCN_ERR_ARG, "cannot fit a %dx%d image of %d "
                       "channels, depth %d", img->w, img->h, img->c,
                       img->depth);
    int rh = out_h, rw = out_w;
    if (fit == FCN_FIT_SHORTER)
        fit_shorter(img->h, img->w, out_h < out_w ? out_h : out_w, &rh, &rw);
    else if (fit == FCN_FIT_CROP) {
        /* the larger ratio out/in decides: out_h/h >= out_w/w */
        if ((int64_t)out_h * img->w >= (int64_t)out_w * img->h) {
            rh = out_h;
            rw = (int)((int64_t)out_h * img->w / img->h);
        } else {
            rw = out_w;
            rh = (int)((int64_t)out_w * img->h / img->w);
        }
    } else if (fit != FCN_FIT_STRETCH)
        return err_set(FCN_ERR_ARG, "fcn_image_fit: unknown fit %d",
                       (int)fit);
    if (rh < 1 || rw < 1 || rh > IMG_MAX_DIM || rw > IMG_MAX_DIM)
        return err_set(FCN_ERR_NOMEM, "fit of a %dx%d image to %dx%d needs "
                       "a resize to %dx%d, beyond 1 to %d pixels a side",
                       img->w, img->h, out_w, out_h, rw, rh, IMG_MAX_DIM);
    fcn_image r = *img;
    fcn_status st = FCN_OK;
    const size_t px = (size_t)img->c * (img->depth == 16 ? 2 : 1);
    if (rh != img->h || rw != img->w)
        st = img_resize(m->resize, img, rh, rw, m->max_pixels, &r);
    else if (!(r.pixels = mem_alloc((size_t)rh * rw * px)))
        st = err_set(FCN_ERR_NOMEM, "out of memory for a %dx%d image", rw,
                     rh);
    else  /* the size already: a copy */
        memcpy(r.pixels, img->pixels, (size_t)rh * rw * px);
    if (st || fit != FCN_FIT_CROP)
        return st ? st : (*out = r, FCN_OK);
    /* the centre cut, in place: rows only move towards the start */
    const int top = half_even(rh - out_h), left = half_even(rw - out_w);
    for (int y = 0; y < out_h; y++)
        memmove(r.pixels + (size_t)y * out_w * px,
                r.pixels + ((size_t)(top + y) * rw + left) * px,
                (size_t)out_w * px);
    r.h = out_h;
    r.w = out_w;
    *out = r;
    return FCN_OK;
}
