/*
** run_tiff.h: fcn-run's score maps as tiled pyramidal BigTIFF / GeoTIFF
** (--out FILE.tif, --classes, --tiff-mode; include/fcn_tiff.h).
*/
#ifndef FCN_CLI_RUN_TIFF_H
#define FCN_CLI_RUN_TIFF_H

#include <stddef.h>

#include "fcn_tiff.h"

typedef struct rt_opts {
    const char *classes;   /* --classes LIST as given; NULL: all */
    int mode_set;          /* --tiff-mode given */
    fcn_tiff_mode mode;
    int cls[256];          /* resolved at rt_resolve */
    int n_cls;
} rt_opts;

/* 1 where path names a TIFF output (.tif, .tiff, any case). */
int rt_is_tiff(const char *path);
/* --tiff-mode float|prob8|argmax; 0 if v is none of them. */
int rt_parse_mode(const char *v, fcn_tiff_mode *mode);
/* --classes LIST (labels or indices, comma-separated, each once) against
** the model; 0 after a message on stderr. */
int rt_resolve(const char *prog, const fcn_model *m, rt_opts *o);
/* The TIFF sink for out, with input's georeference where it is a GeoTIFF
** (input NULL: none; level > 0, a reduced page: none either); *georef
** whether it has one. 0 with err set on failure. */
int rt_sink_open(const char *out, const char *input, int level,
                 const rt_opts *o, fcn_map_sink *sink, int *georef, char *err,
                 size_t errlen);
/* The map sc of input (an image file, or NULL: none to georeference) to
** out, through the TIFF sink in blocks of rows; georeferenced where input
** is a GeoTIFF and was used at its own size (resized 0). *georef set to
** whether it was. 0 with err set on failure. */
int rt_write(const char *out, const char *input, int resized,
             const fcn_scores *sc, const rt_opts *o, int *georef, char *err,
             size_t errlen);

#endif
