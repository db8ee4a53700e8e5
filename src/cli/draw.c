/*
** draw.c: boxes with labels, and a class's heat map with a legend, drawn
** on an RGB copy of the image for fcn-detect (text by stb_easy_font).
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-braces"
#include <stb_easy_font.h>
#pragma GCC diagnostic pop

#include "cli.h"
#include "draw.h"


static void fill_rect(rgb *im, long x0, long y0, long x1, long y1,
                      const unsigned char col[3])
{ /* [x0, x1) x [y0, y1), clipped */
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 > im->w) x1 = im->w;
    if (y1 > im->h) y1 = im->h;
    for (long y = y0; y < y1; y++)
        for (long x = x0; x < x1; x++)
            memcpy(im->px + ((size_t)y * im->w + x) * 3, col, 3);
}

static void frame_rect(rgb *im, long x0, long y0, long x1, long y1, int t,
                       const unsigned char col[3])
{
    fill_rect(im, x0, y0, x1, y0 + t, col);
    fill_rect(im, x0, y1 - t, x1, y1, col);
    fill_rect(im, x0, y0, x0 + t, y1, col);
    fill_rect(im, x1 - t, y0, x1, y1, col);
}

/* stb_easy_font text: printable ASCII only, up to 127 characters. */
static void clean_text(char *dst, const char *src, size_t n)
{
    size_t k = 0;
    for (; src[k] && k + 1 < n && k < 127; k++)
        dst[k] = src[k] >= 32 && src[k] < 127 ? src[k] : '?';
    dst[k] = 0;
}

static int text_width(const char *s, int scale)
{
    char t[128];
    clean_text(t, s, sizeof t);
    return stb_easy_font_width(t) * scale;
}

static void draw_text(rgb *im, long x, long y, int scale, const char *s,
                      const unsigned char col[3])
{
    static char vbuf[128 * 1024];
    char t[128];
    clean_text(t, s, sizeof t);
    int quads = stb_easy_font_print(0, 0, t, NULL, vbuf, sizeof vbuf);
    for (int q = 0; q < quads; q++) {
        const float *v0 = (const float *)(vbuf + q * 64);
        const float *v2 = (const float *)(vbuf + q * 64 + 32);
        fill_rect(im, x + lroundf(v0[0] * scale), y + lroundf(v0[1] * scale),
                  x + lroundf(v2[0] * scale), y + lroundf(v2[1] * scale), col);
    }
}

static const unsigned char palette[12][3] = {
    {230, 25, 75},  {60, 180, 75},  {255, 225, 25}, {0, 130, 200},
    {245, 130, 48}, {145, 30, 180}, {70, 240, 240}, {240, 50, 230},
    {210, 245, 60}, {250, 190, 190}, {0, 128, 128}, {230, 190, 255}};

int draw_to_rgb(const fcn_image *img, rgb *out)
{
    out->w = img->w;
    out->h = img->h;
    out->px = malloc((size_t)img->w * img->h * 3);
    if (!out->px)
        return 0;
    size_t n = (size_t)img->w * img->h;
    for (size_t p = 0; p < n; p++)
        for (int k = 0; k < 3; k++)
            out->px[p * 3 + k] = img->pixels[p * img->c + (img->c == 3 ? k : 0)];
    return 1;
}


void draw_boxes(rgb *im, const fcn_model *m, const fcn_detection *d,
                       size_t n)
{
    int t = im->w < im->h ? im->w / 500 : im->h / 500;
    if (t < 1)
        t = 1;
    /* worst first, so the best end up on top */
    for (size_t k = n; k-- > 0;) {
        const fcn_box *b = &d[k].box;
        const unsigned char *col = palette[d[k].cls % 12];
        long x0 = (long)floor(b->x), y0 = (long)floor(b->y);
        long x1 = (long)ceil(b->x + b->w), y1 = (long)ceil(b->y + b->h);
        frame_rect(im, x0, y0, x1, y1, t, col);
        char text[160], lb[32];
        snprintf(text, sizeof text, "%s %.2f",
                 cli_label(m, d[k].cls, lb, sizeof lb), d[k].score);
        int ts = (int)(b->h / 40);
        ts = ts < 1 ? 1 : ts > 4 ? 4 : ts;
        int tw = text_width(text, ts) + 2 * ts, th = 9 * ts;
        long ty = y0 - th >= 0 ? y0 - th : y0;
        long tx = x0 + tw > im->w ? im->w - tw : x0;
        tx = tx < 0 ? 0 : tx;
        fill_rect(im, tx, ty, tx + tw, ty + th, col);
        int lum = col[0] * 3 + col[1] * 6 + col[2];
        static const unsigned char black[3] = {0, 0, 0}, white[3] = {255, 255, 255};
        draw_text(im, tx + ts, ty + ts, ts, text, lum > 1300 ? black : white);
    }
}

/* viridis, 9 stops */
static const float viridis[9][3] = {
    {68, 1, 84},    {71, 44, 122},  {59, 81, 139},  {44, 113, 142},
    {33, 144, 141}, {39, 173, 129}, {92, 200, 99},  {170, 220, 50},
    {253, 231, 37}};

static void colormap(float v, float out[3])
{
    if (!(v > 0))
        v = 0;
    if (v > 1)
        v = 1;
    float f = v * 8;
    int a = (int)f;
    if (a > 7)
        a = 7;
    f -= a;
    for (int k = 0; k < 3; k++)
        out[k] = viridis[a][k] + (viridis[a + 1][k] - viridis[a][k]) * f;
}

void draw_heatmap(rgb *im, const float *heat, const char *label)
{
    const float alpha = 0.6f;
    size_t n = (size_t)im->w * im->h;
    for (size_t p = 0; p < n; p++) {
        unsigned char *q = im->px + p * 3;
        float g = (q[0] * 0.299f + q[1] * 0.587f + q[2] * 0.114f), c[3];
        colormap(heat[p], c);
        for (int k = 0; k < 3; k++)
            q[k] = (unsigned char)lrintf(g * (1 - alpha) + c[k] * alpha);
    }
    /* legend: label, colour bar, 0 and 1 under its ends */
    int s = (im->w < im->h ? im->w : im->h) / 400;
    s = s < 1 ? 1 : s;
    int pad = 3 * s, bw = im->w / 4;
    bw = bw < 64 ? 64 : bw > 400 * s ? 400 * s : bw;
    char title[160];
    snprintf(title, sizeof title, "%s score", label);
    int tw = text_width(title, s);
    int pw = (bw > tw ? bw : tw) + 2 * pad;
    int ph = pad + 8 * s + 2 * s + 10 * s + 2 * s + 8 * s + pad;
    long x0 = 4 * s, y0 = (long)im->h - ph - 4 * s;
    static const unsigned char dark[3] = {16, 16, 16}, white[3] = {255, 255, 255};
    fill_rect(im, x0, y0, x0 + pw, y0 + ph, dark);
    draw_text(im, x0 + pad, y0 + pad, s, title, white);
    long by = y0 + pad + 10 * s;
    for (int x = 0; x < bw; x++) {
        float c[3];
        colormap((float)x / (bw - 1), c);
        unsigned char cc[3] = {(unsigned char)lrintf(c[0]),
                               (unsigned char)lrintf(c[1]),
                               (unsigned char)lrintf(c[2])};
        fill_rect(im, x0 + pad + x, by, x0 + pad + x + 1, by + 10 * s, cc);
    }
    long ly = by + 12 * s;
    draw_text(im, x0 + pad, ly, s, "0", white);
    draw_text(im, x0 + pad + bw - text_width("1", s), ly, s, "1", white);
}
