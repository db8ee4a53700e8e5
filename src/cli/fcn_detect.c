/*
** fcn-detect: object detection with a classifier converted to a fully
** convolutional network, over a scale pyramid (fcn_detector, in the
** library). This file parses the arguments, prints JSON and progress,
** draws (draw.c) and writes files. See docs/detect.md.
*/
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <stb_image_write.h>

#include "cli.h"
#include "cli_opt.h"
#include "detect_json.h"
#include "draw.h"
#include "fcn_detect_stream.h"
#include "geojson.h"
#include "heatmap.h"

#define MAX_SCALES 64
#define DEFAULT_MIN_SCALE 0.55
#define DEFAULT_MAX_SCALE 0.9
#define DEFAULT_SCALE_STEP 0.8
#define PROG "fcn-detect"
#define STDIN_MAX ((size_t)4 << 30)   /* bytes read from `-` */

static const char *usage =
    "usage: fcn-detect MODEL IMAGE... [options]\n"
    "  IMAGE             PNG, JPEG, TIFF, WebP... ('-': stdin; several:\n"
    "                    processed in turn, the model loaded once; an\n"
    "                    unreadable one is reported and skipped, and the exit\n"
    "                    status is 1)\n"
    "  --list FILE       more images, one path per line ('#' comments; '-':\n"
    "                    standard input)\n"
    "  --scales A,B,...  pyramid scales (default 0.9,0.75,0.6)\n"
    "  --max-scale S     or a pyramid from S (default 0.9) ...\n"
    "  --scale-step F    ... times F per level (default 0.8) ...\n"
    "  --min-scale S     ... down to S (default 0.55)\n"
    "  --threshold T     a cell's score for a class must be >= T (default 0.9;\n"
    "                    0 to 1 where the model's scores are a softmax)\n"
    "  --classes A,B     class labels (or indices) to detect (default: all but\n"
    "                    the one labelled \"background\")\n"
    "  --iou T           suppress a box overlapping a better one of its class\n"
    "                    with IoU > T, across scales (default 0.3)\n"
    "  --max-detections N  keep the N best per image (1 to 1e8; default: all)\n"
    "  --json FILE       write the JSON there instead of stdout ('-': stdout)\n"
    "  --draw OUT        the image with boxes and labels, as PNG\n"
    "  --geojson OUT     the boxes as a GeoJSON FeatureCollection: in the\n"
    "                    model coordinates of a GeoTIFF image (its CRS named\n"
    "                    unless WGS 84), else in image pixels ('-': stdout,\n"
    "                    with --json FILE; several images: DIR or {})\n"
    "  --geojson-pixels  image pixel coordinates even for a GeoTIFF\n"
    "  --heatmap LABEL OUT  the class's score map over the image, as PNG\n"
    "                    (OUT: a .png file; with several images a directory,\n"
    "                    giving DIR/NAME.png or DIR/NAME-heatmap.png, or a\n"
    "                    pattern where {} is the image's name without extension)\n"
    "  --cmap NAME       its colour map: viridis (default), magma, gray, turbo\n"
    "  --range R         its value range: 0:1 (default), auto or LO:HI\n"
    "  --mean A,B,C      preprocessing (x*scale - mean[c]) / std[c] replacing\n"
    "  --std A,B,C       the model's (one value per channel; --std > 0)\n"
    "  --scale S         (finite, not 0)\n"
    "  --bgr, --rgb      the channel order of a 3-channel model\n"
    "  --threads N       threads (0 = all cores, the default; up to 1024)\n"
    "  --precision P     fp32 (the default) or bf16: weights and GEMM inputs\n"
    "                    rounded to bfloat16, float32 sums (AVX512_BF16 only)\n"
    "  --stride-divisor K  score maps K times finer than the network's stride\n"
    "                    (1..64; K divides it): more candidate windows\n"
    "  --max-pixels N    the largest image (width x height) decoded, and\n"
    "                    pyramid level made (default 100000000)\n"
    "  --mem-limit N     bytes for score map + activations per level (K, M,\n"
    "                    G; 64K to 1T, default 512M); larger levels run on\n"
    "                    tiles, equal results; streamed: bytes per block\n"
    "  --stream          read the image window by window, each level's score\n"
    "                    map block by block (TIFF inputs: the default unless\n"
    "                    --draw or --heatmap, which need the whole image)\n"
    "  -q, --quiet       no progress on stderr (shown only on a terminal)\n"
    "  -h, --help        this text\n"
    "  --version         the version\n";

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

