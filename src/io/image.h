/*
** image.h: 8-bit images in (stb_image, stb_image_resize from Debian's
** libstb) and their preprocessing into floats.
*/
#ifndef FCN_IO_IMAGE_H
#define FCN_IO_IMAGE_H

#include <stdint.h>

#include "fcn.h"

/* A side of any image or resize target. The pixel count's cap is the
** model's (fcn_options.max_pixels, FCN_DEFAULT_MAX_PIXELS). */
#define IMG_MAX_DIM 65536

typedef enum img_color { IMG_RGB, IMG_BGR, IMG_GRAY } img_color;
typedef enum img_filter { IMG_BILINEAR, IMG_AREA } img_filter;

/* Names as model.bin and fcn_model_info spell them; parse: 0 if unknown. */
const char *img_color_name(img_color c);
const char *img_filter_name(img_filter f);
int img_color_parse(const char *s, img_color *c);
int img_filter_parse(const char *s, img_filter *f);

/* A model's preprocessing: channel order, then (x*scale - mean[c]) /
** std[c]. */
typedef struct img_prep {
    int c;
    img_color color;
    float scale;
    const float *mean, *std;
} img_prep;

/* Decode path with `channels` channels; resize (out_h/out_w > 0) with
** filter. The image's size (from its header) and the resize target are
** checked against max_pixels and IMG_MAX_DIM before anything is decoded:
** FCN_ERR_NOMEM, the message naming the limit. At most the decoded image
** and the resized one exist at once (stb's buffer is the image's). */
fcn_status img_decode(const char *path, int channels, img_filter filter,
                      int out_h, int out_w, int64_t max_pixels,
                      fcn_image *out);
/* Resize with filter; an axis that shrinks uses the box filter (area
** averaging). A target over max_pixels: FCN_ERR_NOMEM, before allocating. */
fcn_status img_resize(img_filter filter, const fcn_image *img, int out_h,
                      int out_w, int64_t max_pixels, fcn_image *out);
/* Preprocess rows [y0, y0+h), columns [x0, x0+w) of img into dst: C
** planes ps floats apart, rows w floats apart. */
void img_preprocess(const img_prep *p, const fcn_image *img, int y0, int x0,
                    int h, int w, float *dst, int64_t ps);

#endif
