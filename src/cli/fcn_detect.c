/*
** fcn-detect: object detection with a classifier converted to a fully
** convolutional network. The image is resized to every scale of a pyramid,
** each level gives a score map, every cell whose score passes the threshold
** becomes a box in the image's pixels (the map's geometry divided by the
** level's scale), and greedy per-class non-maximum suppression across the
** scales keeps the best. Prints JSON; draws boxes or a class's heat map.
** See docs/detect.md.
*/
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stb_image_write.h>
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-braces"
#include <stb_easy_font.h>
#pragma GCC diagnostic pop

#include "cli_util.h"
#include "fcn.h"
#include "fcn_detect.h"

#define MAX_SCALES 64
#define DEFAULT_THRESHOLD 0.9
#define DEFAULT_IOU 0.3
#define DEFAULT_SCALES "0.9,0.75,0.6" /* tuned: docs/detect.md */
#define DEFAULT_MIN_SCALE 0.55
#define DEFAULT_MAX_SCALE 0.9
#define DEFAULT_SCALE_STEP 0.8

static const char *usage =
    "usage: fcn-detect MODEL IMAGE... [options]\n"
    "  IMAGE             PNG, JPEG, BMP, ... (several: processed in turn, the\n"
    "                    model loaded once; an unreadable one is reported and\n"
    "                    skipped, and the exit status is 1)\n"
    "  --list FILE       more images, one path per line ('#' comments)\n"
    "  --scales A,B,...  pyramid scales (default 0.9,0.75,0.6)\n"
    "  --max-scale S     or a pyramid from S (default 0.9) ...\n"
    "  --scale-step F    ... times F per level (default 0.8) ...\n"
    "  --min-scale S     ... down to S (default 0.55)\n"
    "  --threshold T     a cell's score for a class must be >= T (default 0.9)\n"
    "  --classes A,B     class labels (or indices) to detect (default: all but\n"
    "                    the one labelled \"background\")\n"
    "  --iou T           suppress a box overlapping a better one of its class\n"
    "                    with IoU > T, across scales (default 0.3)\n"
    "  --max-detections N  keep the N best per image (default: all)\n"
    "  --json FILE       write the JSON there instead of stdout\n"
    "  --draw OUT        the image with boxes and labels, as PNG\n"
    "  --heatmap LABEL OUT  the class's score map over the image, as PNG\n"
    "                    (OUT: a .png file; with several images a directory,\n"
    "                    giving DIR/NAME.png or DIR/NAME-heatmap.png, or a\n"
    "                    pattern where {} is the image's name without extension)\n"
    "  --threads N       threads (default: all cores)\n"
    "  --mem-limit N     bytes for activations per level (K, M, G; default\n"
    "                    512M); larger levels run on tiles, equal results\n"
    "  --quiet           no progress on stderr (shown only on a terminal)\n"
    "  -h, --help        this text\n";

/* ---- messages ---- */

static int progress_on, progress_open;

