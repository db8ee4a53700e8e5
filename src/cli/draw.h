/*
** draw.h: pictures for fcn-detect, and the primitives heatmap.c draws with.
*/
#ifndef FCN_CLI_DRAW_H
#define FCN_CLI_DRAW_H

#include <stddef.h>

#include "fcn_detect.h"

typedef struct rgb {
    int w, h;
    unsigned char *px; /* h x w x 3 */
} rgb;

/* An RGB copy of img (gray replicated); 0 on OOM. free(out->px). */
int draw_to_rgb(const fcn_image *img, rgb *out);
/* Pixel p (y * w + x) of img as 8-bit RGB (gray replicated, 16-bit
** samples rounded to 8). */
void draw_pixel8(const fcn_image *img, size_t p, unsigned char out[3]);
/* The n detections d as frames with "label score" tags, worst first so
** that the best end up on top. */
void draw_boxes(rgb *im, const fcn_model *m, const fcn_detection *d,
                size_t n);
/* Primitives: a filled rectangle [x0, x1) x [y0, y1), clipped to im; text
** (printable ASCII, up to 127 characters, 8 * scale pixels high from y),
** and its width in pixels. */
void draw_fill_rect(rgb *im, long x0, long y0, long x1, long y1,
                    const unsigned char col[3]);
void draw_text(rgb *im, long x, long y, int scale, const char *s,
               const unsigned char col[3]);
int draw_text_width(const char *s, int scale);

#endif
