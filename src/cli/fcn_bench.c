/*
** fcn-bench: time a model on this machine, per input size and thread count,
** with a per-layer table against the machine's own FMA peak and bare SGEMM
** of each layer's shape, both measured here.
*/
#include <cblas.h>
#include <errno.h>
#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "fcn.h"

#define MAX_LIST 16

static const char *usage =
    "usage: fcn-bench MODEL [options]\n"
    "  --size WxH     input size (repeatable; default: the trained size)\n"
    "  --threads N    thread count (repeatable; default: all cores)\n"
    "  --repeat R     timed runs per configuration (default 10)\n"
    "  --warmup W     untimed runs first (default 2)\n"
    "  --json FILE    write the results as a JSON list\n"
    "  --mem-limit N  bytes for activations (K, M, G suffixes; default 512M)\n"
    "  --winograd W   3x3 convs as Winograd F(4x4,3x3): auto, never, always\n"
    "  --gemm G       convolution GEMM: packed (fcn's AVX2 kernel, the default\n"
    "                 where the CPU has it) or blas (OpenBLAS SGEMM)\n"
    "  --no-layers    skip the per-layer table (and its SGEMM measurements)\n";

static int die(const char *msg)
{
    fprintf(stderr, "fcn-bench: %s\n", msg);
    return 1;
}

#include "cli_util.h"

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

/* ---- the FMA peak: independent FMA chains on every thread ---- */

__attribute__((target("avx512f"))) static double fma_loop512(long iters)
{
    __m512 a[12], b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < 12; i++)
        a[i] = _mm512_set1_ps((float)i);
    for (long it = 0; it < iters; it++)
        for (int i = 0; i < 12; i++)
            a[i] = _mm512_fmadd_ps(a[i], b, c);
    float s = 0;
    for (int i = 0; i < 12; i++)
        s += _mm512_reduce_add_ps(a[i]);
    return s;
}

__attribute__((target("avx2,fma"))) static double fma_loop256(long iters)
{
    __m256 a[12], b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < 12; i++)
        a[i] = _mm256_set1_ps((float)i);
    for (long it = 0; it < iters; it++)
        for (int i = 0; i < 12; i++)
            a[i] = _mm256_fmadd_ps(a[i], b, c);
    float t[8], s = 0;
    for (int i = 0; i < 12; i++) {
        _mm256_storeu_ps(t, a[i]);
        for (int k = 0; k < 8; k++)
            s += t[k];
    }
    return s;
}

/* GFLOP/s of fp32 FMA over `threads` threads; *isa names the vector width. */
static double fma_peak(int threads, const char **isa)
{
    int w512 = __builtin_cpu_supports("avx512f");
    int w256 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    *isa = w512 ? "AVX-512 FMA" : w256 ? "AVX2 FMA" : "none";
    if (!w512 && !w256)
        return 0;
    long iters = 20000000;
    int lanes = w512 ? 16 : 8;
    double best = 0, sink = 0;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = omp_get_wtime();
        #pragma omp parallel num_threads(threads) reduction(+ : sink)
        sink += w512 ? fma_loop512(iters) : fma_loop256(iters);
        double t = omp_get_wtime() - t0;
        double g = 2.0 * 12 * lanes * (double)iters * threads / t / 1e9;
        if (g > best)
            best = g;
    }
    if (sink == 12345.0)
        puts("");
    return best;
}

/* ---- bare SGEMM of a layer's GEMM shape ---- */

typedef struct gemm_cache {
    long m, n, k, groups;
    int threads;
    double gflops;
} gemm_cache;

static gemm_cache cache[512];
static int n_cache;

