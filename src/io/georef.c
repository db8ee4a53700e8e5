/*
** georef.c: GeoTIFF georeference read from an input and written to a score
** map (fcn_tiff.h): the six-coefficient affine and the geo keys, through
** libtiff with its messages kept (never printed).
*/
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "io/tiffmap.h"
#include "util/err.h"
#include "util/mem.h"

enum {
    TAG_PIXELSCALE = 33550, TAG_TIEPOINT = 33922, TAG_TRANSFORM = 34264,
    TAG_KEYS = 34735, TAG_DOUBLES = 34736, TAG_ASCII = 34737,
    KEY_RASTERTYPE = 1025, KEY_GEOGRAPHIC = 2048, KEY_PROJECTED = 3072
};

/* libgeotiff's definitions (xtiff.c), so that libtiff writes them. */
static const TIFFFieldInfo geo_fields[] = {
    {TAG_PIXELSCALE, -1, -1, TIFF_DOUBLE, FIELD_CUSTOM, 1, 1,
     "ModelPixelScaleTag"},
    {TAG_TIEPOINT, -1, -1, TIFF_DOUBLE, FIELD_CUSTOM, 1, 1,
     "ModelTiepointTag"},
    {TAG_TRANSFORM, -1, -1, TIFF_DOUBLE, FIELD_CUSTOM, 1, 1,
     "ModelTransformationTag"},
    {TAG_KEYS, -1, -1, TIFF_SHORT, FIELD_CUSTOM, 1, 1,
     "GeoKeyDirectoryTag"},
    {TAG_DOUBLES, -1, -1, TIFF_DOUBLE, FIELD_CUSTOM, 1, 1,
     "GeoDoubleParamsTag"},
    {TAG_ASCII, -1, -1, TIFF_ASCII, FIELD_CUSTOM, 1, 0,
     "GeoASCIIParamsTag"},
};

static int keep_msg(TIFF *t, void *ud, const char *module, const char *fmt,
                    va_list ap)
{
    (void)t;
    (void)module;
    tiffm_msg *m = ud;
    if (m && !m->text[0])
        vsnprintf(m->text, sizeof m->text, fmt, ap);
    return 1;  /* handled: libtiff's global handler does not print */
}

static int drop_msg(TIFF *t, void *ud, const char *module, const char *fmt,
                    va_list ap)
{
    (void)t, (void)ud, (void)module, (void)fmt, (void)ap;
    return 1;  /* warnings (unknown tags of an input) are not errors */
}

static TIFFOpenOptions *options(tiffm_msg *msg)
{
    msg->text[0] = 0;
    TIFFOpenOptions *o = TIFFOpenOptionsAlloc();
    if (!o)
        return NULL;
    TIFFOpenOptionsSetErrorHandlerExtR(o, keep_msg, msg);
    TIFFOpenOptionsSetWarningHandlerExtR(o, drop_msg, NULL);
    return o;
}

TIFF *tiffm_fdopen(int fd, const char *name, const char *mode, tiffm_msg *msg)
{
    TIFFOpenOptions *o = options(msg);
    if (!o)
        return NULL;
    TIFF *t = TIFFFdOpenExt(fd, name, mode, o);
    TIFFOpenOptionsFree(o);
    return t;
}

TIFF *tiffm_open(const char *path, const char *mode, tiffm_msg *msg)
{
    TIFFOpenOptions *o = options(msg);
    if (!o)
        return NULL;
    TIFF *t = TIFFOpenExt(path, mode, o);
    TIFFOpenOptionsFree(o);
    return t;
}

