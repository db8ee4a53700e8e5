/*
** fcn_detect.h: from score maps to detections (docs/detect.md).
**
** A score map says what the classifier sees in the window of every cell; a
** scale pyramid (the image resized to several scales, one score map each)
** lets a fixed window match objects of several sizes. This part of the
** library turns cells whose score passes a threshold into boxes in the
** original image's pixels, using the score map's geometry and the level's
** scale, and merges them with greedy per-class non-maximum suppression.
**
** The detector runs the whole pyramid:
**
**   fcn_detect_options o;  fcn_detect_defaults(&o);  // 0.9, 0.75, 0.6
**   fcn_detector *d;  fcn_detector_create(model, &o, &d);
**   for each image: fcn_image img;  fcn_image_decode(model, path, 0, 0, &img);
**       fcn_detect_result r;  fcn_detector_run(d, &img, &r);
**       r.d[0 .. r.n): boxes, best first; r.levels: each scale as it ran
**   fcn_detector_free(d);
**
** and the pieces it is made of are public too, for other loops:
**
**   double sc[8];  int n = fcn_pyramid_scales(0.6, 1.25, 0.8, sc, 8);
**   for each scale: fcn_level lv;  fcn_level_make(W, H, sc[k], &lv);
**       resize the image to lv.width x lv.height, run a session on it, then
**       fcn_detect_cells(&scores, &lv, k, 0.5f, class_mask, &dets);
**   size_t kept;  fcn_nms(dets.d, dets.n, 0.3, 0, &kept);
**
** Nothing here prints or exits; memory is allocated only where a function
** says so. Errors come back as an fcn_status with fcn_last_error().
*/
#ifndef FCN_DETECT_H
#define FCN_DETECT_H

#include <stddef.h>

#include "fcn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A box in image pixels: top-left corner (x, y) and size, in continuous
** coordinates where pixel (c, r) covers [c, c+1) x [r, r+1). */
typedef struct fcn_box {
    double x, y, w, h;
} fcn_box;

/* One level of a scale pyramid: the original image (image_w x image_h)
** resized to width x height. scale is the nominal factor asked for;
** scale_x = width / image_w and scale_y = height / image_h are the exact
** factors of the resize (sizes are whole pixels), and the ones boxes use:
** level pixel u maps to image pixel u / scale_x. */
typedef struct fcn_level {
    double scale;
    double scale_x, scale_y;
    int width, height;
    int image_w, image_h;
} fcn_level;

/* Fill lv for an image_w x image_h image at the given scale: width =
** round(image_w * scale), at least 1 (same for height). FCN_ERR_ARG for a
** non-positive or non-finite scale, or a level larger than 65536 pixels a
** side. */
fcn_status fcn_level_make(int image_w, int image_h, double scale,
                          fcn_level *lv);

/* Scales of a pyramid from max_scale down: max_scale * step^k for k = 0,
** 1, ... while >= min_scale (with a relative tolerance of 1e-9). Writes at
** most max_out into out and returns how many there are in all (so a return
** above max_out means out was too small); -1 on bad arguments (min_scale
** <= 0, max_scale < min_scale, step not in (0, 1)). */
int fcn_pyramid_scales(double min_scale, double max_scale, double step,
                       double *out, int max_out);

/* The window of cell (i, j) in the level's own pixels, unclipped:
** (j*stride_w + offset_w, i*stride_h + offset_h, rf_w, rf_h). */
fcn_box fcn_cell_window(const fcn_geometry *g, int i, int j);
/* The same window in the original image's pixels, unclipped: every
** coordinate of fcn_cell_window divided by the level's scale_x / scale_y. */
fcn_box fcn_cell_box(const fcn_geometry *g, int i, int j,
                     const fcn_level *lv);
/* b clipped to [0, w) x [0, h); an empty box (w or h 0) when outside. */
fcn_box fcn_box_clip(fcn_box b, int w, int h);
/* Intersection over union; 0 when either box is empty. */
double fcn_box_iou(fcn_box a, fcn_box b);

/* Whether cell (i, j)'s window reaches beyond a level image of in_h x in_w
** (so part of what it saw was the network's padding, not the image). */
int fcn_cell_padded(const fcn_geometry *g, int i, int j, int in_h, int in_w);

/* The cells of an out_h x out_w score map over an in_h x in_w input whose
** windows reach beyond it. Padding happens only at the map's borders, so it
** is described by how many rows at the top and bottom and columns at the
** left and right have windows reaching out on that side (a row can count
** on both sides when the window is taller than the input), and the total
** number of such cells. */
typedef struct fcn_padding {
    int top, bottom, left, right;
    long long cells;
} fcn_padding;
void fcn_score_map_padding(const fcn_geometry *g, int out_h, int out_w,
                           int in_h, int in_w, fcn_padding *p);

typedef struct fcn_detection {
    int cls;            /* class index in the model */
    float score;
    fcn_box box;        /* in original image pixels, clipped to it */
    double scale;       /* the level's nominal scale */
    int level;          /* the level's index, as given to fcn_detect_cells */
    int cell_i, cell_j; /* the cell in that level's score map */
    int padded;         /* the cell's window reached beyond the level image */
} fcn_detection;

/* A growable array of detections; zero-initialise (d is fcn's, from the
** allocation hook: never one of the caller's), free with
** fcn_detections_free. max (0: 1 << 23) caps n: fcn_detect_cells fails with
** FCN_ERR_NOMEM rather than grow past it. */
typedef struct fcn_detections {
    fcn_detection *d;
    size_t n, cap, max;
} fcn_detections;
void fcn_detections_free(fcn_detections *v);

