/*
** run_tiff.c: fcn-run --out FILE.tif: the score map held in memory fed to
** the TIFF sink (include/fcn_tiff.h) a band of rows at a time, with the
** input's georeference where it is a GeoTIFF used at its own size.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "cli_opt.h"
#include "run_tiff.h"

#define BLOCK_ROWS 64

int rt_is_tiff(const char *path)
{
    size_t n = strlen(path);
    return (n > 4 && !strcasecmp(path + n - 4, ".tif")) ||
           (n > 5 && !strcasecmp(path + n - 5, ".tiff"));
}

int rt_parse_mode(const char *v, fcn_tiff_mode *mode)
{
    static const char *const names[] = {"float", "prob8", "argmax"};
    for (int k = 0; k < 3; k++)
        if (!strcmp(v, names[k])) {
            *mode = (fcn_tiff_mode)k;
            return 1;
        }
    return 0;
}

int rt_resolve(const char *prog, const fcn_model *m, rt_opts *o)
{
    o->n_cls = 0;
    if (!o->classes)
        return 1;
    char name[256];
    for (const char *p = o->classes;;) {
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof name) {
            fprintf(stderr, "%s: --classes %s: give labels or indices "
                    "separated by commas\n", prog, o->classes);
            return 0;
        }
        memcpy(name, p, len);
        name[len] = 0;
        int c = cli_find_class(m, name);
        if (c < 0) {
            cli_unknown_class(prog, m, "--classes", name);
            return 0;
        }
        for (int k = 0; k < o->n_cls; k++)
            if (o->cls[k] == c) {
                fprintf(stderr, "%s: --classes: %s given twice\n", prog, name);
                return 0;
            }
        if (o->n_cls == 256) {
            fprintf(stderr, "%s: --classes: at most 256\n", prog);
            return 0;
        }
        o->cls[o->n_cls++] = c;
        if (!p[len])
            return 1;
        p += len + 1;
    }
}

int rt_sink_open(const char *out, const char *input, int level,
                 const rt_opts *o, fcn_map_sink *sink, int *georef, char *err,
                 size_t errlen)
{
    fcn_georef *geo = NULL;
    *georef = 0;
    if (input && !level && fcn_georef_read_tiff(input, &geo) != FCN_OK) {
        snprintf(err, errlen, "%s", fcn_last_error());
        return 0;
    }
    fcn_tiff_options to = {.classes = o->n_cls ? o->cls : NULL,
                           .n_classes = o->n_cls, .mode = o->mode,
                           .georef = geo};
    fcn_status st = fcn_tiff_sink_open(out, &to, sink);
    *georef = st == FCN_OK && geo;
    fcn_georef_free(geo);
    if (st != FCN_OK)
        snprintf(err, errlen, "%s", fcn_last_error());
    return st == FCN_OK;
}

int rt_write(const char *out, const char *input, int resized,
             const fcn_scores *sc, const rt_opts *o, int *georef, char *err,
             size_t errlen)
{
    fcn_map_sink k;
    size_t plane = (size_t)sc->out_h * sc->out_w;
    int rows = sc->out_h < BLOCK_ROWS ? sc->out_h : BLOCK_ROWS;
    float *b = malloc((size_t)sc->classes * rows * sc->out_w * sizeof *b);
    *georef = 0;
    if (!b) {
        snprintf(err, errlen, "out of memory for a block");
        return 0;
    }
    if (!rt_sink_open(out, resized ? NULL : input, 0, o, &k, georef, err,
                      errlen)) {
        free(b);
        return 0;
    }
    fcn_status st = k.begin(k.ud, sc->classes, sc->out_h, sc->out_w, &sc->geom);
    for (int r = 0; r < sc->out_h && st == FCN_OK; r += rows) {
        int h = sc->out_h - r < rows ? sc->out_h - r : rows;
        size_t n = (size_t)h * sc->out_w;
        for (int c = 0; c < sc->classes; c++)
            memcpy(b + c * n, sc->data + c * plane + (size_t)r * sc->out_w,
                   n * sizeof *b);
        st = k.put(k.ud, r, 0, h, sc->out_w, b);
    }
    free(b);
    if (st == FCN_OK)
        st = k.commit(k.ud);
    else
        k.abort(k.ud);
    if (st != FCN_OK) {
        *georef = 0;
        snprintf(err, errlen, "%s", fcn_last_error());
        return 0;
    }
    return 1;
}