/* N is capped: the throughput per column is what is compared. */
static double sgemm_gflops(long M, long N, long K, long G, int threads)
{
    if (N > 32768)
        N = 32768;
    for (int i = 0; i < n_cache; i++)
        if (cache[i].m == M && cache[i].n == N && cache[i].k == K &&
            cache[i].groups == G && cache[i].threads == threads)
            return cache[i].gflops;
    float *a = malloc(sizeof(float) * M * K * G), *b = malloc(sizeof(float) * K * N * G),
          *c = malloc(sizeof(float) * M * N * G);
    if (!a || !b || !c) {
        free(a); free(b); free(c);
        return 0;
    }
    for (long i = 0; i < M * K * G; i++)
        a[i] = (float)(i % 7) * 0.1f;
    for (long i = 0; i < K * N * G; i++)
        b[i] = (float)(i % 5) * 0.1f;
    int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    double best = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = omp_get_wtime();
        for (long g = 0; g < G; g++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M,
                        (int)N, (int)K, 1.0f, a + g * M * K, (int)K,
                        b + g * K * N, (int)N, 0.0f, c + g * M * N, (int)N);
        double t = omp_get_wtime() - t0;
        if (t < best)
            best = t;
    }
    omp_set_num_threads(saved);
    free(a); free(b); free(c);
    double g = 2.0 * M * N * K * G / best / 1e9;
    if (n_cache < 512)
        cache[n_cache++] = (gemm_cache){M, N, K, G, threads, g};
    return g;
}

static void cpu_name(char *buf, size_t n)
{
    snprintf(buf, n, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10)) {
            char *p = strchr(line, ':');
            if (p) {
                p += 2;
                p[strcspn(p, "\n")] = 0;
                snprintf(buf, n, "%s", p);
            }
            break;
        }
    fclose(f);
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", *s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

