/*
** geojson.c: detections as GeoJSON (geojson.h). A box [x, y, w, h] in
** image pixels (continuous coordinates: pixel (0, 0) covers [0, 1) x
** [0, 1), GDAL's PixelIsArea convention) becomes the polygon of its four
** corners, mapped through the input's GeoTransform where the input is a
** GeoTIFF. RFC 7946 GeoJSON is WGS 84 longitude, latitude: an EPSG:4326
** input gives exactly that; another EPSG CRS is named in a "crs" member
** (urn:ogc:def:crs:EPSG::CODE, the 2008 GeoJSON form GDAL and QGIS read);
** a CRS without an EPSG code is refused (pixels still available).
** Rings run counterclockwise in the output coordinates (the right-hand
** rule of RFC 7946).
*/
#include <string.h>

#include "cli.h"
#include "fcn_tiff.h"
#include "geojson.h"

static void json_str(FILE *f, const char *s)
{
    cli_json b = {0};
    cli_json_str(&b, s);
    if (!b.oom)
        fwrite(b.s, 1, b.n, f);
    cli_json_free(&b);
}

int gj_write(FILE *f, const fcn_model *m, const fcn_detect_result *r,
             const char *image, int pixels, char *err, size_t errlen)
{
    fcn_georef *g = NULL;
    if (image && !pixels && fcn_georef_read_tiff(image, &g) != FCN_OK) {
        snprintf(err, errlen, "%s", fcn_last_error());
        return 0;
    }
    if (g && !g->epsg) {
        snprintf(err, errlen, "%s: its CRS has no EPSG code, which GeoJSON "
                 "needs (--geojson-pixels: image pixel coordinates)", image);
        fcn_georef_free(g);
        return 0;
    }
    fputs("{\"type\": \"FeatureCollection\",\n", f);
    if (g && g->epsg != 4326)
        fprintf(f, " \"crs\": {\"type\": \"name\", \"properties\": {\"name\": "
                "\"urn:ogc:def:crs:EPSG::%d\"}},\n", g->epsg);
    fprintf(f, " \"coordinates\": \"%s\",\n \"features\": [",
            g ? "model" : "pixel");
    for (size_t k = 0; k < r->n; k++) {
        const fcn_detection *d = &r->d[k];
        double px[5] = {d->box.x, d->box.x + d->box.w, d->box.x + d->box.w,
                        d->box.x, d->box.x};
        double py[5] = {d->box.y, d->box.y, d->box.y + d->box.h,
                        d->box.y + d->box.h, d->box.y};
        double x[5], y[5], area = 0;
        for (int i = 0; i < 5; i++) {
            const double *a = g ? g->affine : NULL;
            x[i] = a ? a[0] + px[i] * a[1] + py[i] * a[2] : px[i];
            y[i] = a ? a[3] + px[i] * a[4] + py[i] * a[5] : py[i];
        }
        for (int i = 0; i < 4; i++)
            area += x[i] * y[i + 1] - x[i + 1] * y[i];
        char lb[32];
        fprintf(f, "%s\n  {\"type\": \"Feature\", \"properties\": {\"label\": ",
                k ? "," : "");
        json_str(f, cli_label(m, d->cls, lb, sizeof lb));
        fprintf(f, ", \"class\": %d, \"score\": %.6g},\n   \"geometry\": "
                "{\"type\": \"Polygon\", \"coordinates\": [[", d->cls,
                d->score);
        for (int i = 0; i < 5; i++) {
            int j = area >= 0 ? i : 4 - i;  /* counterclockwise */
            fprintf(f, "%s[%.15g, %.15g]", i ? ", " : "", x[j], y[j]);
        }
        fputs("]]}}", f);
    }
    fputs(r->n ? "\n ]}\n" : "]}\n", f);
    fcn_georef_free(g);
    return 1;
}