static int fail(const char *msg)
{
    errline("%s", msg);
    return 1;
}

static void progress_line(int newline, const char *fmt, ...)
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

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- the run ---- */

typedef struct args {
    const char *model_path, *json_path, *scales_arg, *classes_arg,
        *heat_label, *draw, *heat_spec, *geojson;
    double scales[MAX_SCALES], min_s, max_s, step, threshold, iou;
    int n_scales, threads, list_mode, listed, list_stdin, geojson_pixels,
        stream;
    long max_det, max_pixels;
    size_t mem_limit;
    cli_common com;  /* --quiet, --progress, --cmap, --range, --mean, ... */
    cli_paths imgs;
} args;

typedef struct ctx {
    const args *a;
    fcn_model *m;
    fcn_detector *det;
    int heat_cls;
    FILE *out;
    int n_written;
    /* for the progress display */
    const char *name;
    int idx, count;
    double t0;
} ctx;

static void on_progress(void *user, const fcn_detect_progress *p)
{
    const ctx *c = user;
    double el = now() - c->t0;
    if (!p->done)
        progress_line(0, "[%d/%d] %s: scale %d/%d (%.3g, %dx%d) running, "
                      "%.1f s elapsed", c->idx + 1, c->count, c->name,
                      p->level, p->n_levels, p->lv->scale, p->lv->width,
                      p->lv->height, el);
    else
        progress_line(0, "[%d/%d] %s: scale %d/%d done, %.1f s elapsed, ~%.1f "
                      "s left", c->idx + 1, c->count, c->name, p->level,
                      p->n_levels, el,
                      el / p->pixels_done * (p->pixels_total - p->pixels_done));
}

/* ---- pictures ---- */

static void png_write_fn(void *f, void *data, int size)
{
    fwrite(data, 1, (size_t)size, f);
}

static int write_png(const char *path, const rgb *im)
{
    cli_file o;
    if (!cli_file_open(&o, path))
        return !fail(fcn_last_error());
    if (!stbi_write_png_to_func(png_write_fn, o.f, im->w, im->h, 3, im->px,
                                im->w * 3)) {
        cli_file_abort(&o);
        errline("%s: out of memory for the PNG", path);
        return 0;
    }
    /* the commit finds a failed fwrite of png_write_fn */
    return cli_file_commit(&o) || !fail(fcn_last_error());
}

/* --draw and --heatmap for one image; 0 if one failed. */
static int pictures(const ctx *c, const char *path, const fcn_image *img,
                    const fcn_detect_result *r)
{
    char fn[PATH_MAX], lb[32];
    int ok = 1;
    for (int pass = 0; pass < 2; pass++) { /* 0: --draw, 1: --heatmap */
        const char *spec = pass ? (r->heat ? c->a->heat_spec : NULL)
                                : c->a->draw;
        rgb im = {0};
        if (!spec)
            continue;
        if (!cli_out_name(spec, path, pass ? "-heatmap" : "", ".png", fn,
                          sizeof fn)) {
            errline("%s: %s name too long", path, pass ? "--heatmap" : "--draw");
            ok = 0;
            continue;
        }
        if (pass) {
            char title[160], err[1024];
            snprintf(title, sizeof title, "%s score",
                     cli_label(c->m, c->heat_cls, lb, sizeof lb));
            if (!heat_write_plane_png(fn, img, r->heat, img->w, img->h,
                                      c->a->com.cmap, &c->a->com.range, title, err,
                                      sizeof err)) {
                errline("%s", err);
                ok = 0;
            }
            continue;
        }
        if (!draw_to_rgb(img, &im)) {
            errline("%s: out of memory for drawing", path);
            ok = 0;
            continue;
        }
        draw_boxes(&im, c->m, r->d, r->n);
        ok = write_png(fn, &im) && ok;
        free(im.px);
    }
    return ok;
}

