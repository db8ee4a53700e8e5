/*
** draw.h: pictures for fcn-detect.
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
/* The n detections d as frames with "label score" tags, worst first so
** that the best end up on top. */
void draw_boxes(rgb *im, const fcn_model *m, const fcn_detection *d,
                size_t n);
/* heat (im->w x im->h, scores in [0, 1]) blended over the gray image with
** the viridis map, and a legend naming `label`. */
void draw_heatmap(rgb *im, const float *heat, const char *label);

#endif
