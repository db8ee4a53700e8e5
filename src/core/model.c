/*
** model.c: loading a model (read, parse, convert, fold, prepare weights,
** geometry) and the public model entry points.
**
**   reader      model.bin -> layer records            (reader.c)
**   meta, graph records -> nodes; shapes as trained    (meta.c, graph.c)
**   pass_fcn    the classifier -> fully convolutional  (pass_fcn.c)
**   pass_fold   drop, fold, fuse, compact              (pass_fold.c)
**   pass_atrous a map finer than the stride (option)   (pass_atrous.c)
**   prepare     pack weights, Winograd transforms      (each op's prepare)
**   geometry    stride, offset, receptive field, smallest input
*/
#define _DEFAULT_SOURCE /* madvise */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "core/model.h"
#include "kernels/blas.h"
#include "kernels/gemm.h"
#include "kernels/gemm_bf16.h"
#include "util/err.h"

#define SUMMARY_LINE 200

static void free_file(void *file, size_t size, int mapped)
{
    if (mapped)
        munmap(file, size);
    else
        mem_free(file);
}

void fcn_model_free(fcn_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n_nodes; i++)
        node_release(&m->nodes[i]);
    arena_free(&m->ar);
    if (m->file)
        free_file(m->file, m->file_size, m->file_mapped);
    mem_free(m);
}

/* Every op's load-time work on its weights, and what run will read. */
static fcn_status prepare(fcn_model *m, const fcn_options *opt)
{
    op_prepare c = {opt, m->file_mapped, &m->blas};
    for (int i = 0; i < m->n_nodes; i++) {
        node *n = &m->nodes[i];
        const op_def *d = op_get(n->op);
        fcn_status st = d->prepare ? d->prepare(n, &c) : FCN_OK;
        if (st)
            return st;
        if (d->weight_bytes)
            m->weight_bytes += d->weight_bytes(n);
    }
    return FCN_OK;
}

/* One line per converted layer, with its output shape at the trained
** size. */
static fcn_status describe(fcn_model *m, const shape *shapes)
{
    size_t cap = 128 + (size_t)m->n_nodes * SUMMARY_LINE, len = 0;
    m->summary = arena_alloc(&m->ar, cap);
    if (!m->summary)
        return err_set(FCN_ERR_NOMEM, "out of memory");
    for (int i = 0; i < m->n_nodes && len < cap; i++) {
        const node *n = &m->nodes[i];
        const op_def *d = op_get(n->op);
        shape o = shapes[n->out];
        char extra[96] = "";
        if (d->describe)
            d->describe(n, extra, sizeof extra);
        len += (size_t)snprintf(m->summary + len, cap - len,
                                "%-24.24s %-26.26s%-24s -> %dx%dx%d\n",
                                n->name, n->label, extra, o.c, o.h, o.w);
    }
    return FCN_OK;
}

static fcn_status copy_labels(const rd_model *rd, fcn_model *m)
{
    m->n_labels = (int)rd->n_labels;
    m->labels = arena_alloc(&m->ar, sizeof(char *) * (rd->n_labels + 1));
    if (!m->labels)
        return err_set(FCN_ERR_NOMEM, "out of memory");
    for (uint32_t i = 0; i < rd->n_labels; i++)
        if (!(m->labels[i] = arena_strdup(&m->ar, rd->labels[i],
                                          strlen(rd->labels[i]))))
            return err_set(FCN_ERR_NOMEM, "out of memory");
    return FCN_OK;
}

