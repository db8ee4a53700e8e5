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