static void errline(const char *fmt, ...)
{
    if (progress_open) {
        fputc('\n', stderr);
        progress_open = 0;
    }
    va_list ap;
    va_start(ap, fmt);
    fputs("fcn-detect: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void progress(int newline, const char *fmt, ...)
{
    if (!progress_on)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("\rfcn-detect: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\033[K", stderr);
    if (newline)
        fputc('\n', stderr);
    progress_open = !newline;
    fflush(stderr);
    va_end(ap);
}

static int fail(const char *msg)
{
    errline("%s", msg);
    return 1;
}

/* ---- a growing string, for JSON ---- */

typedef struct sbuf {
    char *s;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->n;
        int k = vsnprintf(b->s ? b->s + b->n : NULL, room, fmt, ap);
        va_end(ap);
        if (k < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t)k < room) {
            b->n += (size_t)k;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->n + (size_t)k + 1)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = 1;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

static void sb_str(sbuf *b, const char *s)
{
    sb_add(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            sb_add(b, "\\%c", *p);
        else if (*p < 0x20)
            sb_add(b, "\\u%04x", *p);
        else
            sb_add(b, "%c", *p);
    }
    sb_add(b, "\"");
}

/* ---- files written whole or not at all ---- */

static int tmp_name(char *buf, size_t n, const char *path)
{
    return snprintf(buf, n, "%s.tmp.%ld", path, (long)getpid()) < (int)n;
}

static void png_write_fn(void *ctx, void *data, int size)
{
    fwrite(data, 1, (size_t)size, (FILE *)ctx);
}

static int write_png(const char *path, int w, int h, int c,
                     const unsigned char *px)
{
    char tmp[PATH_MAX + 32];
    if (!tmp_name(tmp, sizeof tmp, path)) {
        errline("%s: path too long", path);
        return 0;
    }
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        errline("cannot write %s: %s", path, strerror(errno));
        return 0;
    }
    int ok = stbi_write_png_to_func(png_write_fn, f, w, h, c, px, w * c);
    ok = ok && !ferror(f);
    ok = !fclose(f) && ok;
    if (!ok || rename(tmp, path)) {
        errline("cannot write %s: %s", path, ok ? strerror(errno)
                                                 : "write failed");
        unlink(tmp);
        return 0;
    }
    return 1;
}

/* ---- drawing ---- */

typedef struct rgb {
    int w, h;
    unsigned char *px; /* h x w x 3 */
} rgb;

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

static int to_rgb(const fcn_image *img, rgb *out)
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


static void draw_boxes(rgb *im, const fcn_model *m, const fcn_detection *d,
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
                 class_label(m, d[k].cls, lb, sizeof lb), d[k].score);
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

static void draw_heatmap(rgb *im, const float *heat, const char *label)
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

/* ---- output names for --draw / --heatmap ---- */

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The image's file name without directory and extension. */
static void stem(const char *path, char *out, size_t n)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    snprintf(out, n, "%s", b);
    char *dot = strrchr(out, '.');
    if (dot && dot != out)
        *dot = 0;
}

static int out_name(const char *spec, const char *image, const char *suffix,
                    char *out, size_t n)
{
    char st[PATH_MAX];
    stem(image, st, sizeof st);
    const char *brace = strstr(spec, "{}");
    int k;
    if (brace)
        k = snprintf(out, n, "%.*s%s%s", (int)(brace - spec), spec, st,
                     brace + 2);
    else if (is_dir(spec))
        k = snprintf(out, n, "%s/%s%s.png", spec, st, suffix);
    else
        k = snprintf(out, n, "%s", spec);
    return k > 0 && (size_t)k < n;
}

/* ---- the run ---- */

typedef struct ctx {
    const char *model_path;
    fcn_model *m;
    fcn_model_info info;
    unsigned char *class_on;
    double scales[MAX_SCALES];
    int n_scales;
    double threshold, iou;
    long max_det;
    int threads;
    size_t mem_limit;
    const char *draw, *heat_spec;
    int heat_cls;
    FILE *out;
    int list_mode, n_written;
} ctx;

typedef struct level_rec {
    fcn_level lv;
    const char *skipped;
    fcn_scores shape;
    fcn_padding pad;
    int tile_h, tile_w, tiles;
    size_t candidates;
    double seconds;
} level_rec;

