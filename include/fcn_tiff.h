/*
** fcn_tiff.h: score maps as tiled pyramidal BigTIFF (GeoTIFF where the
** input is georeferenced), written block by block from a streamed map.
**
**   fcn_tiff_options to = {0};            // all classes, float32, deflate
**   fcn_georef *geo = NULL;
**   fcn_georef_read_tiff("scene.tif", &geo);   // NULL where none
**   to.georef = geo;
**   fcn_tiff_sink_open("map.tif", &to, &sink);
**   fcn_stream_run(model, src, NULL, &sink);   // sink committed or aborted
**   fcn_georef_free(geo);
**
** The file: a BigTIFF whose first image (IFD) is the map at full
** resolution and whose next ones are its reduced levels (NewSubfileType 1),
** each half the size of the one before (rounded up), down to one that fits
** a tile; every level tiled, chunky (the bands of a cell together). This
** is the layout of GDAL's internal overviews (a Cloud Optimized GeoTIFF's),
** which GDAL, QGIS, tifffile and libvips read as a pyramid
** (docs/large-images.md, "Score maps as TIFF").
*/
#ifndef FCN_TIFF_H
#define FCN_TIFF_H

#include "fcn_stream.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum fcn_tiff_mode {
    FCN_TIFF_FLOAT = 0,  /* one float32 band per class: the scores as they
                            are; levels: the mean of each 2x2 (float) */
    FCN_TIFF_PROB8 = 1,  /* one uint8 band per class: round(clamp(s, 0, 1)
                            * 255), NaN as 0 (scores outside 0..1, from a
                            model without softmax, are clamped); levels:
                            the mean of each 2x2, rounded half up */
    FCN_TIFF_ARGMAX = 2  /* two bands: the class of the best score among
                            the chosen ones (its index in the model) and
                            its confidence, round(clamp(s, 0, 1) * 255);
                            uint8, or uint16 both where the model has over
                            256 classes; levels: the top-left cell of each
                            2x2 (nearest: classes cannot be averaged) */
} fcn_tiff_mode;

typedef enum fcn_tiff_compression {
    FCN_TIFF_DEFLATE = 0,  /* lossless, every mode */
    FCN_TIFF_NONE = 1,
    FCN_TIFF_LZW = 2
} fcn_tiff_compression;

/* Where the input's pixels are on the ground: GDAL's GeoTransform of the
** input image, X = a[0] + col*a[1] + row*a[2], Y = a[3] + col*a[4] +
** row*a[5], (col, row) = (0, 0) the top-left corner of the top-left pixel
** (PixelIsArea), and the GeoTIFF keys that name the CRS, copied as they
** are but for the raster type (1025): PixelIsArea in what
** fcn_georef_read_tiff gives and in what the sink writes. */
typedef struct fcn_georef {
    double affine[6];
    const uint16_t *keys;  /* GeoKeyDirectory (34735), n_keys shorts; may
                              be NULL */
    int n_keys;
    const double *doubles; /* GeoDoubleParams (34736) */
    int n_doubles;
    const char *ascii;     /* GeoAsciiParams (34737); NULL: none */
    int epsg;              /* the CRS's EPSG code from the keys (projected,
                              else geographic), 0: none or user-defined */
} fcn_georef;

/* Read the georeference of a GeoTIFF (its first image): ModelTransformation
** (34264), or ModelTiepoint (33922) with ModelPixelScale (33550), and the
** geo keys; a PixelIsPoint raster's transform is moved by half a pixel to
** PixelIsArea, as GDAL does. *out NULL (FCN_OK) where path is not a TIFF
** or has no georeference; free it with fcn_georef_free. */
fcn_status fcn_georef_read_tiff(const char *path, fcn_georef **out);
void fcn_georef_free(fcn_georef *g);  /* accepts NULL */

/* The GeoTransform of a score map whose geometry (of its cell (0, 0)) is
** g, on an input whose GeoTransform is in: map cell (i, j) is the
** stride_h x stride_w area centred on its window's centre, i.e. its
** top-left corner is input pixel (i*stride_h + offset_h + (rf_h -
** stride_h)/2, j*stride_w + offset_w + (rf_w - stride_w)/2) (row, col). */
void fcn_georef_map(const double in[6], const fcn_geometry *g,
                    double out[6]);

typedef struct fcn_tiff_options {  /* a zeroed struct means defaults */
    const int *classes;   /* the classes written, in this order (bands);
                             NULL: all; each in 0..classes-1 at begin */
    int n_classes;
    fcn_tiff_mode mode;
    fcn_tiff_compression compression;
    int tile;             /* tile side in cells, a multiple of 16; 0: 256 */
    const fcn_georef *georef;  /* the input's; NULL: none. Copied */
} fcn_tiff_options;

/* A sink writing the map as a tiled pyramidal BigTIFF through
** fcn_output_* (whole or absent). Memory: the rows of one grid row of
** blocks plus a tile row per level; level 0 is written as blocks arrive
** and each level computed from the one above as its rows complete, into
** temporary files (TMPDIR, else /tmp; unlinked at once) assembled at
** commit. opt may be NULL; options are copied. The sink frees itself at
** commit or abort. */
fcn_status fcn_tiff_sink_open(const char *path, const fcn_tiff_options *opt,
                              fcn_map_sink *sink);

#ifdef __cplusplus
}
#endif
#endif
