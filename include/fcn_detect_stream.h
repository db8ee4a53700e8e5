/*
** fcn_detect_stream.h: the detector (fcn_detect.h) on an image file read
** window by window (fcn_stream.h), for images too large to decode whole.
**
**   fcn_detector *d;  fcn_detector_create(model, &o, &d);
**   fcn_detect_result r;  int w, h;
**   fcn_detector_run_stream(d, "slide.tif", NULL, &w, &h, &r);
**
** docs/detect.md ("Streamed input") and docs/large-images.md.
*/
#ifndef FCN_DETECT_STREAM_H
#define FCN_DETECT_STREAM_H

#include "fcn_detect.h"
#include "fcn_stream.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The detector's pyramid on the image at path: each level's source is the
** image resized to the level's size (fcn_source_options width, height;
** none at a level of the image's own size), its score map streamed block
** by block (fcn_stream_run, so opt->mem_limit bounds a block, opt->cells
** must be NULL), each block's cells turned into detections as
** fcn_detect_cells does, then the same suppression across the levels as
** fcn_detector_run. At a level of the image's own size the detections
** equal those of fcn_detector_run on the image decoded whole; at other
** levels the resize differs (docs/detect.md). The candidates before
** suppression are bounded by the options' max_candidates. *width and
** *height (either may be NULL): the image's size. The result is as
** fcn_detector_run's, with levels[k].tile_h/tile_w/tiles the blocks of
** the stream; a heat map is refused (FCN_ERR_ARG: it needs the whole
** image). Messages start with the path ("PATH: scale S: " about a level).
** opt may be NULL. */
fcn_status fcn_detector_run_stream(fcn_detector *d, const char *path,
                                   const fcn_stream_options *opt, int *width,
                                   int *height, fcn_detect_result *res);

#ifdef __cplusplus
}
#endif
#endif
