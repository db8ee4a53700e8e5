/*
** heatmap.h: a class's score map as a picture (colour maps, a value
** range, a legend bar), and the best class per cell as ASCII, for the
** front ends (src/cli/heatmap.c; the colour tables in heatmap_cmaps.c).
*/
#ifndef FCN_CLI_HEATMAP_H
#define FCN_CLI_HEATMAP_H

#include <stddef.h>
#include <stdio.h>

#include "draw.h"
#include "fcn.h"

/* ---- colour maps ---- */

enum { HEAT_VIRIDIS = 0, HEAT_MAGMA, HEAT_GRAY, HEAT_TURBO, HEAT_NCMAPS };

/* A colour map by name (viridis, magma, gray, turbo; exact, then ignoring
** case); -1 if unknown. */
int heat_cmap_parse(const char *name);
/* "viridis, magma, gray, turbo", for messages. */
const char *heat_cmap_names(void);
/* The colour of t in [0, 1] (clamped; NaN: 0) as matplotlib maps it: the
** 256-entry table's entry floor(t * 256), 1 giving the last; as 0..255. */
void heat_cmap_rgb(int cmap, float t, unsigned char out[3]);

/* ---- value ranges ---- */

typedef struct heat_range {
    int automatic;  /* lo and hi from the map's values (heat_range_resolve) */
    float lo, hi;
} heat_range;

/* "auto", or "LO:HI" with both finite and LO < HI ("0:1", "-5:2.5");
** 0 on anything else. */
int heat_range_parse(const char *s, heat_range *r);
/* Resolve an automatic range: the min .. max of the finite values of v
** (none, or all equal: lo .. lo + 1); a fixed range is left as it is. */
void heat_range_resolve(heat_range *r, const float *v, size_t n);

/* ---- heat-map pictures ---- */

/* A class's score map (sc, class cls: out_h x out_w cells) as an RGB PNG
** over img (its size; img may be NULL: the map alone, at the input size
** the geometry implies), every pixel taking the value of the cell whose
** window centre is nearest, its colour blended over the gray image (60 %
** colour), and a legend: the title (e.g. the class's label; may be NULL),
** a colour bar, lo and hi under its ends. An automatic range is resolved
** from the class's cells. A picture too small for the legend is enlarged
** by a whole factor (nearest pixel). Written whole through
** fcn_output_open/commit. 1 on success; 0 with a one-line message in err
** (naming path) otherwise. */
int heat_write_png(const char *path, const fcn_image *img,
                   const fcn_scores *sc, int cls, int cmap,
                   const heat_range *r, const char *title, char *err,
                   size_t errlen);
/* The same from values per pixel (heat: w x h, e.g. fcn_detect_result's
** heat), over img (w x h, or NULL: the map alone). */
int heat_write_plane_png(const char *path, const fcn_image *img,
                         const float *heat, int w, int h, int cmap,
                         const heat_range *r, const char *title, char *err,
                         size_t errlen);

/* Where the legend of a w x h picture (after any enlargement: see
** heat_zoom) lies: its panel, and its colour bar, whose column
** bar_x + k shows the value lo + (hi - lo) * k / (bar_w - 1). */
typedef struct heat_legend {
    int x, y, w, h;            /* the dark panel */
    int bar_x, bar_y, bar_w, bar_h;
} heat_legend;
void heat_legend_layout(int w, int h, const char *title, heat_legend *lg);
/* The whole factor by which a w x h picture is enlarged (1: not). */
int heat_zoom(int w, int h);

/* The drawing itself: pixel (x, y) of im takes the value
** v[row[y] * stride + col[x]] (row, col NULL: y, x), its colour blended over
** the gray of im's pixel (blend) or alone; then the legend. r must be
** resolved (not automatic). */
void heat_draw(rgb *im, int blend, const float *v, size_t stride,
               const int *row, const int *col, int cmap, const heat_range *r,
               const char *title);

/* ---- the best class per cell, as ASCII ---- */

/* fcn-run's summary map: per cell the best class (the first of equals);
** classes ranked by the cells they win; the 35 that win the most get
** 1-9 and a-z in that order (equals by class index), the others '+';
** '.' for a class labelled "background". At most width columns (and rows;
** width < 8 counts as 8): a larger map is shown by evenly spaced cells
** (the k-th of n over m cells: floor((k + 1/2) * m / n)), saying so in its
** header line. A legend lists the symbols with their labels and the cells
** each wins (over the whole map). */
void heat_ascii(FILE *f, const fcn_scores *sc, const fcn_model *m, int width);
/* The same with labels from label(ud, cls) (NULL: "class N"). */
void heat_ascii_labels(FILE *f, const fcn_scores *sc,
                       const char *(*label)(void *ud, int cls), void *ud,
                       int width);

#endif