static void json_image(sbuf *b, ctx *c, const char *path, const fcn_image *img,
                       const level_rec *lr, int nl, const fcn_detection *d,
                       size_t nd, double seconds)
{
    char lb[32];
    sb_add(b, "{\"image\": ");
    sb_str(b, path);
    sb_add(b, ", \"width\": %d, \"height\": %d, \"model\": ", img->w, img->h);
    sb_str(b, c->model_path);
    sb_add(b, ",\n \"threshold\": %.6g, \"iou\": %.6g, \"classes\": [",
           c->threshold, c->iou);
    for (int k = 0, first = 1; k < c->info.classes; k++)
        if (c->class_on[k]) {
            sb_add(b, first ? "" : ", ");
            sb_str(b, class_label(c->m, k, lb, sizeof lb));
            first = 0;
        }
    sb_add(b, "], \"seconds\": %.3f,\n \"scales\": [", seconds);
    for (int k = 0; k < nl; k++) {
        const level_rec *r = &lr[k];
        const fcn_geometry *g = &r->shape.geom;
        sb_add(b, "%s\n  {\"scale\": %.6g, \"scale_x\": %.8g, \"scale_y\": "
               "%.8g, \"width\": %d, \"height\": %d", k ? "," : "",
               r->lv.scale, r->lv.scale_x, r->lv.scale_y, r->lv.width,
               r->lv.height);
        if (r->skipped) {
            sb_add(b, ", \"skipped\": ");
            sb_str(b, r->skipped);
            sb_add(b, "}");
            continue;
        }
        sb_add(b, ", \"stride\": [%d, %d], \"offset\": [%d, %d], "
               "\"receptive_field\": [%d, %d], \"score_map\": [%d, %d],\n"
               "   \"padded_cells\": {\"count\": %lld, \"rows_top\": %d, "
               "\"rows_bottom\": %d, \"cols_left\": %d, \"cols_right\": %d}, "
               "\"tiles\": %d, \"candidates\": %zu, \"seconds\": %.3f}",
               g->stride_h, g->stride_w, g->offset_h, g->offset_w, g->rf_h,
               g->rf_w, r->shape.out_h, r->shape.out_w, r->pad.cells,
               r->pad.top, r->pad.bottom, r->pad.left, r->pad.right, r->tiles,
               r->candidates, r->seconds);
    }
    sb_add(b, "],\n \"detections\": [");
    for (size_t k = 0; k < nd; k++) {
        sb_add(b, "%s\n  {\"label\": ", k ? "," : "");
        sb_str(b, class_label(c->m, d[k].cls, lb, sizeof lb));
        sb_add(b, ", \"class\": %d, \"score\": %.6g, \"box\": [%.8g, %.8g, "
               "%.8g, %.8g], \"scale\": %.6g, \"cell\": [%d, %d], "
               "\"padded\": %s}", d[k].cls, d[k].score, d[k].box.x,
               d[k].box.y, d[k].box.w, d[k].box.h, d[k].scale, d[k].cell_i,
               d[k].cell_j, d[k].padded ? "true" : "false");
    }
    sb_add(b, "%s]}", nd ? "\n " : "");
}

