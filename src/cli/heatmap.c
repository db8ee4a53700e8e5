/*
** heatmap.c: a class's score map as a PNG: matplotlib's colour maps
** (heatmap_cmaps.c), a fixed or automatic value range, the map blended over
** the gray image, nearest cell by the session's geometry, and a legend bar
** (heatmap.h). The ASCII class map is heatmap_ascii.c.
*/
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <stb_image_write.h>

#include "cli.h"
#include "heatmap.h"
#include "heatmap_cmaps.h"

static const char *const cmap_names[HEAT_NCMAPS] = {"viridis", "magma",
                                                    "gray", "turbo"};

int heat_cmap_parse(const char *name)
{
    if (!name)
        return -1;
    for (int k = 0; k < HEAT_NCMAPS; k++)
        if (!strcmp(name, cmap_names[k]))
            return k;
    for (int k = 0; k < HEAT_NCMAPS; k++)
        if (!strcasecmp(name, cmap_names[k]))
            return k;
    return strcasecmp(name, "grey") ? -1 : HEAT_GRAY;
}

const char *heat_cmap_names(void)
{
    return "viridis, magma, gray, turbo";
}

void heat_cmap_rgb(int cmap, float t, unsigned char out[3])
{
    if (cmap < 0 || cmap >= HEAT_NCMAPS)
        cmap = HEAT_VIRIDIS;
    int i = t > 0 ? (t < 1 ? (int)(t * 256.0f) : 255) : 0;
    if (i > 255)
        i = 255;
    for (int k = 0; k < 3; k++)
        out[k] = (unsigned char)lrintf(heat_cmap_table[cmap][i][k] * 255.0f);
}

/* A finite float, the whole of s (no leading space). */
static int parse_float(const char *s, const char *end, float *out)
{
    char buf[64], *e;
    size_t n = (size_t)(end - s);
    if (n == 0 || n >= sizeof buf || isspace((unsigned char)s[0]))
        return 0;
    memcpy(buf, s, n);
    buf[n] = 0;
    errno = 0;
    double v = strtod(buf, &e);
    if (*e || !isfinite(v) || fabs(v) > FLT_MAX)
        return 0;
    *out = (float)v;
    return 1;
}

int heat_range_parse(const char *s, heat_range *r)
{
    if (!s)
        return 0;
    if (!strcmp(s, "auto")) {
        *r = (heat_range){1, 0.0f, 1.0f};
        return 1;
    }
    const char *c = strchr(s, ':');
    float lo, hi;
    if (!c || !parse_float(s, c, &lo) || !parse_float(c + 1, c + strlen(c), &hi)
        || !(lo < hi))
        return 0;
    *r = (heat_range){0, lo, hi};
    return 1;
}

void heat_range_resolve(heat_range *r, const float *v, size_t n)
{
    if (!r->automatic)
        return;
    float lo = INFINITY, hi = -INFINITY;
    for (size_t k = 0; k < n; k++)
        if (isfinite(v[k])) {
            lo = v[k] < lo ? v[k] : lo;
            hi = v[k] > hi ? v[k] : hi;
        }
    if (!(lo <= hi))
        lo = hi = 0.0f;
    if (!(lo < hi)) {
        hi = lo + 1.0f;
        if (!(lo < hi)) /* a huge value: lo + 1 rounds back to lo */
            hi = nextafterf(lo, INFINITY);
        if (!(lo < hi)) {  /* lo is FLT_MAX */
            hi = lo;
            lo = nextafterf(hi, -INFINITY);
        }
    }
    *r = (heat_range){0, lo, hi};
}

/* ---- the picture ---- */

#define MAX_PICTURE_PIXELS ((int64_t)1 << 28)

int heat_zoom(int w, int h)
{
    int z = 1;
    while ((w * (int64_t)z < 192 || h * (int64_t)z < 96) && z < 128 &&
           w * (int64_t)(z + 1) * h * (z + 1) <= ((int64_t)1 << 24))
        z++;
    return z;
}

void heat_legend_layout(int w, int h, const char *title, heat_legend *lg)
{
    int s = (w < h ? w : h) / 400;
    s = s < 1 ? 1 : s;
    int pad = 3 * s, margin = 4 * s;
    int bw = w / 4;
    bw = bw < 120 ? 120 : bw > 400 * s ? 400 * s : bw; /* room for lo, hi */
    if (bw > w - 2 * margin - 2 * pad)
        bw = w - 2 * margin - 2 * pad;
    bw = bw < 2 ? 2 : bw;
    int tw = draw_text_width(title ? title : "", s);
    int pw = (bw > tw ? bw : tw) + 2 * pad;
    if (pw > w - margin)
        pw = w - margin > bw + 2 * pad ? w - margin : bw + 2 * pad;
    int ph = 2 * pad + 30 * s;
    int y0 = h - ph - margin;
    lg->x = margin;
    lg->y = y0 < 0 ? 0 : y0;
    lg->w = pw;
    lg->h = ph;
    lg->bar_x = lg->x + pad;
    lg->bar_y = lg->y + pad + 10 * s;
    lg->bar_w = bw;
    lg->bar_h = 10 * s;
}

