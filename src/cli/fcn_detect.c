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
#include "draw.h"
#include "fcn_detect.h"

#define MAX_SCALES 64
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
    "  --max-pixels N    the largest image (width x height) decoded, and\n"
    "                    pyramid level made (default 100000000)\n"
    "  --mem-limit N     bytes for score map + activations per level (K, M,\n"
    "                    G; default 512M); larger levels run on tiles, equal\n"
    "                    results\n"
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
        *heat_label, *draw, *heat_spec;
    double scales[MAX_SCALES], min_s, max_s, step, threshold, iou;
    int n_scales, quiet, threads, list_mode, listed, n_img, cap_img;
    long max_det, max_pixels;
    size_t mem_limit;
    char **images;
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

static void json_level(cli_json *b, const fcn_detect_level *r, int first)
{
    const fcn_geometry *g = &r->geom;
    cli_json_printf(b, "%s\n  {\"scale\": %.6g, \"scale_x\": %.8g, "
                    "\"scale_y\": %.8g, \"width\": %d, \"height\": %d",
                    first ? "" : ",", r->lv.scale, r->lv.scale_x,
                    r->lv.scale_y, r->lv.width, r->lv.height);
    if (r->skipped) {
        cli_json_printf(b, ", \"skipped\": ");
        cli_json_str(b, r->skipped);
        cli_json_printf(b, "}");
        return;
    }
    cli_json_printf(b, ", \"stride\": [%d, %d], \"offset\": [%d, %d], "
                    "\"receptive_field\": [%d, %d], \"score_map\": [%d, %d],\n"
                    "   \"padded_cells\": {\"count\": %lld, \"rows_top\": %d, "
                    "\"rows_bottom\": %d, \"cols_left\": %d, \"cols_right\": "
                    "%d}, \"tiles\": %d, \"candidates\": %zu, \"seconds\": "
                    "%.3f}", g->stride_h, g->stride_w, g->offset_h,
                    g->offset_w, g->rf_h, g->rf_w, r->out_h, r->out_w,
                    r->pad.cells, r->pad.top, r->pad.bottom, r->pad.left,
                    r->pad.right, r->tiles, r->candidates, r->seconds);
}

static void json_image(cli_json *b, const ctx *c, const char *path,
                       const fcn_image *img, const fcn_detect_result *r,
                       double seconds)
{
    fcn_model_info info;
    fcn_model_get_info(c->m, &info);
    char lb[32];
    cli_json_printf(b, "{\"image\": ");
    cli_json_str(b, path);
    cli_json_printf(b, ", \"width\": %d, \"height\": %d, \"model\": ", img->w,
                    img->h);
    cli_json_str(b, c->a->model_path);
    cli_json_printf(b, ",\n \"threshold\": %.6g, \"iou\": %.6g, \"classes\": [",
                    c->a->threshold, c->a->iou);
    for (int k = 0, first = 1; k < info.classes; k++)
        if (r->classes[k]) {
            cli_json_printf(b, first ? "" : ", ");
            cli_json_str(b, cli_label(c->m, k, lb, sizeof lb));
            first = 0;
        }
    cli_json_printf(b, "], \"seconds\": %.3f,\n \"scales\": [", seconds);
    for (int k = 0; k < r->n_levels; k++)
        json_level(b, &r->levels[k], !k);
    cli_json_printf(b, "],\n \"detections\": [");
    for (size_t k = 0; k < r->n; k++) {
        const fcn_detection *d = &r->d[k];
        cli_json_printf(b, "%s\n  {\"label\": ", k ? "," : "");
        cli_json_str(b, cli_label(c->m, d->cls, lb, sizeof lb));
        cli_json_printf(b, ", \"class\": %d, \"score\": %.6g, \"box\": [%.8g, "
                        "%.8g, %.8g, %.8g], \"scale\": %.6g, \"cell\": [%d, "
                        "%d], \"padded\": %s}", d->cls, d->score, d->box.x,
                        d->box.y, d->box.w, d->box.h, d->scale, d->cell_i,
                        d->cell_j, d->padded ? "true" : "false");
    }
    cli_json_printf(b, "%s]}", r->n ? "\n " : "");
}