/* A tag's array (any count convention libtiff gave it); 0 if absent. */
static int get_array(TIFF *t, uint32_t tag, const void **data, uint32_t *n)
{
    const TIFFField *f = TIFFFindField(t, tag, TIFF_ANY);
    if (!f || !TIFFFieldPassCount(f)) {
        const char *s = NULL;
        if (!f || !TIFFGetField(t, tag, &s) || !s)
            return 0;
        *data = s;
        *n = (uint32_t)strlen(s) + 1;
        return 1;
    }
    void *p = NULL;
    if (TIFFFieldReadCount(f) == TIFF_VARIABLE2) {
        uint32_t c = 0;
        if (!TIFFGetField(t, tag, &c, &p))
            return 0;
        *n = c;
    } else {
        uint16_t c = 0;
        if (!TIFFGetField(t, tag, &c, &p))
            return 0;
        *n = c;
    }
    *data = p;
    return p != NULL && *n > 0;
}

/* A key's inline value (location 0); -1 if absent. */
static int key_value(const uint16_t *k, int n, int id)
{
    for (int i = 4; i + 3 < n; i += 4)
        if (k[i] == id && k[i + 1] == 0)
            return k[i + 3];
    return -1;
}

static int is_tiff(const char *path, fcn_status *st)
{
    unsigned char h[4];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *st = err_set(FCN_ERR_IO, "%s: %s", path, strerror(errno));
        return 0;
    }
    ssize_t n = read(fd, h, 4);
    close(fd);
    *st = FCN_OK;
    return n == 4 && ((h[0] == 'I' && h[1] == 'I' && (h[2] == 42 ||
            h[2] == 43) && h[3] == 0) || (h[0] == 'M' && h[1] == 'M' &&
            h[2] == 0 && (h[3] == 42 || h[3] == 43)));
}

fcn_status fcn_georef_read_tiff(const char *path, fcn_georef **out)
{
    if (!path || !out)
        return err_set(FCN_ERR_ARG, "fcn_georef_read_tiff: NULL argument");
    *out = NULL;
    fcn_status st;
    if (!is_tiff(path, &st))
        return st;
    tiffm_msg msg;
    TIFF *t = tiffm_open(path, "r", &msg);
    if (!t)
        return err_set(FCN_ERR_FORMAT, "%s: %s", path,
                       msg.text[0] ? msg.text : "not a readable TIFF");
    fcn_georef g = {{0}, NULL, 0, NULL, 0, NULL, 0};
    const double *m = NULL, *tp = NULL, *sc = NULL;
    uint32_t nm = 0, ntp = 0, nsc = 0, nk = 0, nd = 0, na = 0;
    const void *k = NULL, *d = NULL, *a = NULL;
    int have = 0;
    if (get_array(t, TAG_TRANSFORM, (const void **)&m, &nm) && nm >= 16) {
        double aff[6] = {m[3], m[0], m[1], m[7], m[4], m[5]};
        memcpy(g.affine, aff, sizeof aff);
        have = 1;
    } else if (get_array(t, TAG_TIEPOINT, (const void **)&tp, &ntp) &&
               ntp >= 6 && get_array(t, TAG_PIXELSCALE,
               (const void **)&sc, &nsc) && nsc >= 2) {
        double aff[6] = {tp[3] - tp[0] * sc[0], sc[0], 0,
                         tp[4] + tp[1] * sc[1], 0, -sc[1]};
        memcpy(g.affine, aff, sizeof aff);
        have = 1;
    }
    if (have && get_array(t, TAG_KEYS, &k, &nk) && nk >= 4) {
        g.keys = k;
        g.n_keys = (int)(nk - nk % 4);
        if (get_array(t, TAG_DOUBLES, &d, &nd)) {
            g.doubles = d;
            g.n_doubles = (int)nd;
        }
        if (get_array(t, TAG_ASCII, &a, &na))
            g.ascii = a;
        if (key_value(g.keys, g.n_keys, KEY_RASTERTYPE) == 2) {
            /* PixelIsPoint: the tiepoint is the pixel's centre */
            g.affine[0] -= 0.5 * (g.affine[1] + g.affine[2]);
            g.affine[3] -= 0.5 * (g.affine[4] + g.affine[5]);
        }
        int e = key_value(g.keys, g.n_keys, KEY_PROJECTED);
        if (e <= 0 || e == 32767)
            e = key_value(g.keys, g.n_keys, KEY_GEOGRAPHIC);
        g.epsg = e > 0 && e != 32767 ? e : 0;
    }
    if (have) {
        *out = tiffm_georef_copy(&g);
        st = *out ? FCN_OK : err_set(FCN_ERR_NOMEM,
                                     "%s: out of memory for its georeference",
                                     path);
    }
    TIFFClose(t);
    return st;
}

