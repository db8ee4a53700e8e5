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

/* An image's depth is 8 (0 also means 8) or 16 (uint16 host-endian
** samples). */
static inline int img_depth_ok(const fcn_image *img)
{
    return img->depth == 0 || img->depth == 8 || img->depth == 16;
}

/* The decoder img_decode uses: FCN_DECODER (stb or vips), read once per
** process; vips by default where fcn is built with it (docs/images.md).
** FCN_ERR_ARG for another value, or vips asked of a build without it. */
typedef enum img_decoder { IMG_DEC_STB, IMG_DEC_VIPS } img_decoder;
fcn_status img_decoder_get(img_decoder *d);

/* The pixel cap: a w x h image (what: "image") or resize target ("resize
** to") within max_pixels and IMG_MAX_DIM a side; FCN_ERR_NOMEM with a
** message naming the limit (and path, if not NULL) otherwise. */
fcn_status img_check_pixels(const char *what, const char *path, int w,
                            int h, int64_t max_pixels);

/* libvips (image_vips.c, where built with it): the header of path read
** first, the EXIF orientation applied, the rotated size and the resize
** target (out_h/out_w > 0) checked with img_check_pixels, then the pixels
** read region by region into one buffer from mem_alloc, converted to
** `channels` (1 or 3) as img_px_convert does, 8 or 16 bits as stored.
** *use_stb (and FCN_OK, out empty) where libvips has no trusted loader for
** the file (BMP, TGA, ... it reads only through ImageMagick, which is
** blocked): stb_image's path then reads it. */
fcn_status img_vips_decode(const char *path, int channels, int out_h,
                           int out_w, int64_t max_pixels, fcn_image *out,
                           int *use_stb);

/* Windows of a file through libvips (fcn_source): the header read, the
** file open for random access. *out NULL (and FCN_OK) where libvips is
** not there or does not read this format by windows (only TIFF, OpenSlide
** and .v files are): the whole-image decode is then the way. level > 0:
** TIFF's page or OpenSlide's level, FCN_ERR_ARG for other formats. *h, *w:
** the size after the EXIF orientation. */
typedef struct img_vsrc img_vsrc;
fcn_status img_vips_open(const char *path, int channels, int level,
                         img_vsrc **out, int *h, int *w);
/* Rows [y0, y0+h), columns [x0, x0+w) of the shown image (within it; at
** most max_pixels) into a new image from mem_alloc. */
fcn_status img_vips_read(img_vsrc *s, int y0, int x0, int h, int w,
                         int64_t max_pixels, fcn_image *out);
void img_vips_close(img_vsrc *s);  /* accepts NULL */
/* Resize s lazily to w x h as shown (vips_resize, linear kernel): later
** reads are windows of the resized image. */
fcn_status img_vips_resize(img_vsrc *s, int h, int w);

/* What a decoder gives: the bands of a pixel, in order. */
typedef enum img_bands {
    IMG_BANDS_GRAY, IMG_BANDS_GRAY_ALPHA, IMG_BANDS_RGB, IMG_BANDS_RGBA,
    IMG_BANDS_CMYK, IMG_BANDS_CMYKA
} img_bands;
int img_bands_count(img_bands b);
/* n pixels of bands b (8 or 16-bit samples, depth) to `channels` (1 or 3)
** of the same depth, as PIL's convert('L') and convert('RGB') compute
** them: alpha dropped (not flattened), gray replicated, CMYK as Pillow's
** cmyk2rgb, RGB to gray with ITU-R 601-2 weights in 16-bit fixed point
** (Pillow's L24; the same at 16 bits). dst may be src when channels is at
** most b's band count. */
void img_px_convert(const void *src, img_bands b, int depth, size_t n,
                    int channels, void *dst);

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
