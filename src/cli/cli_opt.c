/*
** cli_opt.c: see cli_opt.h.
*/
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_opt.h"

int cli_opt_error(const char *prog, int c, char **argv)
{
    const char *arg = optind > 0 ? argv[optind - 1] : "?";
    const char *eq = strchr(arg, '=');
    if (c == ':')
        fprintf(stderr, "%s: option '%s' needs a value\n", prog, arg);
    else if (optopt && eq && !strncmp(arg, "--", 2))
        fprintf(stderr, "%s: option '%.*s' takes no value\n", prog,
                (int)(eq - arg), arg);
    else if (optopt && strncmp(arg, "--", 2))
        fprintf(stderr, "%s: unknown option '-%c' (%s --help lists them)\n",
                prog, optopt, prog);
    else
        fprintf(stderr, "%s: unknown option '%.*s' (%s --help lists them)\n",
                prog, eq ? (int)(eq - arg) : (int)strlen(arg), arg, prog);
    return 2;
}

void cli_print_version(const char *prog)
{
    printf("%s %s\n", prog, fcn_version());
}

int cli_bad(const char *prog, const char *opt, const char *what,
            const char *value)
{
    fprintf(stderr, "%s: --%s needs %s (got '%s')\n", prog, opt, what, value);
    return 1;
}

int cli_mem_limit(const char *prog, const char *v, size_t *out)
{
    if (cli_size(v, out) && *out >= (64 << 10) && *out <= ((size_t)1 << 40))
        return 0;
    return cli_bad(prog, "mem-limit", "a size from 64K to 1T such as 512M or "
                   "2G", v);
}

int cli_parse(int argc, char **argv, const char *prog,
              const struct option *opts, int has_quiet, cli_option_fn fn,
              void *ud, const char **first, cli_paths *rest)
{
    int o, rc;
    opterr = 0;
    while ((o = getopt_long(argc, argv, has_quiet ? ":hq" : ":h", opts,
                            NULL)) != -1)
        if ((rc = o == '?' || o == ':' ? cli_opt_error(prog, o, argv)
                                       : fn(ud, o, optarg, argc, argv)))
            return rc;
    if (optind < argc)
        *first = argv[optind++];
    for (; optind < argc; optind++) {
        if (!rest) {
            fprintf(stderr, "%s: unexpected argument '%s' (%s --help lists "
                    "the options)\n", prog, argv[optind], prog);
            return 2;
        }
        if (!cli_paths_add(rest, argv[optind])) {
            fprintf(stderr, "%s: out of memory\n", prog);
            return 1;
        }
    }
    return 0;
}

int cli_shared_option(const char *prog, const char *usage, cli_common *c,
                      int o, const char *v)
{
    switch (o) {
    case 'h': fputs(usage, stdout); return -1;
    case CLI_O_VERSION: cli_print_version(prog); return -1;
    case 'q': c->quiet = 1; return 0;
    case CLI_O_PROGRESS: c->progress = 1; return 0;
    case CLI_O_BGR: c->prep.color = "bgr"; return 0;
    case CLI_O_RGB: c->prep.color = "rgb"; return 0;
    case CLI_O_MEAN: return cli_prep_option(&c->prep, prog, "mean", v);
    case CLI_O_STD: return cli_prep_option(&c->prep, prog, "std", v);
    case CLI_O_SCALE: return cli_prep_option(&c->prep, prog, "scale", v);
    case CLI_O_CMAP:
        if ((c->cmap = heat_cmap_parse(v)) >= 0)
            return 0;
        fprintf(stderr, "%s: --cmap '%s': unknown colour map (%s)\n", prog, v,
                heat_cmap_names());
        return 1;
    case CLI_O_PRECISION:
        if (strcmp(v, "fp32") && strcmp(v, "bf16"))
            return cli_bad(prog, "precision", "fp32 or bf16", v);
        c->precision = strcmp(v, "bf16") ? FCN_PRECISION_FP32
                                         : FCN_PRECISION_BF16;
        return 0;
    case CLI_O_STRIDE_DIV: {
        long n;
        if (!cli_int(v, 1, 64, &n))
            return cli_bad(prog, "stride-divisor", "a number from 1 to 64", v);
        c->stride_divisor = (int)n;
        return 0;
    }
    case CLI_O_RANGE:
        return heat_range_parse(v, &c->range)
                   ? 0 : cli_bad(prog, "range", "auto, 0:1 or LO:HI with LO "
                                 "< HI", v);
    default: return CLI_NOT_SHARED;
    }
}