/* ---- pictures ---- */

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
        if (!out_name(spec, path, pass ? "-heatmap" : "", fn, sizeof fn)) {
            errline("%s: %s name too long", path, pass ? "--heatmap" : "--draw");
            ok = 0;
            continue;
        }
        if (!draw_to_rgb(img, &im)) {
            errline("%s: out of memory for drawing", path);
            ok = 0;
            continue;
        }
        if (pass)
            draw_heatmap(&im, r->heat,
                         cli_label(c->m, c->heat_cls, lb, sizeof lb));
        else
            draw_boxes(&im, c->m, r->d, r->n);
        ok = write_png(fn, &im) && ok;
        free(im.px);
    }
    return ok;
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
    int rc = 1;
    if (fcn_image_decode(c->m, path, 0, 0, &img) != FCN_OK)
        return fail(fcn_last_error());
    if (fcn_detector_run(c->det, &img, &r) != FCN_OK) {
        errline("%s: %s", path, fcn_last_error());
        goto done;
    }
    json_image(&js, c, path, &img, &r, now() - c->t0);
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
    rc = pictures(c, path, &img, &r) ? 0 : 1;
    int runnable = 0;
    for (int k = 0; k < r.n_levels; k++)
        runnable += !r.levels[k].skipped;
    progress_line(1, "[%d/%d] %s: %zu detection%s, %d scale%s, %.1f s",
                  idx + 1, count, name, r.n, r.n == 1 ? "" : "s", runnable,
                  runnable == 1 ? "" : "s", now() - c->t0);
done:
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

static int add_image(args *a, const char *path)
{
    if (a->n_img == a->cap_img) {
        a->cap_img = a->cap_img ? a->cap_img * 2 : 64;
        char **nl = realloc(a->images, sizeof *nl * (size_t)a->cap_img);
        if (!nl)
            return 0;
        a->images = nl;
    }
    return (a->images[a->n_img] = strdup(path)) && ++a->n_img;
}

/* Append the paths listed in a file; 0 (after a message) on error. */
static int read_list(args *a, const char *path)
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
        if (*p && *p != '#' && !add_image(a, p))
            break;
    }
    int err = ferror(f) || k >= 0;
    free(line);
    if (f != stdin)
        fclose(f);
    if (err) {
        errline("--list %s: cannot read it", path);
        return 0;
    }
    a->listed = 1;
    return 1;
}

/* A numeric option's value; 0 (after the message) if it is not one. */
static int number(const char *v, double lo, double hi, double *out,
                  const char *msg)
{
    if (cli_double(v, lo, hi, out))
        return 1;
    errline("%s", msg);
    return 0;
}

static int whole(const char *v, long lo, long hi, long *out, const char *msg)
{
    if (cli_int(v, lo, hi, out))
        return 1;
    errline("%s", msg);
    return 0;
}

static int bytes(const char *v, size_t *out)
{
    if (cli_size(v, out))
        return 1;
    errline("--mem-limit needs a size such as 512M or 2G");
    return 0;
}

/* One option with its value (i: at the option); 1 if it was one of these,
** -1 if its value is bad (after a message), 0 if not one of these. */
static int value_option(args *a, int argc, char **argv, int *i)
{
    const char *o = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    long n = 0;
    int ok = 1;
    if (!v)
        return 0;
    if (!strcmp(o, "--scales"))
        a->scales_arg = v;
    else if (!strcmp(o, "--min-scale"))
        ok = number(v, 1e-3, 64, &a->min_s,
                    "--min-scale needs a number from 0.001 to 64");
    else if (!strcmp(o, "--max-scale"))
        ok = number(v, 1e-3, 64, &a->max_s,
                    "--max-scale needs a number from 0.001 to 64");
    else if (!strcmp(o, "--scale-step"))
        ok = number(v, 0.05, 0.99, &a->step,
                    "--scale-step needs a number from 0.05 to 0.99");
    else if (!strcmp(o, "--threshold"))
        ok = number(v, -1e30, 1e30, &a->threshold, "--threshold needs a number");
    else if (!strcmp(o, "--iou"))
        ok = number(v, 0, 1, &a->iou, "--iou needs a number from 0 to 1");
    else if (!strcmp(o, "--classes"))
        a->classes_arg = v;
    else if (!strcmp(o, "--json"))
        a->json_path = v;
    else if (!strcmp(o, "--draw"))
        a->draw = v;
    else if (!strcmp(o, "--list"))
        ok = read_list(a, v);
    else if (!strcmp(o, "--max-pixels"))
        ok = whole(v, 1, 4294967296L, &a->max_pixels,
                   "--max-pixels needs a number from 1 to 4294967296");
    else if (!strcmp(o, "--max-detections"))
        ok = whole(v, 1, 100000000, &a->max_det,
                   "--max-detections needs a number from 1 to 1e8");
    else if (!strcmp(o, "--threads")) {
        ok = whole(v, 1, 1024, &n, "--threads needs a number from 1 to 1024");
        a->threads = (int)n;
    } else if (!strcmp(o, "--mem-limit"))
        ok = bytes(v, &a->mem_limit);
    else if (!strcmp(o, "--heatmap") && *i + 2 < argc) {
        a->heat_label = v;
        a->heat_spec = argv[++*i + 1];
    } else
        return 0;
    ++*i;
    return ok ? 1 : -1;
}