/* --geojson for one image (file: the image read, stdin's spool for '-');
** 0 if it failed. */
static int geojson(const ctx *c, const char *path, const char *file,
                   const fcn_detect_result *r)
{
    const char *spec = c->a->geojson;
    char fn[PATH_MAX], err[1024];
    cli_file o;
    if (!spec)
        return 1;
    if (!strcmp(spec, "-"))
        return gj_write(stdout, c->m, r, file, c->a->geojson_pixels, err,
                        sizeof err) || !fail(err);
    if (!cli_out_name(spec, path, "", ".geojson", fn, sizeof fn)) {
        errline("%s: --geojson name too long", path);
        return 0;
    }
    if (!cli_file_open(&o, fn))
        return !fail(fcn_last_error());
    if (!gj_write(o.f, c->m, r, file, c->a->geojson_pixels, err,
                  sizeof err)) {
        cli_file_abort(&o);
        return !fail(err);
    }
    return cli_file_commit(&o) || !fail(fcn_last_error());
}

/* Detect on one image; 0 when it worked. */
static int detect_image(ctx *c, const char *path, int idx, int count)
{
    char name[64]; /* for progress: the path's last 48 characters */
    size_t pl = strlen(path);
    snprintf(name, sizeof name, "%s%s", pl > 48 ? "..." : "",
             pl > 48 ? path + pl - 48 : path);
    c->name = name;
    c->idx = idx;
    c->count = count;
    c->t0 = now();
    fcn_image img = {0};
    fcn_detect_result r;
    cli_json js = {0};
    int rc = 1, fd = -1;
    char real[64], msg[1024] = "";
    const char *src = path;
    if (!strcmp(path, "-")) {
        if (!cli_stdin_spool(STDIN_MAX, &fd, real, sizeof real, msg,
                             sizeof msg))
            return fail(msg);
        src = real;
    }
    /* streamed (a TIFF, or --stream): no pixels, only the size */
    const int streamed = c->a->stream ||
        (!c->a->draw && !c->a->heat_spec && cli_is_tiff(src));
    const fcn_stream_options so = {.threads = c->a->threads,
                                   .mem_limit = c->a->mem_limit};
    if (streamed ? fcn_detector_run_stream(c->det, src, &so, &img.w, &img.h,
                                           &r) != FCN_OK
                 : fcn_image_decode(c->m, src, 0, 0, &img) != FCN_OK) {
        fail(fd < 0 ? fcn_last_error()
                    : cli_msg_rename(fcn_last_error(), src, "-", msg,
                                     sizeof msg));
        goto done;
    }
    if (!streamed && fcn_detector_run(c->det, &img, &r) != FCN_OK) {
        errline("%s: %s", path, fcn_last_error());
        goto done;
    }
    dj_image(&js, c->m, c->a->model_path, c->a->threshold, c->a->iou, path,
             img.w, img.h, &r, now() - c->t0);
    if (js.oom) {
        errline("%s: out of memory for the JSON", path);
        goto done;
    }
    if (c->a->list_mode)
        fputs(c->n_written ? ",\n" : "[\n", c->out);
    fwrite(js.s, 1, js.n, c->out);
    if (!c->a->list_mode)
        fputc('\n', c->out);
    c->n_written++;
    rc = pictures(c, path, &img, &r) && geojson(c, path, src, &r) ? 0 : 1;
    int runnable = 0;
    for (int k = 0; k < r.n_levels; k++)
        runnable += !r.levels[k].skipped;
    progress_line(1, "[%d/%d] %s: %zu detection%s, %d scale%s, %.1f s",
                  idx + 1, count, name, r.n, r.n == 1 ? "" : "s", runnable,
                  runnable == 1 ? "" : "s", now() - c->t0);
done:
    if (fd >= 0)
        close(fd);
    cli_json_free(&js);
    fcn_image_free(&img);
    return rc;
}

/* ---- arguments ---- */

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

enum {
    O_SCALES = 256, O_MIN, O_MAX, O_STEP, O_THRESH, O_IOU, O_CLASSES, O_JSON,
    O_DRAW, O_LIST, O_MAXPIX, O_MAXDET, O_THREADS, O_MEM, O_HEAT, O_GEOJSON,
    O_GEOJSON_PX, O_STREAM
};

