/*
** fcn-bench: time a model on this machine, per input size and thread count,
** with a per-layer table against the machine's own FMA peak and bare SGEMM
** of each layer's shape (both measured here, benchmarks/ceiling.c).
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "ceiling.h"
#include "cli.h"
#include "cli_opt.h"
#include "fcn.h"

#define MAX_LIST 16

static const char *usage =
    "usage: fcn-bench MODEL [options]\n"
    "  --size WxH     input size (up to 16; default: the trained size)\n"
    "  --threads N    thread count (up to 16; 0 = all cores, the default)\n"
    "  --repeat R     timed runs per configuration (1..100000; default 10)\n"
    "  --warmup W     untimed runs first (0..100000; default 2)\n"
    "  --json FILE    write the results as a JSON list ('-': on stdout, the\n"
    "                 report then on stderr)\n"
    "  --mem-limit N  bytes for the score map and activations (K, M, G\n"
    "                 suffixes; 64K to 1T, default 512M)\n"
    "  --winograd W   3x3 convs as Winograd F(4x4,3x3): auto, never, always\n"
    "  --gemm G       convolution GEMM: packed (fcn's kernel, the default\n"
    "                 where the CPU has it) or blas (OpenBLAS SGEMM)\n"
    CLI_PRECISION_USAGE
    CLI_STRIDE_DIVISOR_USAGE
    "  --no-layers    skip the per-layer table (and its SGEMM measurements)\n"
    "  -h, --help     this text\n"
    "  --version      the version\n";

typedef struct args {
    const char *model, *json;
    int sizes[MAX_LIST][2], n_sizes, threads[MAX_LIST], n_threads;
    int repeat, warmup, layers;
    size_t mem_limit;
    fcn_options opt;
} args;

/* The timings of one configuration. */
typedef struct result {
    int W, H, T;
    double med, mn, mx, flops, rss, peak;
    double peak256, peak512;  /* the FMA peak in ymm and in zmm (0: none) */
    const char *isa;
    fcn_scores sc;         /* its shape */
    int tiles;
    double arena_mb;
    int nl;
    fcn_layer_stats *ls;   /* per-layer medians */
} result;

static int die(const char *msg)
{
    fprintf(stderr, "fcn-bench: %s\n", msg);
    return 1;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

static int choice(const char *v, const char *const *names, int n, int *out)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(v, names[i])) {
            *out = i;
            return 1;
        }
    return 0;
}

enum {
    O_SIZE = 256, O_THREADS, O_REPEAT, O_WARMUP, O_JSON, O_MEM, O_WINO,
    O_GEMM, O_NOLAYERS
};

static const struct option longopts[] = {
    {"size", required_argument, 0, O_SIZE},
    {"threads", required_argument, 0, O_THREADS},
    {"repeat", required_argument, 0, O_REPEAT},
    {"warmup", required_argument, 0, O_WARMUP},
    {"json", required_argument, 0, O_JSON},
    {"mem-limit", required_argument, 0, O_MEM},
    {"winograd", required_argument, 0, O_WINO},
    {"gemm", required_argument, 0, O_GEMM},
    {"no-layers", no_argument, 0, O_NOLAYERS},
    CLI_COMMON_OPTIONS,
    {0, 0, 0, 0}};

static int bad(const char *opt, const char *what, const char *v)
{
    return cli_bad("fcn-bench", opt, what, v);
}