/* Detect on one image; 0 when it worked. */
static int detect_image(ctx *c, const char *path, int idx, int count)
{
    fcn_image img = {0};
    level_rec lr[MAX_SCALES];
    fcn_detections dets = {0};
    float *heat = NULL;
    int heat_set = 0, rc = 1;
    sbuf js = {0};
    double t0 = omp_get_wtime();
    char name[64]; /* for progress: the path's last 48 characters */
    size_t pl = strlen(path);
    snprintf(name, sizeof name, "%s%s", pl > 48 ? "..." : "",
             pl > 48 ? path + pl - 48 : path);

    if (fcn_image_decode(c->m, path, 0, 0, &img) != FCN_OK)
        return fail(fcn_last_error());
    double work = 0, done = 0;
    int runnable = 0;
    for (int k = 0; k < c->n_scales; k++) {
        memset(&lr[k], 0, sizeof lr[k]);
        if (fcn_level_make(img.w, img.h, c->scales[k], &lr[k].lv) != FCN_OK) {
            lr[k].skipped = "larger than 65536 pixels a side";
            lr[k].lv.scale = c->scales[k];
            continue;
        }
        if (lr[k].lv.width < c->info.min_w || lr[k].lv.height < c->info.min_h) {
            lr[k].skipped = "smaller than the network's smallest input";
            continue;
        }
        runnable++;
        work += (double)lr[k].lv.width * lr[k].lv.height;
    }
    if (!runnable) {
        errline("%s: %dx%d is smaller than the network's smallest input "
                "(%dx%d) at every scale", path, img.w, img.h, c->info.min_w,
                c->info.min_h);
        goto done;
    }
    if (c->heat_spec) {
        heat = malloc(sizeof *heat * (size_t)img.w * img.h);
        if (!heat) {
            errline("%s: out of memory for the heat map", path);
            goto done;
        }
    }
    for (int k = 0, lvl = 0; k < c->n_scales; k++) {
        level_rec *r = &lr[k];
        if (r->skipped)
            continue;
        lvl++;
        progress(0, "[%d/%d] %s: scale %d/%d (%.3g, %dx%d) running, %.1f s "
                 "elapsed", idx + 1, count, name, lvl, runnable, r->lv.scale,
                 r->lv.width, r->lv.height, omp_get_wtime() - t0);
        double tl = omp_get_wtime();
        fcn_image limg = {0};
        if (r->lv.width == img.w && r->lv.height == img.h) {
            limg = img;
        } else if (fcn_image_resize(c->m, &img, r->lv.height, r->lv.width,
                                    &limg) != FCN_OK) {
            errline("%s: %s", path, fcn_last_error());
            goto done;
        }
        fcn_session_options so = {c->threads, c->mem_limit, 0};
        fcn_session *s = NULL;
        fcn_scores sc;
        size_t before = dets.n;
        fcn_status st = fcn_session_create(c->m, limg.h, limg.w, &so, &s);
        if (!st)
            st = fcn_session_run_image(s, &limg, &sc);
        if (!st)
            st = fcn_detect_cells(&sc, &r->lv, k, (float)c->threshold,
                                  c->class_on, &dets);
        if (!st && heat) {
            st = fcn_score_plane_sample(
                sc.data + (size_t)c->heat_cls * sc.out_h * sc.out_w,
                sc.out_h, sc.out_w, &sc.geom, &r->lv, heat, heat_set);
            heat_set = 1;
        }
        if (!st) {
            r->shape = sc;
            r->shape.data = NULL;
            fcn_score_map_padding(&sc.geom, sc.out_h, sc.out_w, limg.h,
                                  limg.w, &r->pad);
            fcn_session_tiles(s, &r->tile_h, &r->tile_w, &r->tiles);
            r->candidates = dets.n - before;
        }
        fcn_session_free(s);
        if (limg.pixels != img.pixels)
            fcn_image_free(&limg);
        if (st) {
            errline("%s: scale %g: %s", path, r->lv.scale, fcn_last_error());
            goto done;
        }
        r->seconds = omp_get_wtime() - tl;
        done += (double)r->lv.width * r->lv.height;
        double el = omp_get_wtime() - t0;
        progress(0, "[%d/%d] %s: scale %d/%d done, %.1f s elapsed, ~%.1f s "
                 "left", idx + 1, count, name, lvl, runnable, el,
                 el / done * (work - done));
    }
    size_t kept;
    if (fcn_nms(dets.d, dets.n, c->iou, (size_t)c->max_det, &kept) != FCN_OK) {
        errline("%s: %s", path, fcn_last_error());
        goto done;
    }
    double seconds = omp_get_wtime() - t0;
    json_image(&js, c, path, &img, lr, c->n_scales, dets.d, kept, seconds);
    if (js.oom) {
        errline("%s: out of memory for the JSON", path);
        goto done;
    }
    if (c->list_mode)
        fputs(c->n_written ? ",\n" : "[\n", c->out);
    fwrite(js.s, 1, js.n, c->out);
    if (!c->list_mode)
        fputc('\n', c->out);
    c->n_written++;
    rc = 0;

    char fn[PATH_MAX], lb[32];
    for (int pass = 0; pass < 2; pass++) { /* 0: --draw, 1: --heatmap */
        const char *spec = pass ? (heat ? c->heat_spec : NULL) : c->draw;
        if (!spec)
            continue;
        rgb im = {0};
        if (!out_name(spec, path, pass ? "-heatmap" : "", fn, sizeof fn)) {
            errline("%s: %s name too long", path, pass ? "--heatmap" : "--draw");
            rc = 1;
            continue;
        }
        if (!to_rgb(&img, &im)) {
            errline("%s: out of memory for drawing", path);
            rc = 1;
            continue;
        }
        if (pass)
            draw_heatmap(&im, heat, class_label(c->m, c->heat_cls, lb, sizeof lb));
        else
            draw_boxes(&im, c->m, dets.d, kept);
        if (!write_png(fn, im.w, im.h, 3, im.px))
            rc = 1;
        free(im.px);
    }
    progress(1, "[%d/%d] %s: %zu detection%s, %d scale%s, %.1f s", idx + 1,
             count, name, kept, kept == 1 ? "" : "s", runnable,
             runnable == 1 ? "" : "s", omp_get_wtime() - t0);
done:
    free(js.s);
    free(heat);
    fcn_detections_free(&dets);
    fcn_image_free(&img);
    return rc;
}