static const struct option longopts[] = {
    {"scales", required_argument, 0, O_SCALES},
    {"min-scale", required_argument, 0, O_MIN},
    {"max-scale", required_argument, 0, O_MAX},
    {"scale-step", required_argument, 0, O_STEP},
    {"threshold", required_argument, 0, O_THRESH},
    {"iou", required_argument, 0, O_IOU},
    {"classes", required_argument, 0, O_CLASSES},
    {"json", required_argument, 0, O_JSON},
    {"draw", required_argument, 0, O_DRAW},
    {"geojson", required_argument, 0, O_GEOJSON},
    {"geojson-pixels", no_argument, 0, O_GEOJSON_PX},
    {"stream", no_argument, 0, O_STREAM},
    {"list", required_argument, 0, O_LIST},
    {"max-pixels", required_argument, 0, O_MAXPIX},
    {"max-detections", required_argument, 0, O_MAXDET},
    {"threads", required_argument, 0, O_THREADS},
    {"mem-limit", required_argument, 0, O_MEM},
    {"heatmap", required_argument, 0, O_HEAT},
    CLI_RUN_OPTIONS,
    CLI_COMMON_OPTIONS,
    {0, 0, 0, 0}};

static int bad(const char *opt, const char *what, const char *v)
{
    return cli_bad(PROG, opt, what, v);
}

/* A numeric option in [lo, hi]; 0 or the exit status. */
static int number(const char *opt, const char *v, double lo, double hi,
                  double *out, const char *what)
{
    return cli_double(v, lo, hi, out) ? 0 : bad(opt, what, v);
}

static int whole(const char *opt, const char *v, long lo, long hi, long *out,
                 const char *what)
{
    return cli_int(v, lo, hi, out) ? 0 : bad(opt, what, v);
}

/* One option (cli_option_fn). */
static int option(void *ud, int o, const char *v, int argc, char **argv)
{
    args *a = ud;
    long n = 0;
    int rc = cli_shared_option(PROG, usage, &a->com, o, v);
    if (rc != CLI_NOT_SHARED)
        return rc;
    switch (o) {
    case O_SCALES: a->scales_arg = v; return 0;
    case O_CLASSES: a->classes_arg = v; return 0;
    case O_JSON: a->json_path = v; return 0;
    case O_DRAW: a->draw = v; return 0;
    case O_GEOJSON: a->geojson = v; return 0;
    case O_GEOJSON_PX: a->geojson_pixels = 1; return 0;
    case O_STREAM: a->stream = 1; return 0;
    case O_MIN:
        return number("min-scale", v, 1e-3, 64, &a->min_s,
                      "a number from 0.001 to 64");
    case O_MAX:
        return number("max-scale", v, 1e-3, 64, &a->max_s,
                      "a number from 0.001 to 64");
    case O_STEP:
        return number("scale-step", v, 0.05, 0.99, &a->step,
                      "a number from 0.05 to 0.99");
    case O_THRESH:
        return number("threshold", v, -1e30, 1e30, &a->threshold,
                      "a number");
    case O_IOU:
        return number("iou", v, 0, 1, &a->iou, "a number from 0 to 1");
    case O_LIST:
        a->listed = 1;
        a->list_stdin |= !strcmp(v, "-");
        return cli_paths_read_list(&a->imgs, PROG, v) ? 0 : 1;
    case O_MAXPIX:
        return whole("max-pixels", v, 1, 4294967296L, &a->max_pixels,
                     "a number from 1 to 4294967296");
    case O_MAXDET:
        return whole("max-detections", v, 1, 100000000, &a->max_det,
                     "a number from 1 to 1e8");
    case O_THREADS:
        rc = whole("threads", v, 0, 1024, &n,
                   "a number from 0 (all cores) to 1024");
        a->threads = (int)n;
        return rc;
    case O_MEM: return cli_mem_limit(PROG, v, &a->mem_limit);
    case O_HEAT:
        a->heat_label = v;
        return cli_second_value(PROG, "heatmap", "a LABEL and an OUT", argc,
                                argv, &a->heat_spec);
    default: return cli_opt_error(PROG, o, argv);
    }
}