/* The classifier as read: nodes, and its shapes at the trained size. */
static fcn_status build(const rd_model *rd, fcn_model *m, node *nodes,
                        shape *trained)
{
    const char *input_name = "input";
    fcn_status st;
    if ((st = meta_parse(rd, m, &input_name)) || (st = copy_labels(rd, m)))
        return st;
    const int n_nodes = (int)rd->n_layers;
    m->nodes = nodes;
    st = graph_nodes(rd, input_name, &m->ar, nodes, &m->n_nodes);
    if (st)
        return st;
    if ((st = graph_infer(nodes, n_nodes, (shape){m->in_c, m->in_h, m->in_w},
                          trained, 1)))
        return err_wrap(st, "at the trained size %dx%dx%d, ", m->in_c,
                        m->in_h, m->in_w);
    m->classes = trained[n_nodes].c;
    if (m->n_labels && m->n_labels != m->classes)
        return err_set(FCN_ERR_FORMAT, "model.bin: %d labels for %d classes",
                       m->n_labels, m->classes);
    return FCN_OK;
}

static fcn_status load_graph(const rd_model *rd, const fcn_options *opt,
                             fcn_model *m)
{
    const int n_nodes = (int)rd->n_layers;
    m->n_file_layers = n_nodes;
    node *nodes = arena_alloc(&m->ar, sizeof(node) * n_nodes);
    shape *trained = mem_alloc(sizeof(shape) * (n_nodes + 1));
    shape *converted = mem_alloc(sizeof(shape) * (n_nodes + 1));
    shape *scratch = mem_alloc(sizeof(shape) * (n_nodes + 1));
    fcn_status st;
    if (!nodes || !trained || !converted || !scratch) {
        st = err_set(FCN_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((st = build(rd, m, nodes, trained)) ||
        (st = meta_override(m, &opt->prep)) ||
        (st = pass_fcn(nodes, n_nodes, trained, opt, &m->ar, converted)) ||
        (st = pass_fold(m, nodes, n_nodes, n_nodes, converted)) ||
        (st = pass_atrous(m, opt->stride_divisor, converted)) ||
        (st = prepare(m, opt)) || (st = geom_compute(m, scratch)))
        goto done;
    st = describe(m, converted);
done:
    mem_free(trained);
    mem_free(converted);
    mem_free(scratch);
    return st;
}

/* Whether the options' precision can run here. */
static fcn_status check_precision(const fcn_options *opt)
{
    if (!opt || opt->precision == FCN_PRECISION_FP32)
        return FCN_OK;
    if (opt->precision != FCN_PRECISION_BF16)
        return err_set(FCN_ERR_ARG, "fcn_options.precision: unknown value %d",
                       (int)opt->precision);
    const gemm_isa *isa = gemm_isa_get();
    if (!gemm_bf16_supported())
        return err_set(FCN_ERR_UNSUPPORTED, "precision bf16 needs a CPU "
                       "with AVX512_BF16; this one has none (use fp32)");
    if (opt->gemm == FCN_GEMM_BLAS || !isa || strcmp(isa->id, "avx512"))
        return err_set(FCN_ERR_UNSUPPORTED, "precision bf16 needs fcn's "
                       "AVX-512 kernel, not %s (FCN_ISA, gemm option)",
                       opt->gemm == FCN_GEMM_BLAS || !isa ? "OpenBLAS"
                                                          : isa->id);
    return FCN_OK;
}

/* Parse and convert the file in buf; the model takes buf over (weights
** that need no change are used in place), also on failure. */
static fcn_status load_buffer(void *buf, size_t size, int mapped,
                              const fcn_options *opt, fcn_model **out)
{
    if (opt && opt->max_pixels < 0) {
        free_file(buf, size, mapped);
        return err_set(FCN_ERR_ARG, "fcn_options.max_pixels is negative "
                       "(%lld)", (long long)opt->max_pixels);
    }
    fcn_status pst = check_precision(opt);
    if (pst) {
        free_file(buf, size, mapped);
        return pst;
    }
    fcn_model *m = mem_calloc(1, sizeof *m);
    if (!m) {
        free_file(buf, size, mapped);
        return err_set(FCN_ERR_NOMEM, "out of memory");
    }
    m->max_pixels = opt && opt->max_pixels ? opt->max_pixels
                                           : FCN_DEFAULT_MAX_PIXELS;
    m->file = buf;
    m->file_size = size;
    m->file_mapped = mapped;
    rd_model rd;
    fcn_status st = rd_model_parse(buf, size, &rd);
    if (!st) {
        fcn_options defaults = {0};
        st = load_graph(&rd, opt ? opt : &defaults, m);
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
        return err_set(FCN_ERR_ARG, "fcn_model_load_memory: NULL argument");
    *out = NULL;
    unsigned char *buf = mem_aligned(size);
    if (!buf)
        return err_set(FCN_ERR_NOMEM, "out of memory for a %zu-byte model",
                       size);
    if (size)
        memcpy(buf, data, size);
    return load_buffer(buf, size, 0, opt, out);
}

/* The file mapped (weights are used in place, and pages never touched
** cost nothing), or read where mapping is not possible. */
static fcn_status read_file(const char *path, void **buf, size_t *size,
                            int *mapped)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(FCN_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return err_set(FCN_ERR_IO, "%s: not a regular file", path);
    }
    *size = (size_t)sb.st_size;
    *buf = *size ? mmap(NULL, *size, PROT_READ, MAP_PRIVATE, fileno(f), 0)
                 : MAP_FAILED;
    *mapped = *buf != MAP_FAILED;
    if (!*mapped) {
        *buf = mem_aligned(*size);
        if (!*buf) {
            fclose(f);
            return err_set(FCN_ERR_NOMEM, "%s: out of memory for %zu bytes",
                           path, *size);
        }
        size_t got = fread(*buf, 1, *size, f);
        if (got != *size || ferror(f)) {
            fclose(f);
            mem_free(*buf);
            return err_set(FCN_ERR_IO, "%s: read %zu of %zu bytes", path, got,
                           *size);
        }
    }
    fclose(f);
    return FCN_OK;
}

fcn_status fcn_model_load(const char *path, const fcn_options *opt,
                          fcn_model **out)
{
    if (!out || !path)
        return err_set(FCN_ERR_ARG, "fcn_model_load: NULL argument");
    *out = NULL;
    void *buf = NULL;
    size_t size = 0;
    int mapped = 0;
    fcn_status st = read_file(path, &buf, &size, &mapped);
    if (st)
        return st;
    st = load_buffer(buf, size, mapped, opt, out);
    /* Loading read every weight, but the layers that run on packed copies
    ** never read the file's again: drop its pages from this process (any
    ** page still used comes back from the page cache on first touch) */
    if (!st && mapped)
        madvise(buf, size, MADV_DONTNEED);
    if (st)
        err_wrap(st, "%s: ", path);
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
    info->color = img_color_name(m->prep.color);
    info->resize = img_filter_name(m->resize);
    info->scale = m->prep.scale;
    info->mean = m->prep.mean;
    info->std = m->prep.std;
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

fcn_status fcn_model_map_size(const fcn_model *m, int image_h, int image_w,
                              int *out_h, int *out_w)
{
    if (!m || !out_h || !out_w)
        return err_set(FCN_ERR_ARG, "fcn_model_map_size: NULL argument");
    if (image_h < 1 || image_w < 1 || image_h > (1 << 20) ||
        image_w > (1 << 20))
        return err_set(FCN_ERR_ARG, "image %dx%d (width x height): each side "
                       "must be 1 to 1048576", image_w, image_h);
    shape *sh = mem_alloc(sizeof(shape) * (size_t)m->n_tensors);
    if (!sh)
        return err_set(FCN_ERR_NOMEM, "out of memory");
    fcn_status st = graph_infer_size(m, image_h, image_w, sh);
    if (!st) {
        *out_h = sh[m->out_tensor].h;
        *out_w = sh[m->out_tensor].w;
    }
    mem_free(sh);
    return st;
}

const char *fcn_blas_info(void) { return blas_info(); }

const char *fcn_gemm_info(fcn_gemm gemm)
{
    const gemm_isa *isa = gemm_isa_get();
    if (gemm != FCN_GEMM_BLAS && isa)
        return isa->name;
    return "OpenBLAS SGEMM";
}