/* One option (cli_option_fn). */
static int option(void *ud, int o, const char *v, int argc, char **argv)
{
    static const char *const wino[] = {"auto", "never", "always"},
                             *gemm[] = {"packed", "blas"};
    args *a = ud;
    cli_common unused = {0};
    long n;
    int k = cli_shared_option("fcn-bench", usage, &unused, o, v);
    if (o == CLI_O_PRECISION)
        a->opt.precision = unused.precision;
    if (o == CLI_O_STRIDE_DIV)
        a->opt.stride_divisor = unused.stride_divisor;
    (void)argc;
    if (k != CLI_NOT_SHARED)
        return k;
    switch (o) {
    case O_NOLAYERS: a->layers = 0; return 0;
    case O_JSON: a->json = v; return 0;
    case O_SIZE:
        if (a->n_sizes == MAX_LIST)
            return die("--size: at most 16 sizes");
        int *s = a->sizes[a->n_sizes++];
        return cli_wxh(v, 65536, &s[0], &s[1])
                   ? 0 : bad("size", "WxH, each from 1 to 65536, e.g. "
                             "1024x1024", v);
    case O_THREADS:
        if (a->n_threads == MAX_LIST)
            return die("--threads: at most 16 thread counts");
        if (!cli_int(v, 0, 1024, &n))
            return bad("threads", "a number from 0 (all cores) to 1024", v);
        a->threads[a->n_threads++] = n ? (int)n : fcn_default_threads();
        return 0;
    case O_REPEAT:
        if (!cli_int(v, 1, 100000, &n))
            return bad("repeat", "a number from 1 to 100000", v);
        a->repeat = (int)n;
        return 0;
    case O_WARMUP:
        if (!cli_int(v, 0, 100000, &n))
            return bad("warmup", "a number from 0 to 100000", v);
        a->warmup = (int)n;
        return 0;
    case O_MEM: return cli_mem_limit("fcn-bench", v, &a->mem_limit);
    case O_WINO:
        if (!choice(v, wino, 3, &k))
            return bad("winograd", "auto, never or always", v);
        a->opt.winograd = (fcn_winograd)k;
        return 0;
    case O_GEMM:
        if (!choice(v, gemm, 2, &k))
            return bad("gemm", "packed or blas", v);
        a->opt.gemm = (fcn_gemm)k;
        return 0;
    default: return cli_opt_error("fcn-bench", o, argv);
    }
}

/* 0: run; otherwise the exit status (-1: done, 0). */
static int parse_args(int argc, char **argv, args *a)
{
    a->repeat = 10;
    a->warmup = 2;
    a->layers = 1;
    int rc = cli_parse(argc, argv, "fcn-bench", longopts, 0, option, a,
                       &a->model, NULL);
    if (rc)
        return rc;
    if (!a->model) {
        fprintf(stderr, "fcn-bench: no MODEL given (fcn-bench --help lists "
                "the options)\n");
        return 2;
    }
    return 0;
}

/* Runs of the session into times (seconds) and the layers' timings into
** lt (layer-major); the per-layer figures of the last run in r->ls. */
static void timed_runs(const args *a, fcn_session *s, const float *in,
                       result *r, double *times, double *lt)
{
    for (int k = 0; k < a->warmup; k++)
        fcn_session_run(s, in, &r->sc);
    for (int k = 0; k < a->repeat; k++) {
        double t0 = now();
        fcn_session_run(s, in, &r->sc);
        times[k] = now() - t0;
        fcn_session_layers(s, r->ls, r->nl);
        for (int l = 0; l < r->nl; l++)
            lt[(size_t)l * a->repeat + k] = r->ls[l].seconds;
    }
    r->mn = r->mx = times[0];
    for (int k = 1; k < a->repeat; k++) {
        r->mn = times[k] < r->mn ? times[k] : r->mn;
        r->mx = times[k] > r->mx ? times[k] : r->mx;
    }
    r->med = median(times, a->repeat);
    r->flops = 0;
    for (int l = 0; l < r->nl; l++) {
        r->ls[l].seconds = median(lt + (size_t)l * a->repeat, a->repeat);
        r->flops += r->ls[l].flops;
    }
}