int cli_second_value(const char *prog, const char *opt, const char *what,
                     int argc, char **argv, const char **out)
{
    if (optind >= argc) {
        fprintf(stderr, "%s: option '--%s' needs %s\n", prog, opt, what);
        return 2;
    }
    *out = argv[optind++];
    return 0;
}

/* ---- standard input ---- */

/* Copy fd 0 to `to` (fd, or a growing buffer when to < 0). */
static int copy_stdin(int to, size_t max, char **buf, size_t *n, char *err,
                      size_t errlen)
{
    size_t cap = 0;
    char chunk[65536];
    *n = 0;
    for (;;) {
        ssize_t k = read(STDIN_FILENO, chunk, sizeof chunk);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            snprintf(err, errlen, "standard input: %s", strerror(errno));
            return 0;
        }
        if (k == 0)
            return 1;
        if ((size_t)k > max - *n) {
            snprintf(err, errlen, "standard input: more than %zu MiB",
                     max >> 20);
            return 0;
        }
        if (to >= 0) {
            for (ssize_t w = 0, d; w < k; w += d)
                if ((d = write(to, chunk + w, (size_t)(k - w))) < 0) {
                    if (errno == EINTR) {
                        d = 0;
                        continue;
                    }
                    snprintf(err, errlen, "standard input, copying it to a "
                             "temporary file: %s", strerror(errno));
                    return 0;
                }
        } else {
            if (*n + (size_t)k > cap) {
                size_t c = cap ? cap * 2 : 1 << 20;
                while (c < *n + (size_t)k)
                    c *= 2;
                char *b = realloc(*buf, c);
                if (!b) {
                    snprintf(err, errlen, "standard input: out of memory");
                    return 0;
                }
                *buf = b;
                cap = c;
            }
            memcpy(*buf + *n, chunk, (size_t)k);
        }
        *n += (size_t)k;
    }
}

int cli_stdin_read(size_t max, void **data, size_t *n, char *err,
                   size_t errlen)
{
    char *buf = NULL;
    if (!copy_stdin(-1, max, &buf, n, err, errlen)) {
        free(buf);
        return 0;
    }
    *data = buf;
    return 1;
}

int cli_is_tiff(const char *path)
{
    unsigned char b[4];
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    const int n = (int)fread(b, 1, 4, f);
    fclose(f);
    return n == 4 && ((b[0] == 'I' && b[1] == 'I' && (b[2] == 42 ||
                                                       b[2] == 43) &&
                       !b[3]) ||
                      (b[0] == 'M' && b[1] == 'M' && !b[2] &&
                       (b[3] == 42 || b[3] == 43)));
}

int cli_stdin_spool(size_t max, int *fd, char *path, size_t n, char *err,
                    size_t errlen)
{
    const char *dir = getenv("TMPDIR");
    char tmpl[PATH_MAX];
    if (!dir || !*dir ||
        snprintf(tmpl, sizeof tmpl, "%s/.fcn-stdin.XXXXXX", dir) >=
            (int)sizeof tmpl)
        snprintf(tmpl, sizeof tmpl, "/tmp/.fcn-stdin.XXXXXX");
    *fd = mkstemp(tmpl);
    if (*fd < 0) {
        snprintf(err, errlen, "standard input: cannot create a temporary "
                 "file in %s: %s", dir && *dir ? dir : "/tmp", strerror(errno));
        return 0;
    }
    unlink(tmpl); /* gone from the directory: nothing to clean up */
    size_t got;
    if (!copy_stdin(*fd, max, NULL, &got, err, errlen) ||
        lseek(*fd, 0, SEEK_SET) != 0) {
        if (!*err)
            snprintf(err, errlen, "standard input: %s", strerror(errno));
        close(*fd);
        *fd = -1;
        return 0;
    }
    snprintf(path, n, "/proc/self/fd/%d", *fd);
    return 1;
}

const char *cli_msg_rename(const char *msg, const char *from, const char *to,
                           char *buf, size_t n)
{
    size_t k = 0, fl = strlen(from);
    buf[0] = 0;
    for (const char *p = msg; *p && k + 1 < n;) {
        if (fl && !strncmp(p, from, fl)) {
            k += (size_t)snprintf(buf + k, n - k, "%s", to);
            p += fl;
        } else {
            buf[k++] = *p++;
            buf[k] = 0;
        }
        if (k >= n)
            k = n - 1;
    }
    return buf;
}