/* ---- arguments ---- */

static int find_class(const fcn_model *m, int classes, const char *name)
{
    char lb[32];
    for (int k = 0; k < classes; k++)
        if (!strcmp(class_label(m, k, lb, sizeof lb), name))
            return k;
    for (int k = 0; k < classes; k++)
        if (!strcasecmp(class_label(m, k, lb, sizeof lb), name))
            return k;
    long v;
    if (parse_int(name, 0, classes - 1, &v))
        return (int)v;
    return -1;
}

static void unknown_class(const fcn_model *m, int classes, const char *opt,
                          const char *name)
{
    sbuf b = {0};
    char lb[32];
    for (int k = 0; k < classes; k++) {
        sb_add(&b, "%s", k ? ", " : "");
        sb_str(&b, class_label(m, k, lb, sizeof lb));
    }
    errline("%s: the model has no class '%s' (classes: %s)", opt, name,
            b.oom || !b.s ? "?" : b.s);
    free(b.s);
}

static int parse_scales(const char *s, double *out, int *n)
{
    *n = 0;
    const char *p = s;
    for (;;) {
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (errno || end == p || !(v > 0 && v <= 64) || *n == MAX_SCALES)
            return 0;
        out[(*n)++] = v;
        if (*end == 0)
            return 1;
        if (*end != ',')
            return 0;
        p = end + 1;
    }
}

