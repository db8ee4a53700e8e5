/*
** detector.h: the detector's state and the pieces its in-memory run
** (pyramid.c) and its streamed run (detect_stream.c) share.
*/
#ifndef FCN_DETECTOR_H
#define FCN_DETECTOR_H

#include "fcn_detect.h"

#define DETECT_MAX_SCALES 64

struct fcn_detector {
    const fcn_model *m;
    fcn_detect_options o;
    double scales[DETECT_MAX_SCALES];
    unsigned char *classes;
    fcn_model_info info;
    int img_w, img_h;              /* the size the sessions are for */
    fcn_session *sessions[DETECT_MAX_SCALES];
    fcn_detect_level levels[DETECT_MAX_SCALES];
    float *arena, *scores;         /* shared by the sessions */
    fcn_detections dets;
    float *heat;
};

/* Append the detections of a block of a level's score map: scores classes
** x h x w (CHW) for cells rows [row, row+h), cols [col, col+w) of the map
** whose cell (0, 0) has geometry g; as fcn_detect_cells does for a whole
** map (which is the block at 0, 0). */
fcn_status detect_block(const float *scores, int classes, int row, int col,
                        int h, int w, const fcn_geometry *g,
                        const fcn_level *lv, int level, float threshold,
                        const unsigned char *class_on, fcn_detections *out);

/* d->levels[k] for a w x h image: 1 when it can run, 0 when skipped (its
** reason set). */
int detector_level(fcn_detector *d, int k, int w, int h);
/* The error when no level can run on a w x h image. */
fcn_status detector_none(const fcn_detector *d, int w, int h);
/* The progress callback, if any. */
void detector_report(const fcn_detector *d, int level, int n_levels, int k,
                     int done, double pixels_done, double pixels_total);
/* Suppression of d->dets into res (the run's end). */
fcn_status detector_finish(fcn_detector *d, fcn_detect_result *res);

#endif
