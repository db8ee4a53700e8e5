/*
** tiffmap.h: what the TIFF score-map sink (tiffmap.c) and the GeoTIFF
** reader (georef.c) share: libtiff handles whose messages come back as
** fcn errors instead of being printed, and the GeoTIFF tags.
*/
#ifndef FCN_IO_TIFFMAP_H
#define FCN_IO_TIFFMAP_H

#include <tiffio.h>

#include "fcn_tiff.h"

/* libtiff's first error or warning on a handle, kept for the message. */
typedef struct tiffm_msg {
    char text[256];
} tiffm_msg;

/* TIFFFdOpenExt / TIFFOpenExt with the messages going into *msg (never
** printed). NULL on failure, msg->text saying why where libtiff did. */
TIFF *tiffm_fdopen(int fd, const char *name, const char *mode,
                   tiffm_msg *msg);
TIFF *tiffm_open(const char *path, const char *mode, tiffm_msg *msg);

/* A deep copy of g, in one block (mem_free it), its raster type key
** (1025) set to PixelIsArea, as the affine is; NULL on failure. */
fcn_georef *tiffm_georef_copy(const fcn_georef *g);

/* Write the GeoTIFF tags of the current directory: the affine (pixel
** scale and tiepoint where it has no rotation, else the transformation
** matrix) and g's keys (from tiffm_georef_copy). 0 on failure. */
int tiffm_write_geo(TIFF *t, const fcn_georef *g, const double affine[6]);

#endif