/* ---- input lists and output names ---- */

int cli_paths_add(cli_paths *p, const char *path)
{
    if (p->n == p->cap) {
        int cap = p->cap ? p->cap * 2 : 64;
        char **v = realloc(p->v, sizeof *v * (size_t)cap);
        if (!v)
            return 0;
        p->v = v;
        p->cap = cap;
    }
    return (p->v[p->n] = strdup(path)) && ++p->n;
}

int cli_paths_read_list(cli_paths *p, const char *prog, const char *file)
{
    FILE *f = !strcmp(file, "-") ? stdin : fopen(file, "r");
    if (!f) {
        fprintf(stderr, "%s: --list %s: %s\n", prog, file, strerror(errno));
        return 0;
    }
    char *line = NULL;
    size_t ln = 0;
    ssize_t k;
    int oom = 0;
    while ((k = getline(&line, &ln, f)) >= 0) {
        while (k > 0 && (line[k - 1] == '\n' || line[k - 1] == '\r'))
            line[--k] = 0;
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s && *s != '#' && !cli_paths_add(p, s)) {
            oom = 1;
            break;
        }
    }
    int err = ferror(f) || oom;
    free(line);
    if (f != stdin)
        fclose(f);
    if (err)
        fprintf(stderr, "%s: --list %s: %s\n", prog, file,
                oom ? "out of memory" : "cannot read it");
    return !err;
}

void cli_paths_free(cli_paths *p)
{
    for (int k = 0; k < p->n; k++)
        free(p->v[k]);
    free(p->v);
    *p = (cli_paths){0};
}

int cli_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The input's file name without directory and extension. */
static void stem(const char *path, char *out, size_t n)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    snprintf(out, n, "%s", !strcmp(path, "-") ? "stdin" : b);
    char *dot = strrchr(out, '.');
    if (dot && dot != out)
        *dot = 0;
}

int cli_out_name(const char *spec, const char *input, const char *suffix,
                 const char *ext, char *out, size_t n)
{
    char st[PATH_MAX];
    stem(input, st, sizeof st);
    const char *brace = strstr(spec, "{}");
    int k;
    if (brace)
        k = snprintf(out, n, "%.*s%s%s", (int)(brace - spec), spec, st,
                     brace + 2);
    else if (cli_is_dir(spec))
        k = snprintf(out, n, "%s/%s%s%s", spec, st, suffix, ext);
    else
        k = snprintf(out, n, "%s", spec);
    return k > 0 && (size_t)k < n;
}

int cli_scores_are_probabilities(const fcn_model *m)
{
    const char *s = fcn_model_summary(m), *last = s, *p;
    if (!s)
        return 0;
    for (p = s; *p; p++)
        if (*p == '\n' && p[1])
            last = p + 1;
    /* "NAME  OP  ...": the op column, or an activation fused "+softmax" */
    const char *end = strchr(last, '\n');
    size_t len = end ? (size_t)(end - last) : strlen(last), k = 0;
    for (size_t j = 0; j + 8 <= len; j++)
        if (!strncasecmp(last + j, "+softmax", 8))
            return 1;
    while (k < len && last[k] != ' ')
        k++;
    while (k < len && last[k] == ' ')
        k++;
    return len - k >= 7 && !strncasecmp(last + k, "softmax", 7) &&
           (len - k == 7 || last[k + 7] == ' ');
}

void cli_unknown_class(const char *prog, const fcn_model *m, const char *opt,
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
    fprintf(stderr, "%s: %s: the model has no class '%s' (classes: %s)\n",
            prog, opt, name, b.oom || !b.s ? "?" : b.s);
    cli_json_free(&b);
}

/* ---- preprocessing overrides ---- */

static int floats(const char *v, float *out, int *n, int positive)
{
    const char *p = v;
    *n = 0;
    for (;;) {
        char *end;
        errno = 0;
        double x = strtod(p, &end);
        if (errno || end == p || !(x >= -1e6 && x <= 1e6) ||
            (positive && !(x > 0)) || *n == CLI_PREP_MAX)
            return 0;
        out[(*n)++] = (float)x;
        if (!*end)
            return 1;
        if (*end != ',')
            return 0;
        p = end + 1;
    }
}