/* One size on one thread count, on fcn-bench's input pattern. 0 (after a
** message) on failure. */
static int measure(const args *a, const fcn_model *m, result *r)
{
    fcn_model_info info;
    fcn_model_get_info(m, &info);
    fcn_session *s = NULL;
    fcn_session_options so = {.threads = r->T,
                              .mem_limit = a->mem_limit, .tile = 0};
    if (fcn_session_create(m, r->H, r->W, &so, &s) != FCN_OK)
        return !die(fcn_last_error());
    const size_t n_in = (size_t)info.in_c * r->H * r->W;
    float *in = malloc(n_in * sizeof(float));
    r->nl = fcn_session_layers(s, NULL, 0);
    r->ls = calloc((size_t)r->nl, sizeof *r->ls);
    double *lt = calloc((size_t)r->nl * a->repeat, sizeof(double));
    double *times = calloc((size_t)a->repeat, sizeof(double));
    int ok = in && r->ls && lt && times;
    if (ok) {
        for (size_t i = 0; i < n_in; i++)
            in[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
        timed_runs(a, s, in, r, times, lt);
        r->rss = peak_rss_mb();
        int th, tw;
        fcn_session_tiles(s, &th, &tw, &r->tiles);
        r->arena_mb = fcn_session_arena_bytes(s) / 1e6;
    } else {
        die("out of memory");
    }
    free(in);
    free(lt);
    free(times);
    fcn_session_free(s);
    return ok;
}

/* The ceiling of the ISA a layer ran on: its vector width's FMA peak
** (the machine's best where the kernel names no fcn ISA); bf16: twice the
** zmm FMA peak (vdpbf16ps: two multiply-adds per lane). */
static double layer_peak(const result *r, const fcn_layer_stats *x)
{
    const char *isa = x->kernel ? strchr(x->kernel, '/') : NULL;
    if (isa && !strcmp(isa + 1, "avx512bf16") && r->peak512 > 0)
        return 2 * r->peak512;
    if (isa && !strcmp(isa + 1, "avx512") && r->peak512 > 0)
        return r->peak512;
    if (isa && !strcmp(isa + 1, "avx2") && r->peak256 > 0)
        return r->peak256;
    return r->peak;
}

static void print_result(const args *a, const result *r)
{
    printf("  %dx%d: median %.2f ms (min %.2f, max %.2f), %.2f images/s, "
           "%.1f GFLOP/s = %.0f%% of FMA peak; score map %dx%dx%d; arena "
           "%.1f MB (%d tile%s); peak RSS %.0f MB\n", r->W, r->H,
           r->med * 1e3, r->mn * 1e3, r->mx * 1e3, 1.0 / r->med,
           r->flops / r->med / 1e9,
           r->peak > 0 ? 100.0 * r->flops / r->med / 1e9 / r->peak : 0.0,
           r->sc.classes, r->sc.out_h, r->sc.out_w, r->arena_mb, r->tiles,
           r->tiles > 1 ? "s" : "", r->rss);
    if (!a->layers)
        return;
    printf("    (%%peak: of the FMA peak of the layer's ISA; %%sgemm: of bare "
           "OpenBLAS SGEMM of the layer's GEMM shape)\n");
    printf("    %-20s %-18s %-16s %-14s %9s %8s %6s %7s %9s  %s\n", "layer",
           "op", "in", "out", "ms", "GFLOP/s", "%peak", "%sgemm", "im2col MB",
           "kernel");
    for (int l = 0; l < r->nl; l++) {
        const fcn_layer_stats *x = &r->ls[l];
        char is[32], os[32];
        snprintf(is, sizeof is, "%dx%dx%d", x->in_c, x->in_h, x->in_w);
        snprintf(os, sizeof os, "%dx%dx%d", x->out_c, x->out_h, x->out_w);
        double g = x->flops > 0 && x->seconds > 0
                       ? x->flops / x->seconds / 1e9 : 0;
        double sg = x->gemm_m ? ceiling_sgemm(x->gemm_m, x->gemm_n, x->gemm_k,
                                              x->groups, r->T)
                              : 0;
        printf("    %-20.20s %-18.18s %-16s %-14s %9.3f", x->name, x->op, is,
               os, x->seconds * 1e3);
        double pk = layer_peak(r, x);
        if (x->flops > 0)
            printf(" %8.1f %5.0f%% %6.0f%% %9.2f  %s\n", g,
                   pk > 0 ? 100 * g / pk : 0, sg > 0 ? 100 * g / sg : 0,
                   x->im2col_bytes / 1e6, x->kernel ? x->kernel : "");
        else
            printf("\n");
    }
    if (ceiling_sgemm_error())
        printf("    (%%sgemm not measured: %s)\n", ceiling_sgemm_error());
}

static void json_result(cli_json *j, const args *a, const result *r,
                        const char *cpu, int first)
{
    cli_json_printf(j, "%s  {\"model\": ", first ? "" : ",\n");
    cli_json_str(j, a->model);
    cli_json_printf(j, ", \"width\": %d, \"height\": %d, \"threads\": %d, "
                    "\"median_ms\": %.4f, \"min_ms\": %.4f, \"max_ms\": "
                    "%.4f, \"gflops\": %.3f, \"fma_peak_gflops\": %.3f, "
                    "\"images_per_s\": %.4f, \"peak_rss_mb\": %.1f, "
                    "\"arena_mb\": %.3f, \"tiles\": %d, "
                    "\"fma_peak_avx2_gflops\": %.3f, "
                    "\"fma_peak_avx512_gflops\": %.3f, \"cpu\": ", r->W,
                    r->H, r->T, r->med * 1e3, r->mn * 1e3, r->mx * 1e3,
                    r->flops / r->med / 1e9, r->peak, 1.0 / r->med, r->rss,
                    r->arena_mb, r->tiles, r->peak256, r->peak512);
    cli_json_str(j, cpu);
    cli_json_printf(j, ", \"blas\": ");
    cli_json_str(j, fcn_blas_info());
    cli_json_printf(j, ", \"gemm\": ");
    cli_json_str(j, fcn_gemm_info(a->opt.gemm));
    cli_json_printf(j, ", \"layers\": [");
    for (int l = 0; l < r->nl; l++) {
        const fcn_layer_stats *x = &r->ls[l];
        cli_json_printf(j, l ? ",\n    {\"name\": " : "\n    {\"name\": ");
        cli_json_str(j, x->name);
        cli_json_printf(j, ", \"op\": ");
        cli_json_str(j, x->op);
        cli_json_printf(j, ", \"in\": [%d, %d, %d], \"out\": [%d, %d, %d], "
                        "\"ms\": %.4f, \"gflops\": %.3f, \"im2col_mb\": "
                        "%.3f, \"isa_peak_gflops\": %.3f, \"kernel\": ",
                        x->in_c, x->in_h, x->in_w, x->out_c,
                        x->out_h, x->out_w, x->seconds * 1e3,
                        x->flops > 0 && x->seconds > 0
                            ? x->flops / x->seconds / 1e9 : 0.0,
                        x->im2col_bytes / 1e6,
                        x->flops > 0 ? layer_peak(r, x) : 0.0);
        if (x->kernel)
            cli_json_str(j, x->kernel);
        else
            cli_json_printf(j, "null");
        cli_json_printf(j, "}");
    }
    cli_json_printf(j, "]}");
}

/* Every thread count x size; 0 on failure. */
static int bench(const args *a, const fcn_model *m, cli_json *j,
                 const char *cpu)
{
    for (int ti = 0, n = 0; ti < a->n_threads; ti++) {
        result r = {0};
        r.T = a->threads[ti];
        r.peak256 = ceiling_fma_width(r.T, 256);
        r.peak512 = ceiling_fma_width(r.T, 512);
        /* the machine's best: the widest vectors it has */
        r.peak = r.peak512 > 0 ? r.peak512 : r.peak256;
        r.isa = r.peak512 > 0 ? "AVX-512 FMA" : r.peak256 > 0 ? "AVX2 FMA"
                                                              : "none";
        printf("\nthreads %d: fp32 FMA peak %.0f GFLOP/s (%s, measured); "
               "AVX2 %.0f, AVX-512 %.0f%s\n", r.T, r.peak, r.isa, r.peak256,
               r.peak512, r.peak512 > 0 ? "" : " (not on this CPU)");
        for (int si = 0; si < a->n_sizes; si++) {
            r.W = a->sizes[si][0];
            r.H = a->sizes[si][1];
            int ok = measure(a, m, &r);
            if (ok) {
                print_result(a, &r);
                if (j)
                    json_result(j, a, &r, cpu, !n++);
            }
            free(r.ls);
            r.ls = NULL;
            if (!ok)
                return 0;
        }
    }
    return 1;
}

static int bench_main(int argc, char **argv)
{
    args a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    fcn_model *m = NULL;
    if (fcn_model_load(a.model, &a.opt, &m) != FCN_OK)
        return die(fcn_last_error());
    fcn_model_info info;
    fcn_model_get_info(m, &info);
    if (!a.n_sizes) {
        a.sizes[0][0] = info.in_w;
        a.sizes[0][1] = info.in_h;
        a.n_sizes = 1;
    }
    if (!a.n_threads)
        a.threads[a.n_threads++] = fcn_default_threads();
    /* --json -: the JSON on stdout, the report on stderr */
    FILE *jstd = NULL;
    if (a.json && !strcmp(a.json, "-")) {
        int fd = dup(STDOUT_FILENO);
        fflush(stdout);
        if (fd < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0 ||
            !(jstd = fdopen(fd, "w"))) {
            fcn_model_free(m);
            return die("--json -: cannot use standard output");
        }
    }
    char cpu[256];
    ceiling_cpu_name(cpu, sizeof cpu);
    printf("fcn-bench\n  model %s (trained %dx%dx%d, %d layers after "
           "conversion, %.1f MB weights)\n  CPU %s, %d logical cores\n  GEMM "
           "%s%s\n  BLAS %s\n  %d warm-up + %d timed runs per configuration\n",
           a.model, info.in_c, info.in_h, info.in_w, info.n_layers_fcn,
           info.weight_bytes / 1e6, cpu, ceiling_cores(),
           fcn_gemm_info(a.opt.gemm),
           a.opt.precision == FCN_PRECISION_BF16
               ? "; precision bf16 (AVX512_BF16 vdpbf16ps; Winograd "
                 "layers fp32)" : "",
           fcn_blas_info(), a.warmup, a.repeat);
    cli_file jf;
    cli_json j = {0};
    if (a.json && !jstd && !cli_file_open(&jf, a.json)) {
        fcn_model_free(m);
        return die(fcn_last_error());
    }
    cli_json_printf(&j, "[\n");
    rc = bench(&a, m, a.json ? &j : NULL, cpu) ? 0 : 1;
    cli_json_printf(&j, "\n]\n");
    if (jstd) {
        if (!rc && j.oom)
            rc = die("out of memory for the JSON");
        else if (!rc && (fwrite(j.s, 1, j.n, jstd) != j.n || fflush(jstd)))
            rc = die("writing the JSON on standard output failed");
        fclose(jstd);
    } else if (a.json) {
        if (rc || j.oom) {
            cli_file_abort(&jf);
            rc = rc ? rc : die("out of memory for the JSON");
        } else {
            fwrite(j.s, 1, j.n, jf.f); /* checked by the commit */
            if (!cli_file_commit(&jf))
                rc = die(fcn_last_error());
        }
    }
    cli_json_free(&j);
    fcn_model_free(m);
    return rc;
}

int main(int argc, char **argv)
{
    cli_signals();
    return cli_exit("fcn-bench", bench_main(argc, argv));
}