/* The colour of v in the range r (resolved). */
static void colour_of(int cmap, const heat_range *r, float v,
                      unsigned char out[3])
{
    double t = ((double)v - r->lo) / ((double)r->hi - r->lo);
    heat_cmap_rgb(cmap, isnan(t) ? 0.0f : (float)t, out);
}

static void draw_legend(rgb *im, int cmap, const heat_range *r,
                        const char *title)
{
    static const unsigned char dark[3] = {16, 16, 16},
                               white[3] = {255, 255, 255};
    heat_legend lg;
    heat_legend_layout(im->w, im->h, title, &lg);
    int s = lg.bar_h / 10;
    draw_fill_rect(im, lg.x, lg.y, lg.x + lg.w, lg.y + lg.h, dark);
    draw_text(im, lg.bar_x, lg.y + 3 * s, s, title ? title : "", white);
    for (int k = 0; k < lg.bar_w; k++) {
        unsigned char c[3];
        heat_cmap_rgb(cmap, (float)k / (float)(lg.bar_w - 1), c);
        draw_fill_rect(im, lg.bar_x + k, lg.bar_y, lg.bar_x + k + 1,
                       lg.bar_y + lg.bar_h, c);
    }
    char lo[32], hi[32];
    snprintf(lo, sizeof lo, "%.4g", r->lo);
    snprintf(hi, sizeof hi, "%.4g", r->hi);
    long ly = lg.bar_y + lg.bar_h + 2 * s;
    draw_text(im, lg.bar_x, ly, s, lo, white);
    draw_text(im, lg.bar_x + lg.bar_w - draw_text_width(hi, s), ly, s, hi,
              white);
}

void heat_draw(rgb *im, int blend, const float *v, size_t stride,
               const int *row, const int *col, int cmap, const heat_range *r,
               const char *title)
{
    const float alpha = 0.6f;
    for (int y = 0; y < im->h; y++) {
        const float *vr = v + (size_t)(row ? row[y] : y) * stride;
        unsigned char *q = im->px + (size_t)y * im->w * 3;
        for (int x = 0; x < im->w; x++, q += 3) {
            unsigned char c[3];
            colour_of(cmap, r, vr[col ? col[x] : x], c);
            if (!blend) {
                memcpy(q, c, 3);
                continue;
            }
            float g = q[0] * 0.299f + q[1] * 0.587f + q[2] * 0.114f;
            for (int k = 0; k < 3; k++)
                q[k] = (unsigned char)lrintf(g * (1 - alpha) + c[k] * alpha);
        }
    }
    draw_legend(im, cmap, r, title);
}

/* The cell whose window centre is nearest pixel p's centre (ties: the
** later), for n cells of stride s, offset off, window rf. */
static int nearest_cell(int p, int n, int s, int off, int rf)
{
    double d = ((p + 0.5) - off - rf / 2.0) / (s > 0 ? s : 1);
    double k = floor(d + 0.5);
    return k < 0 ? 0 : k > n - 1 ? n - 1 : (int)k;
}

static int fail(char *err, size_t errlen, const char *path, const char *why)
{
    snprintf(err, errlen, "%s: %s", path, why);
    return 0;
}

static void png_write_fn(void *f, void *data, int size)
{
    fwrite(data, 1, (size_t)size, f);
}

static int write_rgb_png(const char *path, const rgb *im, char *err,
                         size_t errlen)
{
    cli_file o;
    if (!cli_file_open(&o, path)) {
        snprintf(err, errlen, "%s", fcn_last_error());
        return 0;
    }
    if (!stbi_write_png_to_func(png_write_fn, o.f, im->w, im->h, 3, im->px,
                                im->w * 3)) {
        cli_file_abort(&o);
        return fail(err, errlen, path, "out of memory for the PNG");
    }
    /* the commit finds a failed fwrite of png_write_fn */
    if (!cli_file_commit(&o)) {
        snprintf(err, errlen, "%s", fcn_last_error());
        return 0;
    }
    return 1;
}

