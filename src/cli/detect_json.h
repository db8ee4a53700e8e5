/*
** detect_json.h: fcn-detect's JSON for one image (docs/detect.md).
*/
#ifndef FCN_CLI_DETECT_JSON_H
#define FCN_CLI_DETECT_JSON_H

#include "cli.h"
#include "fcn_detect.h"

/* The image's object: its size, the model, the options, every level of the
** pyramid and the detections. */
void dj_image(cli_json *b, const fcn_model *m, const char *model_path,
              double threshold, double iou, const char *path, int w, int h,
              const fcn_detect_result *r, double seconds);

#endif