/* 0: run; otherwise the exit status (after a message or the usage). */
static int parse_args(int argc, char **argv, args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        int r;
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            fputs(usage, stdout);
            return -1;
        } else if (!strcmp(s, "--quiet") || !strcmp(s, "-q")) {
            a->quiet = 1;
        } else if ((r = value_option(a, argc, argv, &i))) {
            if (r < 0)
                return 1;
        } else if (s[0] == '-' && s[1]) {
            fprintf(stderr, "fcn-detect: unknown or incomplete option '%s'\n%s",
                    s, usage);
            return 2;
        } else if (!a->model_path) {
            a->model_path = s;
        } else if (!add_image(a, s)) {
            return fail("out of memory");
        }
    }
    if (!a->model_path || (!a->n_img && !a->listed)) {
        fputs(usage, stderr);
        return 2;
    }
    a->list_mode = a->listed || a->n_img > 1;
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

static void unknown_class(const fcn_model *m, const char *opt,
                          const char *name)
{
    fcn_model_info info;
    fcn_model_get_info(m, &info);
    cli_json b = {0};
    char lb[32];
    for (int k = 0; k < info.classes; k++) {
        cli_json_printf(&b, "%s", k ? ", " : "");
        cli_json_str(&b, cli_label(m, k, lb, sizeof lb));
    }
    errline("%s: the model has no class '%s' (classes: %s)", opt, name,
            b.oom || !b.s ? "?" : b.s);
    cli_json_free(&b);
}

/* The model, the classes, the detector; 0 (after a message) on error. */
static int setup(const args *a, ctx *c)
{
    fcn_options mo = {0};
    mo.max_pixels = a->max_pixels;
    if (fcn_model_load(a->model_path, &mo, &c->m) != FCN_OK)
        return !fail(fcn_last_error());
    fcn_model_info info;
    fcn_model_get_info(c->m, &info);
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
            unknown_class(c->m, "--classes", t);
            ok = 0;
        } else {
            on[k] = 1;
        }
    }
    free(s);
    if (ok && a->heat_label &&
        (c->heat_cls = cli_find_class(c->m, a->heat_label)) < 0) {
        unknown_class(c->m, "--heatmap", a->heat_label);
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
    for (int k = 0; k < a->n_img && !ferror(out); k++)
        failed += detect_image(c, a->images[k], k, a->n_img) != 0;
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
    int rc = parse_args(argc, argv, &a);
    if (!rc)
        rc = pyramid(&a);
    /* several images: --draw / --heatmap name a directory or a pattern */
    const char *outs[2] = {a.draw, a.heat_spec};
    for (int k = 0; k < 2 && !rc; k++)
        if (outs[k] && a.list_mode && !strstr(outs[k], "{}") &&
            !is_dir(outs[k])) {
            errline("%s: with several images give an existing directory or "
                    "a pattern with {}", k ? "--heatmap" : "--draw");
            rc = 1;
        }
    if (!rc) {
        progress_on = !a.quiet && isatty(STDERR_FILENO);
        rc = run(&a);
    }
    for (int k = 0; k < a.n_img; k++)
        free(a.images[k]);
    free(a.images);
    return cli_exit("fcn-detect", rc < 0 ? 0 : rc);
}