/* Append one detection per (cell, class) with score >= threshold, for the
** classes whose class_on[c] is non-zero (class_on may be NULL: every
** class), with its box from the geometry and the level (fcn_cell_box, then
** clipped to the image; cells whose clipped box is empty are skipped).
** sc is a score map of the level's image (lv->width x lv->height). */
fcn_status fcn_detect_cells(const fcn_scores *sc, const fcn_level *lv,
                            int level, float threshold,
                            const unsigned char *class_on,
                            fcn_detections *out);

/* Greedy non-maximum suppression per class: detections are taken by
** decreasing score (ties: the earlier in d first); one is kept unless a
** kept detection of the same class overlaps it with IoU > iou. Stops after
** max_keep kept detections (0: no limit), which equals suppressing all and
** keeping the max_keep best. On return d[0 .. *kept) holds the kept ones by
** decreasing score and the rest of d is unspecified. Runs in about
** n log n for boxes of similar sizes (a grid of kept boxes). */
fcn_status fcn_nms(fcn_detection *d, size_t n, double iou, size_t max_keep,
                   size_t *kept);

/* Heat map: for every pixel (x, y) of an image_w x image_h image (the
** level's original), the score plane (out_h x out_w, one class of a level's
** score map) sampled bilinearly at the pixel centre's position in cell
** coordinates: the cell whose window is centred on image point p is at
** (p * scale - offset - rf / 2) / stride per axis, clamped to the map.
** With accumulate, dst[y*image_w + x] = max(dst, value); otherwise set.
** FCN_ERR_NOMEM when its small per-row/column tables cannot be allocated. */
fcn_status fcn_score_plane_sample(const float *plane, int out_h, int out_w,
                            const fcn_geometry *g, const fcn_level *lv,
                            float *dst, int accumulate);

/* ---- the detector: a scale pyramid over whole images ---- */

/* What the detector reports while it runs (for a progress display). */
typedef struct fcn_detect_progress {
    int level, n_levels;    /* the level-th (from 1) of the levels that run */
    const fcn_level *lv;
    int done;               /* 0: starting the level, 1: finished it */
    double pixels_done;     /* level pixels finished so far, and in all: */
    double pixels_total;    /* a measure of the work left */
} fcn_detect_progress;

typedef struct fcn_detect_options {
    const double *scales;   /* the pyramid: n_scales factors, any order */
    int n_scales;           /* 1 to 64 */
    float threshold;        /* a cell counts where its score >= threshold */
    double iou;             /* suppression: IoU > iou with a better box of
                               its class (across scales), in [0, 1] */
    size_t max_detections;  /* kept per image, best first; 0: all */
    const unsigned char *classes; /* classes[c] != 0: detect class c (one
                               entry per class); NULL: every class but one
                               labelled "background" */
    int heatmap;            /* also the score map of heat_class resampled
                               to the image, the maximum over the scales */
    int heat_class;
    int threads;            /* as fcn_session_options */
    size_t mem_limit;       /* per level, as fcn_session_options */
    void (*progress)(void *user, const fcn_detect_progress *p);
    void *user;             /* given to progress */
    size_t max_candidates;  /* detections kept before suppression, all
                               levels together (0: 1 << 23): one more fails
                               the run with FCN_ERR_NOMEM ("raise the
                               threshold"), in memory as streamed */
} fcn_detect_options;

/* The defaults: scales 0.9, 0.75, 0.6 (tuned on the bundled model,
** docs/detect.md), threshold 0.9, iou 0.3, everything else zero. */
void fcn_detect_defaults(fcn_detect_options *o);

/* One scale of the pyramid, as it ran on the last image. */
typedef struct fcn_detect_level {
    fcn_level lv;           /* lv.scale is set even when skipped */
    const char *skipped;    /* why the level did not run, or NULL */
    int out_h, out_w;       /* its score map */
    fcn_geometry geom;
    fcn_padding pad;        /* cells whose windows reached beyond it */
    int tile_h, tile_w, tiles;  /* fcn_session_tiles */
    size_t candidates;      /* cells x classes past the threshold */
    double seconds;         /* resize, run and cells */
} fcn_detect_level;

typedef struct fcn_detect_result {
    const fcn_detection *d; /* kept detections, by decreasing score */
    size_t n;
    const fcn_detect_level *levels; /* one per scale, in the given order */
    int n_levels;
    const unsigned char *classes;   /* the classes detected (per class) */
    const float *heat;      /* image_w x image_h (options.heatmap), or NULL */
} fcn_detect_result;

typedef struct fcn_detector fcn_detector;

/* A detector for model m (which must outlive it). FCN_ERR_ARG for bad
** options, naming the option. */
fcn_status fcn_detector_create(const fcn_model *m,
                               const fcn_detect_options *opt,
                               fcn_detector **out);
/* Detect on one image (c channels as the model takes them). The sessions
** of the levels are planned for the image's size and kept: the next image
** of the same size reuses them, all levels sharing one arena. The result
** is the detector's, valid until its next run or its free. Fails with
** FCN_ERR_SHAPE when the image is smaller than the network at every
** scale; messages about a level start with "scale S: ". */
fcn_status fcn_detector_run(fcn_detector *d, const fcn_image *img,
                            fcn_detect_result *res);
void fcn_detector_free(fcn_detector *d);  /* accepts NULL */

#ifdef __cplusplus
}
#endif
#endif