/* 0: run; otherwise the exit status (after a message or the usage). */
static int parse_args(int argc, char **argv, args *a)
{
    int rc = cli_parse(argc, argv, PROG, longopts, 1, option, a,
                       &a->model_path, &a->imgs);
    if (rc)
        return rc;
    if (!a->model_path || (!a->imgs.n && !a->listed)) {
        errline("%s (fcn-detect --help lists the options)",
                a->model_path ? "no IMAGE given" : "no MODEL and IMAGE given");
        return 2;
    }
    int stdin_uses = a->list_stdin;
    for (int k = 0; k < a->imgs.n; k++)
        stdin_uses += !strcmp(a->imgs.v[k], "-");
    if (stdin_uses > 1)
        return fail("standard input ('-') can be read once only");
    if (a->json_path && !strcmp(a->json_path, "-"))
        a->json_path = NULL; /* stdout, the default */
    a->list_mode = a->listed || a->imgs.n > 1;
    if (a->geojson && !strcmp(a->geojson, "-") &&
        (a->list_mode || !a->json_path))
        return fail("--geojson -: one image, and --json FILE (standard "
                    "output cannot take both)");
    if (a->geojson_pixels && !a->geojson)
        return fail("--geojson-pixels needs --geojson OUT");
    if (a->stream && (a->draw || a->heat_spec))
        return fail("--stream: --draw and --heatmap need the whole image");
    return 0;
}

/* The pyramid from --scales or --min-scale/--max-scale/--scale-step. */
static int pyramid(args *a)
{
    if (a->scales_arg && (a->min_s || a->max_s || a->step))
        return fail("give either --scales or --min-scale/--max-scale/"
                    "--scale-step, not both");
    if (!a->scales_arg && !a->min_s && !a->max_s && !a->step) {
        fcn_detect_options d;
        fcn_detect_defaults(&d);
        memcpy(a->scales, d.scales, sizeof(double) * d.n_scales);
        a->n_scales = d.n_scales;
        return 0;
    }
    if (a->scales_arg) {
        if (!parse_scales(a->scales_arg, a->scales, &a->n_scales))
            return fail("--scales needs up to 64 numbers in (0, 64] separated "
                        "by commas, e.g. 1,0.8,0.64");
        return 0;
    }
    double lo = a->min_s ? a->min_s : DEFAULT_MIN_SCALE,
           hi = a->max_s ? a->max_s : DEFAULT_MAX_SCALE,
           st = a->step ? a->step : DEFAULT_SCALE_STEP;
    if (hi < lo)
        return fail("--max-scale is below --min-scale");
    int n = fcn_pyramid_scales(lo, hi, st, a->scales, MAX_SCALES);
    if (n < 1 || n > MAX_SCALES)
        return fail("the pyramid would have more than 64 levels");
    a->n_scales = n;
    return 0;
}

