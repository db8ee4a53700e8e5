/*
** fcn.c: public entry points for models: load (read, parse, convert),
** information, free.
*/
#define _DEFAULT_SOURCE /* madvise */
#include <cblas.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "internal.h"

/* Not declared by every cblas.h; both exist in OpenBLAS. */
extern char *openblas_get_config(void);
extern int openblas_get_parallel(void);

static void free_file(void *file, size_t size, int mapped)
{
    if (mapped)
        munmap(file, size);
    else
        fcn_free(file);
}

void fcn_model_free(fcn_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n_nodes; i++)
        node_free_weights(&m->nodes[i]);
    arena_free(&m->ar);
    if (m->file)
        free_file(m->file, m->file_size, m->file_mapped);
    fcn_free(m);
}

/* Parse and convert the file in buf; the model takes buf over (weights
** that need no change are used in place), also on failure. */
static fcn_status load_buffer(void *buf, size_t size, int mapped,
                              const fcn_options *opt, fcn_model **out)
{
    fcn_model *m = fcn_calloc(1, sizeof *m);
    if (!m) {
        free_file(buf, size, mapped);
        return fcn_error(FCN_ERR_NOMEM, "out of memory");
    }
    m->file = buf;
    m->file_size = size;
    m->file_mapped = mapped;
    rd_model rd;
    fcn_status st = rd_model_parse(buf, size, &rd);
    if (!st) {
        fcn_options defaults = {0};
        st = graph_build(&rd, opt ? opt : &defaults, m);
        rd_model_free(&rd);
    }
    if (st) {
        fcn_model_free(m);
        return st;
    }
    *out = m;
    return FCN_OK;
}

fcn_status fcn_model_load_memory(const void *data, size_t size,
                                 const fcn_options *opt, fcn_model **out)
{
    if (!out || (!data && size))
        return fcn_error(FCN_ERR_ARG, "fcn_model_load_memory: NULL argument");
    *out = NULL;
    unsigned char *buf = fcn_aligned_alloc(size);
    if (!buf)
        return fcn_error(FCN_ERR_NOMEM, "out of memory for a %zu-byte model",
                         size);
    if (size)
        memcpy(buf, data, size);
    return load_buffer(buf, size, 0, opt, out);
}

fcn_status fcn_model_load(const char *path, const fcn_options *opt,
                          fcn_model **out)
{
    if (!out || !path)
        return fcn_error(FCN_ERR_ARG, "fcn_model_load: NULL argument");
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return fcn_error(FCN_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return fcn_error(FCN_ERR_IO, "%s: not a regular file", path);
    }
    size_t size = (size_t)sb.st_size;
    /* Map the file: weights are used in place, and pages never touched
    ** cost nothing. Read it instead where mapping is not possible. */
    void *buf = size ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, fileno(f), 0)
                     : MAP_FAILED;
    int mapped = buf != MAP_FAILED;
    if (!mapped) {
        buf = fcn_aligned_alloc(size);
        if (!buf) {
            fclose(f);
            return fcn_error(FCN_ERR_NOMEM, "%s: out of memory for %zu bytes",
                             path, size);
        }
        size_t got = fread(buf, 1, size, f);
        if (got != size || ferror(f)) {
            fclose(f);
            fcn_free(buf);
            return fcn_error(FCN_ERR_IO, "%s: read %zu of %zu bytes", path,
                             got, size);
        }
    }
    fclose(f);
    fcn_status st = load_buffer(buf, size, mapped, opt, out);
    /* Loading read every weight, but the layers that run on packed copies
    ** never read the file's again: drop its pages from this process (any
    ** page still used comes back from the page cache on first touch) */
    if (!st && mapped)
        madvise(buf, size, MADV_DONTNEED);
    if (st) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", fcn_last_error());
        fcn_error(st, "%s: %s", path, msg);
    }
    return st;
}

void fcn_model_get_info(const fcn_model *m, fcn_model_info *info)
{
    memset(info, 0, sizeof *info);
    info->in_c = m->in_c;
    info->in_h = m->in_h;
    info->in_w = m->in_w;
    info->classes = m->classes;
    info->min_h = m->min_h;
    info->min_w = m->min_w;
    info->color = m->color;
    info->resize = m->resize;
    info->scale = m->scale;
    info->mean = m->mean;
    info->std = m->std;
    info->name = m->name;
    info->n_layers_file = m->n_file_layers;
    info->n_layers_fcn = m->n_nodes;
    info->weight_bytes = m->weight_bytes;
    info->geom = m->geom;
}

const char *fcn_model_label(const fcn_model *m, int cls)
{
    if (!m || cls < 0 || cls >= m->n_labels)
        return NULL;
    return m->labels[cls];
}

const char *fcn_model_summary(const fcn_model *m) { return m->summary; }

const char *fcn_blas_info(void)
{
    static _Thread_local char buf[256];
    int par = openblas_get_parallel();
    snprintf(buf, sizeof buf, "%s (%s)", openblas_get_config(),
             par == 2 ? "OpenMP" : par == 1 ? "pthreads" : "sequential");
    return buf;
}

const char *fcn_gemm_info(fcn_gemm gemm)
{
    if (gemm != FCN_GEMM_BLAS && gemm_available())
        return "fcn AVX2/FMA 6x16 kernel, weights packed at load";
    return "OpenBLAS SGEMM";
}