int cli_prep_option(cli_prep *p, const char *prog, const char *opt,
                    const char *v)
{
    double s;
    if (!strcmp(opt, "mean") && floats(v, p->mean, &p->n_mean, 0))
        return 0;
    if (!strcmp(opt, "std") && floats(v, p->std, &p->n_std, 1))
        return 0;
    if (!strcmp(opt, "scale") && cli_double(v, -1e6, 1e6, &s) && s != 0) {
        p->scale = (float)s;
        return 0;
    }
    return cli_bad(prog, opt,
                   !strcmp(opt, "scale") ? "a number from -1e6 to 1e6, not 0"
                   : !strcmp(opt, "std") ? "one number > 0 (up to 1e6) per "
                                           "channel, separated by commas"
                                         : "one number from -1e6 to 1e6 per "
                                           "channel, separated by commas",
                   v);
}

void cli_prep_apply(cli_prep *p, fcn_preprocess *out)
{
    for (int k = p->n_mean; p->n_mean && k < CLI_PREP_MAX; k++)
        p->mean[k] = NAN;
    for (int k = p->n_std; p->n_std && k < CLI_PREP_MAX; k++)
        p->std[k] = NAN;
    out->color = p->color;
    out->scale = p->scale;
    out->mean = p->n_mean ? p->mean : NULL;
    out->std = p->n_std ? p->std : NULL;
}

int cli_prep_explain(const cli_prep *p, const char *prog, const char *msg)
{
    const char *which = p->n_mean && strstr(msg, "prep.mean[") ? "mean"
                        : p->n_std && strstr(msg, "prep.std[") ? "std" : NULL;
    if (!which || !strstr(msg, "nan"))
        return 0;
    fprintf(stderr, "%s: --%s: %d value%s given, the model's input has more "
            "channels (give one per channel)\n", prog, which,
            *which == 'm' ? p->n_mean : p->n_std,
            (*which == 'm' ? p->n_mean : p->n_std) == 1 ? "" : "s");
    return 1;
}

int cli_prep_check(const cli_prep *p, const char *prog, const fcn_model *m)
{
    fcn_model_info info;
    fcn_model_get_info(m, &info);
    const int n[2] = {p->n_mean, p->n_std};
    for (int k = 0; k < 2; k++)
        if (n[k] > info.in_c) {
            fprintf(stderr, "%s: --%s: %d values given for a %d-channel "
                    "model (give one per channel)\n", prog,
                    k ? "std" : "mean", n[k], info.in_c);
            return 0;
        }
    return 1;
}

/* ---- progress ---- */

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void cli_progress_init(cli_progress *p, const char *prog, int quiet,
                       int forced)
{
    const char *env = getenv("FCN_PROGRESS");
    memset(p, 0, sizeof *p);
    p->prog = prog;
    p->tty = isatty(STDERR_FILENO);
    p->forced = forced || (env && !strcmp(env, "1"));
    p->enabled = !quiet && (p->tty || p->forced);
}

void cli_progress_begin(cli_progress *p, const char *path, int idx, int count)
{
    size_t pl = strlen(path);
    snprintf(p->name, sizeof p->name, "%s%s", pl > 48 ? "..." : "",
             pl > 48 ? path + pl - 48 : path);
    p->idx = idx;
    p->count = count;
    p->t0 = cli_now();
    p->last = 0;
}

void cli_progress_tiles(void *ud, int done, int total)
{
    cli_progress *p = ud;
    if (!p->enabled)
        return;
    double t = cli_now(), el = t - p->t0;
    /* on a terminal: after the first second, ten updates a second */
    if (!p->forced && (el < 1.0 || (t - p->last < 0.1 && done < total)))
        return;
    p->last = t;
    double eta = done > 0 ? el / done * (total - done) : 0;
    fprintf(stderr, "%s%s: [%d/%d] %s: tile %d/%d, %.1f s, ETA %.1f s%s",
            p->tty ? "\r" : "", p->prog, p->idx + 1, p->count, p->name, done,
            total, el, eta, p->tty ? "\033[K" : "\n");
    p->open = p->tty;
    fflush(stderr);
}

void cli_progress_end(cli_progress *p)
{
    if (p->open)
        fputc('\n', stderr);
    p->open = 0;
}