/* Append the paths listed in a file to *list; 0 (after a message) on error. */
static int read_list(const char *path, char ***list, int *n, int *cap)
{
    FILE *f = !strcmp(path, "-") ? stdin : fopen(path, "r");
    if (!f) {
        errline("--list %s: %s", path, strerror(errno));
        return 0;
    }
    char *line = NULL;
    size_t ln = 0;
    ssize_t k;
    while ((k = getline(&line, &ln, f)) >= 0) {
        while (k > 0 && (line[k - 1] == '\n' || line[k - 1] == '\r'))
            line[--k] = 0;
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p || *p == '#')
            continue;
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 64;
            char **nl = realloc(*list, sizeof *nl * (size_t)*cap);
            if (!nl)
                break;
            *list = nl;
        }
        if (!((*list)[*n] = strdup(p)))
            break;
        (*n)++;
    }
    int err = ferror(f) || k >= 0;
    free(line);
    if (f != stdin)
        fclose(f);
    if (err) {
        errline("--list %s: cannot read it", path);
        return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    ctx c = {0};
    const char *json_path = NULL, *scales_arg = NULL, *classes_arg = NULL,
               *heat_label = NULL;
    double min_s = 0, max_s = 0, step = 0;
    int quiet = 0, n_img = 0, cap_img = 0, rc = 0, listed = 0;
    char **images = NULL;
    long v;
    c.threshold = DEFAULT_THRESHOLD;
    c.iou = DEFAULT_IOU;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            goto out;
        } else if (!strcmp(a, "--list") && more) {
            if (!read_list(argv[++i], &images, &n_img, &cap_img)) {
                rc = 1;
                goto out;
            }
            listed = 1;
        } else if (!strcmp(a, "--scales") && more) {
            scales_arg = argv[++i];
        } else if (!strcmp(a, "--min-scale") && more) {
            if (!parse_double(argv[++i], 1e-3, 64, &min_s))
                {
                rc = fail("--min-scale needs a number from 0.001 to 64");
                goto out;
            }
        } else if (!strcmp(a, "--max-scale") && more) {
            if (!parse_double(argv[++i], 1e-3, 64, &max_s))
                {
                rc = fail("--max-scale needs a number from 0.001 to 64");
                goto out;
            }
        } else if (!strcmp(a, "--scale-step") && more) {
            if (!parse_double(argv[++i], 0.05, 0.99, &step))
                {
                rc = fail("--scale-step needs a number from 0.05 to 0.99");
                goto out;
            }
        } else if (!strcmp(a, "--threshold") && more) {
            if (!parse_double(argv[++i], -1e30, 1e30, &c.threshold))
                {
                rc = fail("--threshold needs a number");
                goto out;
            }
        } else if (!strcmp(a, "--classes") && more) {
            classes_arg = argv[++i];
        } else if (!strcmp(a, "--iou") && more) {
            if (!parse_double(argv[++i], 0, 1, &c.iou))
                {
                rc = fail("--iou needs a number from 0 to 1");
                goto out;
            }
        } else if (!strcmp(a, "--max-detections") && more) {
            if (!parse_int(argv[++i], 1, 100000000, &c.max_det))
                {
                rc = fail("--max-detections needs a number from 1 to 1e8");
                goto out;
            }
        } else if (!strcmp(a, "--json") && more) {
            json_path = argv[++i];
        } else if (!strcmp(a, "--draw") && more) {
            c.draw = argv[++i];
        } else if (!strcmp(a, "--heatmap") && i + 2 < argc) {
            heat_label = argv[++i];
            c.heat_spec = argv[++i];
        } else if (!strcmp(a, "--threads") && more) {
            if (!parse_int(argv[++i], 1, 1024, &v))
                {
                rc = fail("--threads needs a number from 1 to 1024");
                goto out;
            }
            c.threads = (int)v;
        } else if (!strcmp(a, "--mem-limit") && more) {
            if (!parse_size(argv[++i], &c.mem_limit))
                {
                rc = fail("--mem-limit needs a size such as 512M or 2G");
                goto out;
            }
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            quiet = 1;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "fcn-detect: unknown or incomplete option '%s'\n%s",
                    a, usage);
            rc = 2;
            goto out;
        } else if (!c.model_path) {
            c.model_path = a;
        } else {
            if (n_img == cap_img) {
                cap_img = cap_img ? cap_img * 2 : 64;
                char **nl = realloc(images, sizeof *nl * (size_t)cap_img);
                if (!nl)
                    {
                rc = fail("out of memory");
                goto out;
            }
                images = nl;
            }
            if (!(images[n_img++] = strdup(a)))
                {
                rc = fail("out of memory");
                goto out;
            }
        }
    }
    if (!c.model_path || (!n_img && !listed)) {
        fputs(usage, stderr);
        rc = 2;
        goto out;
    }
    progress_on = !quiet && isatty(STDERR_FILENO);
    c.list_mode = listed || n_img > 1;

    /* the pyramid */
    if (scales_arg && (min_s || max_s || step))
        {
                rc = fail("give either --scales or --min-scale/--max-scale/"
                    "--scale-step, not both");
                goto out;
            }
    if (!scales_arg && !min_s && !max_s && !step)
        scales_arg = DEFAULT_SCALES;
    if (scales_arg) {
        if (!parse_scales(scales_arg, c.scales, &c.n_scales))
            {
                rc = fail("--scales needs up to 64 numbers in (0, 64] separated "
                        "by commas, e.g. 1,0.8,0.64");
                goto out;
            }
    } else {
        min_s = min_s ? min_s : DEFAULT_MIN_SCALE;
        max_s = max_s ? max_s : DEFAULT_MAX_SCALE;
        step = step ? step : DEFAULT_SCALE_STEP;
        if (max_s < min_s)
            {
                rc = fail("--max-scale is below --min-scale");
                goto out;
            }
        int n = fcn_pyramid_scales(min_s, max_s, step, c.scales, MAX_SCALES);
        if (n < 1 || n > MAX_SCALES)
            {
                rc = fail("the pyramid would have more than 64 levels");
                goto out;
            }
        c.n_scales = n;
    }
    /* several images: --draw / --heatmap name a directory or a pattern */
    const char *outs[2] = {c.draw, c.heat_spec};
    for (int k = 0; k < 2; k++)
        if (outs[k] && c.list_mode && !strstr(outs[k], "{}") &&
            !is_dir(outs[k])) {
            errline("%s: with several images give an existing directory or "
                    "a pattern with {}", k ? "--heatmap" : "--draw");
            rc = 1;
            goto out;
        }

    if (fcn_model_load(c.model_path, NULL, &c.m) != FCN_OK)
        {
                rc = fail(fcn_last_error());
                goto out;
            }
    fcn_model_get_info(c.m, &c.info);
    c.class_on = calloc((size_t)c.info.classes, 1);
    if (!c.class_on) {
        fcn_model_free(c.m);
        {
                rc = fail("out of memory");
                goto out;
            }
    }
    if (classes_arg) {
        char *s = strdup(classes_arg), *save = NULL;
        for (char *t = s ? strtok_r(s, ",", &save) : NULL; t;
             t = strtok_r(NULL, ",", &save)) {
            int k = find_class(c.m, c.info.classes, t);
            if (k < 0) {
                unknown_class(c.m, c.info.classes, "--classes", t);
                rc = 1;
                break;
            }
            c.class_on[k] = 1;
        }
        free(s);
    } else {
        for (int k = 0; k < c.info.classes; k++) {
            const char *l = fcn_model_label(c.m, k);
            c.class_on[k] = !(l && !strcmp(l, "background"));
        }
    }
    if (!rc && heat_label) {
        c.heat_cls = find_class(c.m, c.info.classes, heat_label);
        if (c.heat_cls < 0) {
            unknown_class(c.m, c.info.classes, "--heatmap", heat_label);
            rc = 1;
        }
    }
    char tmp[PATH_MAX + 32];
    if (!rc && json_path) {
        if (!tmp_name(tmp, sizeof tmp, json_path) || !(c.out = fopen(tmp, "w"))) {
            errline("cannot write %s: %s", json_path, strerror(errno));
            rc = 1;
        }
    } else {
        c.out = stdout;
    }
    int failed = 0;
    for (int k = 0; !rc && k < n_img; k++)
        failed += detect_image(&c, images[k], k, n_img) != 0;
    if (!rc) {
        if (c.list_mode)
            fputs(c.n_written ? "\n]\n" : "[]\n", c.out);
        if (json_path) {
            int ok = !ferror(c.out);
            ok = !fclose(c.out) && ok;
            if (!ok || (!c.list_mode && !c.n_written) || rename(tmp, json_path)) {
                if (!ok || c.n_written)
                    errline("cannot write %s: %s", json_path,
                            ok ? strerror(errno) : "write failed");
                unlink(tmp);
                rc = 1;
            }
        } else if (fflush(stdout)) {
            rc = 1;
        }
    }
    if (failed)
        rc = 1;
out:
    for (int k = 0; k < n_img; k++)
        free(images[k]);
    free(images);
    free(c.class_on);
    fcn_model_free(c.m);
    return rc;
}
