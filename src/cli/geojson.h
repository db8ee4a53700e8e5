/*
** geojson.h: fcn-detect --geojson: the detections as a GeoJSON
** FeatureCollection of box polygons, in image pixels, or in the model
** coordinates of a GeoTIFF input (docs/large-images.md, "GeoJSON").
*/
#ifndef FCN_CLI_GEOJSON_H
#define FCN_CLI_GEOJSON_H

#include <stdio.h>

#include "fcn_detect.h"

/* The FeatureCollection of r's boxes into f. image: the file detected on
** (read for a georeference; NULL: none, as with pixels set). 0 with a
** one-line message in err where the image is georeferenced in a CRS
** without an EPSG code (pixels then forces pixel coordinates). */
int gj_write(FILE *f, const fcn_model *m, const fcn_detect_result *r,
             const char *image, int pixels, char *err, size_t errlen);

#endif
