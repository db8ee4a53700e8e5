/*
** draw.c: boxes with labels drawn on an RGB copy of the image for
** fcn-detect, and the drawing primitives heatmap.c shares (rectangles, text
** by stb_easy_font).
*/
#include <math.h>
#include <stdint.h>
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


void draw_fill_rect(rgb *im, long x0, long y0, long x1, long y1,
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
    draw_fill_rect(im, x0, y0, x1, y0 + t, col);
    draw_fill_rect(im, x0, y1 - t, x1, y1, col);
    draw_fill_rect(im, x0, y0, x0 + t, y1, col);
    draw_fill_rect(im, x1 - t, y0, x1, y1, col);
}

/* stb_easy_font text: printable ASCII only, up to 127 characters. */
static void clean_text(char *dst, const char *src, size_t n)
{
    size_t k = 0;
    for (; src[k] && k + 1 < n && k < 127; k++)
        dst[k] = src[k] >= 32 && src[k] < 127 ? src[k] : '?';
    dst[k] = 0;
}

int draw_text_width(const char *s, int scale)
{
    char t[128];
    clean_text(t, s, sizeof t);
    return stb_easy_font_width(t) * scale;
}

void draw_text(rgb *im, long x, long y, int scale, const char *s,
               const unsigned char col[3])
{
    static char vbuf[128 * 1024];
    char t[128];
    clean_text(t, s, sizeof t);
    int quads = stb_easy_font_print(0, 0, t, NULL, vbuf, sizeof vbuf);
    for (int q = 0; q < quads; q++) {
        const float *v0 = (const float *)(vbuf + q * 64);
        const float *v2 = (const float *)(vbuf + q * 64 + 32);
        draw_fill_rect(im, x + lroundf(v0[0] * scale),
                       y + lroundf(v0[1] * scale), x + lroundf(v2[0] * scale),
                       y + lroundf(v2[1] * scale), col);
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
        draw_pixel8(img, p, out->px + p * 3);
    return 1;
}

void draw_pixel8(const fcn_image *img, size_t p, unsigned char out[3])
{
    const uint16_t *p16 = (const uint16_t *)img->pixels;
    for (int k = 0; k < 3; k++) {
        size_t at = p * img->c + (img->c == 3 ? k : 0);
        /* 16-bit: to 8 bits, v * 255 / 65535 rounded */
        out[k] = img->depth == 16 ? (unsigned char)((p16[at] + 128) / 257)
                                  : img->pixels[at];
    }
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
        int tw = draw_text_width(text, ts) + 2 * ts, th = 9 * ts;
        long ty = y0 - th >= 0 ? y0 - th : y0;
        long tx = x0 + tw > im->w ? im->w - tw : x0;
        tx = tx < 0 ? 0 : tx;
        draw_fill_rect(im, tx, ty, tx + tw, ty + th, col);
        int lum = col[0] * 3 + col[1] * 6 + col[2];
        static const unsigned char black[3] = {0, 0, 0}, white[3] = {255, 255, 255};
        draw_text(im, tx + ts, ty + ts, ts, text, lum > 1300 ? black : white);
    }
}