int main(int argc, char **argv)
{
    const char *model_path = NULL, *json_path = NULL;
    int sizes[MAX_LIST][2], n_sizes = 0, threads[MAX_LIST], n_threads = 0;
    int repeat = 10, warmup = 2, layers = 1;
    size_t mem_limit = 0;
    fcn_options mopt = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        char extra;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(a, "--size") && more && n_sizes < MAX_LIST) {
            int *s = sizes[n_sizes++];
            if (sscanf(argv[++i], "%dx%d%c", &s[0], &s[1], &extra) != 2 ||
                s[0] < 1 || s[1] < 1 || s[0] > 100000 || s[1] > 100000)
                return die("--size needs WxH, e.g. 1024x1024");
        } else if (!strcmp(a, "--threads") && more && n_threads < MAX_LIST) {
            if (sscanf(argv[++i], "%d%c", &threads[n_threads], &extra) != 1 ||
                threads[n_threads] < 1 || threads[n_threads] > 1024)
                return die("--threads needs a number from 1 to 1024");
            n_threads++;
        } else if (!strcmp(a, "--repeat") && more) {
            if (sscanf(argv[++i], "%d%c", &repeat, &extra) != 1 || repeat < 1 ||
                repeat > 100000)
                return die("--repeat needs a positive number");
        } else if (!strcmp(a, "--warmup") && more) {
            if (sscanf(argv[++i], "%d%c", &warmup, &extra) != 1 || warmup < 0 ||
                warmup > 100000)
                return die("--warmup needs a number >= 0");
        } else if (!strcmp(a, "--json") && more) {
            json_path = argv[++i];
        } else if (!strcmp(a, "--mem-limit") && more) {
            if (!parse_size(argv[++i], &mem_limit))
                return die("--mem-limit needs a size such as 512M or 2G");
        } else if (!strcmp(a, "--winograd") && more) {
            const char *v = argv[++i];
            if (!strcmp(v, "auto"))
                mopt.winograd = FCN_WINOGRAD_AUTO;
            else if (!strcmp(v, "never"))
                mopt.winograd = FCN_WINOGRAD_NEVER;
            else if (!strcmp(v, "always"))
                mopt.winograd = FCN_WINOGRAD_ALWAYS;
            else
                return die("--winograd takes auto, never or always");
        } else if (!strcmp(a, "--gemm") && more) {
            const char *v = argv[++i];
            if (!strcmp(v, "packed"))
                mopt.gemm = FCN_GEMM_AUTO;
            else if (!strcmp(v, "blas"))
                mopt.gemm = FCN_GEMM_BLAS;
            else
                return die("--gemm takes packed or blas");
        } else if (!strcmp(a, "--no-layers")) {
            layers = 0;
        } else if (a[0] == '-' || model_path) {
            fprintf(stderr, "fcn-bench: unexpected argument '%s'\n%s", a, usage);
            return 2;
        } else {
            model_path = a;
        }
    }
    if (!model_path) {
        fputs(usage, stderr);
        return 2;
    }
    fcn_model *m = NULL;
    if (fcn_model_load(model_path, &mopt, &m) != FCN_OK)
        return die(fcn_last_error());
    fcn_model_info info;
    fcn_model_get_info(m, &info);
    if (!n_sizes) {
        sizes[0][0] = info.in_w;
        sizes[0][1] = info.in_h;
        n_sizes = 1;
    }
    if (!n_threads)
        threads[n_threads++] = omp_get_max_threads();

    char cpu[256];
    cpu_name(cpu, sizeof cpu);
    printf("fcn-bench\n  model %s (trained %dx%dx%d, %d layers after "
           "conversion, %.1f MB weights)\n  CPU %s, %d logical cores\n  GEMM "
           "%s\n  BLAS %s\n  %d warm-up + %d timed runs per configuration\n",
           model_path, info.in_c, info.in_h, info.in_w, info.n_layers_fcn,
           info.weight_bytes / 1e6, cpu, omp_get_num_procs(),
           fcn_gemm_info(mopt.gemm), fcn_blas_info(), warmup, repeat);

    FILE *jf = NULL;
    char tmp_json[4096];
    if (json_path) {
        snprintf(tmp_json, sizeof tmp_json, "%s.tmp", json_path);
        jf = fopen(tmp_json, "w");
        if (!jf) {
            fcn_model_free(m);
            return die(strerror(errno));
        }
        fputs("[\n", jf);
    }
    int first_json = 1, rc = 0;
    for (int ti = 0; ti < n_threads && !rc; ti++) {
        int T = threads[ti];
        const char *isa;
        double peak = fma_peak(T, &isa);
        printf("\nthreads %d: fp32 FMA peak %.0f GFLOP/s (%s, measured)\n", T,
               peak, isa);
        for (int si = 0; si < n_sizes && !rc; si++) {
            int W = sizes[si][0], H = sizes[si][1];
            fcn_session *s = NULL;
            fcn_session_options so = {T, mem_limit, 0};
            if (fcn_session_create(m, H, W, &so, &s) != FCN_OK) {
                rc = die(fcn_last_error());
                break;
            }
            size_t n_in = (size_t)info.in_c * H * W;
            float *in = malloc(n_in * sizeof(float));
            int nl = fcn_session_layers(s, NULL, 0);
            fcn_layer_stats *ls = calloc((size_t)nl, sizeof *ls);
            double *lt = calloc((size_t)nl * repeat, sizeof(double));
            double *times = calloc((size_t)repeat, sizeof(double));
            if (!in || !ls || !lt || !times) {
                rc = die("out of memory");
                free(in); free(ls); free(lt); free(times);
                fcn_session_free(s);
                break;
            }
            for (size_t i = 0; i < n_in; i++)
                in[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
            fcn_scores sc;
            for (int r = 0; r < warmup; r++)
                fcn_session_run(s, in, &sc);
            for (int r = 0; r < repeat; r++) {
                double t0 = omp_get_wtime();
                fcn_session_run(s, in, &sc);
                times[r] = omp_get_wtime() - t0;
                fcn_session_layers(s, ls, nl);
                for (int l = 0; l < nl; l++)
                    lt[(size_t)l * repeat + r] = ls[l].seconds;
            }
            double mn = times[0], mx = times[0];
            for (int r = 1; r < repeat; r++) {
                mn = times[r] < mn ? times[r] : mn;
                mx = times[r] > mx ? times[r] : mx;
            }
            double med = median(times, repeat), flops = 0;
            for (int l = 0; l < nl; l++) {
                ls[l].seconds = median(lt + (size_t)l * repeat, repeat);
                flops += ls[l].flops;
            }
            double rss = peak_rss_mb();
            int th, tw, ntiles;
            fcn_session_tiles(s, &th, &tw, &ntiles);
            printf("  %dx%d: median %.2f ms (min %.2f, max %.2f), %.2f "
                   "images/s, %.1f GFLOP/s = %.0f%% of FMA peak; score map "
                   "%dx%dx%d; arena %.1f MB (%d tile%s); peak RSS %.0f MB\n", W, H,
                   med * 1e3, mn * 1e3, mx * 1e3, 1.0 / med, flops / med / 1e9,
                   peak > 0 ? 100.0 * flops / med / 1e9 / peak : 0.0,
                   sc.classes, sc.out_h, sc.out_w,
                   fcn_session_arena_bytes(s) / 1e6, ntiles,
                   ntiles > 1 ? "s" : "", rss);
            if (layers) {
                printf("    %-20s %-18s %-16s %-14s %9s %8s %6s %7s %9s\n",
                       "layer", "op", "in", "out", "ms", "GFLOP/s", "%peak",
                       "%sgemm", "im2col MB");
                for (int l = 0; l < nl; l++) {
                    fcn_layer_stats *x = &ls[l];
                    char is[32], os[32];
                    snprintf(is, sizeof is, "%dx%dx%d", x->in_c, x->in_h, x->in_w);
                    snprintf(os, sizeof os, "%dx%dx%d", x->out_c, x->out_h, x->out_w);
                    double g = x->flops > 0 && x->seconds > 0
                                   ? x->flops / x->seconds / 1e9 : 0;
                    double sg = x->gemm_m ? sgemm_gflops(x->gemm_m, x->gemm_n,
                                                         x->gemm_k, x->groups, T)
                                          : 0;
                    printf("    %-20.20s %-18.18s %-16s %-14s %9.3f", x->name,
                           x->op, is, os, x->seconds * 1e3);
                    if (x->flops > 0)
                        printf(" %8.1f %5.0f%% %6.0f%% %9.2f\n", g,
                               peak > 0 ? 100 * g / peak : 0,
                               sg > 0 ? 100 * g / sg : 0, x->im2col_bytes / 1e6);
                    else
                        printf("\n");
                }
            }
            if (jf) {
                fprintf(jf, "%s  {\"model\": ", first_json ? "" : ",\n");
                first_json = 0;
                json_str(jf, model_path);
                fprintf(jf, ", \"width\": %d, \"height\": %d, \"threads\": %d, "
                        "\"median_ms\": %.4f, \"min_ms\": %.4f, \"max_ms\": %.4f, "
                        "\"gflops\": %.3f, \"fma_peak_gflops\": %.3f, "
                        "\"images_per_s\": %.4f, \"peak_rss_mb\": %.1f, "
                        "\"arena_mb\": %.3f, \"tiles\": %d, \"cpu\": ",
                        W, H, T, med * 1e3, mn * 1e3, mx * 1e3,
                        flops / med / 1e9, peak, 1.0 / med, rss,
                        fcn_session_arena_bytes(s) / 1e6, ntiles);
                json_str(jf, cpu);
                fputs(", \"blas\": ", jf);
                json_str(jf, fcn_blas_info());
                fputs(", \"gemm\": ", jf);
                json_str(jf, fcn_gemm_info(mopt.gemm));
                fputs(", \"layers\": [", jf);
                for (int l = 0; l < nl; l++) {
                    fcn_layer_stats *x = &ls[l];
                    fputs(l ? ",\n    {\"name\": " : "\n    {\"name\": ", jf);
                    json_str(jf, x->name);
                    fputs(", \"op\": ", jf);
                    json_str(jf, x->op);
                    fprintf(jf, ", \"in\": [%d, %d, %d], \"out\": [%d, %d, %d], "
                            "\"ms\": %.4f, \"gflops\": %.3f, \"im2col_mb\": %.3f}",
                            x->in_c, x->in_h, x->in_w, x->out_c, x->out_h,
                            x->out_w, x->seconds * 1e3,
                            x->flops > 0 && x->seconds > 0
                                ? x->flops / x->seconds / 1e9 : 0.0,
                            x->im2col_bytes / 1e6);
                }
                fputs("]}", jf);
            }
            free(in); free(ls); free(lt); free(times);
            fcn_session_free(s);
        }
    }
    if (jf) {
        fputs("\n]\n", jf);
        if (fclose(jf) != 0 || rc || rename(tmp_json, json_path) != 0) {
            remove(tmp_json);
            if (!rc)
                rc = die("cannot write the JSON file");
        }
    }
    fcn_model_free(m);
    return rc;
}