/* The picture of values v (stride per row) over img (w x h, or NULL),
** source pixel (x, y) showing v[row[y] * stride + col[x]]. */
static int render(const char *path, const fcn_image *img, int w, int h,
                  const float *v, size_t stride, const int *row,
                  const int *col, int cmap, const heat_range *r,
                  const char *title, char *err, size_t errlen)
{
    int z = heat_zoom(w, h);
    int64_t W = (int64_t)w * z, H = (int64_t)h * z;
    if (W * H > MAX_PICTURE_PIXELS)
        return fail(err, errlen, path, "heat map too large for a picture");
    rgb im = {(int)W, (int)H, malloc((size_t)(W * H * 3))};
    int *zr = malloc(sizeof(int) * (size_t)H);
    int *zc = malloc(sizeof(int) * (size_t)W);
    int ok = 0;
    if (!im.px || !zr || !zc) {
        fail(err, errlen, path, "out of memory for the heat map");
        goto done;
    }
    for (int64_t y = 0; y < H; y++)
        zr[y] = row ? row[y / z] : (int)(y / z);
    for (int64_t x = 0; x < W; x++)
        zc[x] = col ? col[x / z] : (int)(x / z);
    if (img)
        for (int64_t y = 0; y < H; y++)
            for (int64_t x = 0; x < W; x++)
                draw_pixel8(img, (size_t)(y / z) * img->w + (size_t)(x / z),
                            im.px + ((size_t)y * W + x) * 3);
    heat_draw(&im, img != NULL, v, stride, zr, zc, cmap, r, title);
    ok = write_rgb_png(path, &im, err, errlen);
done:
    free(im.px);
    free(zr);
    free(zc);
    return ok;
}

static int check_args(const char *path, const fcn_image *img, int cmap,
                      const heat_range *r, char *err, size_t errlen)
{
    if (cmap < 0 || cmap >= HEAT_NCMAPS)
        return fail(err, errlen, path, "unknown colour map");
    if (!r->automatic && !(r->lo < r->hi && isfinite(r->lo) &&
                           isfinite(r->hi)))
        return fail(err, errlen, path, "the range needs finite lo < hi");
    if (img && (!img->pixels || img->w < 1 || img->h < 1 ||
                (img->c != 1 && img->c != 3) ||
                (img->depth != 0 && img->depth != 8 && img->depth != 16)))
        return fail(err, errlen, path, "no image to draw the heat map on");
    return 1;
}

int heat_write_plane_png(const char *path, const fcn_image *img,
                         const float *heat, int w, int h, int cmap,
                         const heat_range *r, const char *title, char *err,
                         size_t errlen)
{
    if (!check_args(path, img, cmap, r, err, errlen))
        return 0;
    if (!heat || w < 1 || h < 1 || (img && (img->w != w || img->h != h)))
        return fail(err, errlen, path, "heat map and image differ in size");
    heat_range rr = *r;
    heat_range_resolve(&rr, heat, (size_t)w * h);
    return render(path, img, w, h, heat, (size_t)w, NULL, NULL, cmap, &rr,
                  title, err, errlen);
}

/* The input size the geometry implies for an n-cell axis. */
static int64_t implied_size(int n, int s, int off, int rf)
{
    int64_t v = (int64_t)(n - 1) * s + rf + 2 * (int64_t)off;
    return v >= 1 ? v : (int64_t)n * (s > 0 ? s : 1);
}

int heat_write_png(const char *path, const fcn_image *img,
                   const fcn_scores *sc, int cls, int cmap,
                   const heat_range *r, const char *title, char *err,
                   size_t errlen)
{
    if (!check_args(path, img, cmap, r, err, errlen))
        return 0;
    if (!sc || !sc->data || sc->out_h < 1 || sc->out_w < 1 || cls < 0 ||
        cls >= sc->classes)
        return fail(err, errlen, path, "no such class in the score map");
    const fcn_geometry *g = &sc->geom;
    int64_t w = img ? img->w
                    : implied_size(sc->out_w, g->stride_w, g->offset_w, g->rf_w);
    int64_t h = img ? img->h
                    : implied_size(sc->out_h, g->stride_h, g->offset_h, g->rf_h);
    if (w > 65536 || h > 65536 || w * h > MAX_PICTURE_PIXELS)
        return fail(err, errlen, path, "heat map too large for a picture");
    const size_t cells = (size_t)sc->out_h * sc->out_w;
    const float *plane = sc->data + (size_t)cls * cells;
    heat_range rr = *r;
    heat_range_resolve(&rr, plane, cells);
    int *row = malloc(sizeof(int) * (size_t)h);
    int *col = malloc(sizeof(int) * (size_t)w);
    int ok = 0;
    if (!row || !col) {
        fail(err, errlen, path, "out of memory for the heat map");
    } else {
        for (int y = 0; y < h; y++)
            row[y] = nearest_cell(y, sc->out_h, g->stride_h, g->offset_h,
                                  g->rf_h);
        for (int x = 0; x < w; x++)
            col[x] = nearest_cell(x, sc->out_w, g->stride_w, g->offset_w,
                                  g->rf_w);
        ok = render(path, img, (int)w, (int)h, plane, (size_t)sc->out_w, row,
                    col, cmap, &rr, title, err, errlen);
    }
    free(row);
    free(col);
    return ok;
}