void fcn_georef_free(fcn_georef *g)
{
    mem_free(g);
}

fcn_georef *tiffm_georef_copy(const fcn_georef *g)
{
    size_t nk = g->keys && g->n_keys > 0 ? (size_t)g->n_keys : 0;
    size_t nd = g->doubles && g->n_doubles > 0 ? (size_t)g->n_doubles : 0;
    size_t na = g->ascii ? strlen(g->ascii) + 1 : 0;
    size_t off_d = sizeof *g, off_k = off_d + nd * sizeof(double);
    size_t off_a = off_k + nk * sizeof(uint16_t);
    char *p = mem_alloc(off_a + na);
    if (!p)
        return NULL;
    fcn_georef *c = (fcn_georef *)p;
    *c = *g;
    c->doubles = nd ? memcpy(p + off_d, g->doubles, nd * sizeof(double))
                    : NULL;
    uint16_t *k = nk ? memcpy(p + off_k, g->keys, nk * sizeof(uint16_t))
                     : NULL;
    for (size_t i = 4; i + 3 < nk; i += 4)
        if (k[i] == KEY_RASTERTYPE && k[i + 1] == 0)
            k[i + 3] = 1;  /* PixelIsArea, as the affine is */
    c->keys = k;
    c->ascii = na ? memcpy(p + off_a, g->ascii, na) : NULL;
    c->n_keys = (int)nk;
    c->n_doubles = (int)nd;
    return c;
}

void fcn_georef_map(const double in[6], const fcn_geometry *g,
                    double out[6])
{
    double ox = g->offset_w + (g->rf_w - g->stride_w) / 2.0;
    double oy = g->offset_h + (g->rf_h - g->stride_h) / 2.0;
    double r[6] = {in[0] + in[1] * ox + in[2] * oy, in[1] * g->stride_w,
                   in[2] * g->stride_h, in[3] + in[4] * ox + in[5] * oy,
                   in[4] * g->stride_w, in[5] * g->stride_h};
    memcpy(out, r, sizeof r);
}

int tiffm_write_geo(TIFF *t, const fcn_georef *g, const double a[6])
{
    if (TIFFMergeFieldInfo(t, geo_fields,
                           sizeof geo_fields / sizeof geo_fields[0]))
        return 0;
    int ok;
    if (a[2] == 0 && a[4] == 0) {
        double scale[3] = {a[1], -a[5], 0};
        double tie[6] = {0, 0, 0, a[0], a[3], 0};
        ok = TIFFSetField(t, TAG_PIXELSCALE, 3, scale) &&
             TIFFSetField(t, TAG_TIEPOINT, 6, tie);
    } else {
        double m[16] = {a[1], a[2], 0, a[0], a[4], a[5], 0, a[3],
                        0, 0, 0, 0, 0, 0, 0, 1};
        ok = TIFFSetField(t, TAG_TRANSFORM, 16, m);
    }
    if (ok && g->keys && g->n_keys >= 4 && g->n_keys <= 65535)
        ok = TIFFSetField(t, TAG_KEYS, g->n_keys, g->keys);
    if (ok && g->doubles && g->n_doubles > 0 && g->n_doubles <= 65535)
        ok = TIFFSetField(t, TAG_DOUBLES, g->n_doubles, g->doubles);
    if (ok && g->ascii)
        ok = TIFFSetField(t, TAG_ASCII, g->ascii);
    return ok;
}