/* The model, the classes, the detector; 0 (after a message) on error. */
static int setup(const args *a, ctx *c)
{
    fcn_options mo = {0};
    mo.max_pixels = a->max_pixels;
    cli_prep prep = a->com.prep; /* copied at load */
    cli_prep_apply(&prep, &mo.prep);
    mo.precision = a->com.precision;
    mo.stride_divisor = a->com.stride_divisor;
    if (fcn_model_load(a->model_path, &mo, &c->m) != FCN_OK) {
        if (!cli_prep_explain(&prep, PROG, fcn_last_error()))
            fail(fcn_last_error());
        return 0;
    }
    if (!cli_prep_check(&prep, PROG, c->m))
        return 0;
    fcn_model_info info;
    fcn_model_get_info(c->m, &info);
    if (cli_scores_are_probabilities(c->m) &&
        !(a->threshold >= 0 && a->threshold <= 1)) {
        errline("--threshold %g: the model's scores are softmax "
                "probabilities: give a number from 0 to 1", a->threshold);
        return 0;
    }
    fcn_detect_options o;
    fcn_detect_defaults(&o);
    unsigned char *on = NULL;
    int ok = 1;
    if (a->classes_arg && !(on = calloc((size_t)info.classes, 1)))
        return !fail("out of memory");
    char *s = a->classes_arg ? strdup(a->classes_arg) : NULL, *save = NULL;
    for (char *t = s ? strtok_r(s, ",", &save) : NULL; t && ok;
         t = strtok_r(NULL, ",", &save)) {
        int k = cli_find_class(c->m, t);
        if (k < 0) {
            cli_unknown_class(PROG, c->m, "--classes", t);
            ok = 0;
        } else {
            on[k] = 1;
        }
    }
    free(s);
    if (ok && a->heat_label &&
        (c->heat_cls = cli_find_class(c->m, a->heat_label)) < 0) {
        cli_unknown_class(PROG, c->m, "--heatmap", a->heat_label);
        ok = 0;
    }
    o.scales = a->scales;
    o.n_scales = a->n_scales;
    o.threshold = (float)a->threshold;
    o.iou = a->iou;
    o.max_detections = (size_t)a->max_det;
    o.classes = on;
    o.heatmap = a->heat_spec != NULL;
    o.heat_class = c->heat_cls;
    o.threads = a->threads;
    o.mem_limit = a->mem_limit;
    o.progress = on_progress;
    o.user = c;
    if (ok && fcn_detector_create(c->m, &o, &c->det) != FCN_OK)
        ok = !fail(fcn_last_error());
    free(on);
    return ok;
}

/* Every image, into out; with several, as a JSON list. */
static int detect_all(const args *a, ctx *c, FILE *out)
{
    int failed = 0;
    c->out = out;
    /* a write that failed (a full disk) ends the run: the commit or the
    ** check of stdout at exit says why */
    for (int k = 0; k < a->imgs.n && !ferror(out); k++)
        failed += detect_image(c, a->imgs.v[k], k, a->imgs.n) != 0;
    if (a->list_mode)
        fputs(c->n_written ? "\n]\n" : "[]\n", out);
    return failed;
}

static int run(const args *a)
{
    ctx c = {a, NULL, NULL, 0, NULL, 0, NULL, 0, 0, 0};
    int rc = 1;
    if (!setup(a, &c))
        goto out;
    if (!a->json_path) {
        int failed = detect_all(a, &c, stdout);
        rc = failed ? 1 : 0; /* a failed write: cli_exit says so */
        goto out;
    }
    cli_file jf;
    if (!cli_file_open(&jf, a->json_path)) {
        fail(fcn_last_error());
        goto out;
    }
    int failed = detect_all(a, &c, jf.f);
    if (!a->list_mode && !c.n_written) {
        cli_file_abort(&jf);  /* the one image failed: no file */
    } else if (!cli_file_commit(&jf)) {
        fail(fcn_last_error());
        failed = 1;
    }
    rc = failed || !c.n_written ? 1 : 0;
out:
    fcn_detector_free(c.det);
    fcn_model_free(c.m);
    return rc;
}

int main(int argc, char **argv)
{
    args a = {0};
    cli_signals();
    fcn_detect_options defaults;
    fcn_detect_defaults(&defaults);
    a.threshold = defaults.threshold;
    a.iou = defaults.iou;
    a.com.range = (heat_range){0, 0.0f, 1.0f};
    int rc = parse_args(argc, argv, &a);
    if (!rc)
        rc = pyramid(&a);
    /* several images: --draw / --heatmap name a directory or a pattern */
    const char *outs[3] = {a.draw, a.heat_spec, a.geojson};
    static const char *const names[3] = {"--draw", "--heatmap", "--geojson"};
    for (int k = 0; k < 3 && !rc; k++)
        if (outs[k] && a.list_mode && !strstr(outs[k], "{}") &&
            !cli_is_dir(outs[k])) {
            errline("%s: with several images give an existing directory or "
                    "a pattern with {}", names[k]);
            rc = 1;
        }
    if (!rc) {
        const char *env = getenv("FCN_PROGRESS");
        progress_on = !a.com.quiet &&
                      (isatty(STDERR_FILENO) || a.com.progress ||
                       (env && !strcmp(env, "1")));
        rc = run(&a);
    }
    cli_paths_free(&a.imgs);
    return cli_exit("fcn-detect", rc < 0 ? 0 : rc);
}
