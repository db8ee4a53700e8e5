/*
** reader.c: model.bin (docs/model-format.md) into layer records.
** Every count, length and offset is checked against the file before use.
*/
#include <stdio.h>
#include <string.h>

#include "core/reader.h"
#include "util/err.h"

#define MAX_STR 4096
#define MAX_ATTRS 64
#define MAX_ATTR_VALUES 65536
#define MAX_LAYERS 100000
#define MAX_LABELS 1000000
#define MAX_WEIGHTS 16

typedef struct cursor {
    const unsigned char *p;
    size_t pos, end;  /* graph section bounds inside the file */
    arena *ar;
    const char *where; /* for messages */
} cursor;

/* The weight area of the file. */
typedef struct area {
    const unsigned char *base;
    uint64_t size;
} area;

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static fcn_status truncated(const cursor *c)
{
    return err_set(FCN_ERR_FORMAT,
                   "model.bin: graph section truncated at byte %zu (%s)",
                   c->pos, c->where);
}

static int need(const cursor *c, size_t n) { return c->end - c->pos >= n; }

static fcn_status get_u32(cursor *c, uint32_t *v)
{
    if (!need(c, 4))
        return truncated(c);
    *v = le32(c->p + c->pos);
    c->pos += 4;
    return FCN_OK;
}

static fcn_status get_u64(cursor *c, uint64_t *v)
{
    if (!need(c, 8))
        return truncated(c);
    *v = le64(c->p + c->pos);
    c->pos += 8;
    return FCN_OK;
}

static fcn_status get_str(cursor *c, const char **s)
{
    uint32_t n = 0;
    fcn_status st = get_u32(c, &n);
    if (st)
        return st;
    if (n > MAX_STR)
        return err_set(FCN_ERR_FORMAT,
                       "model.bin: string of %u bytes at byte %zu (%s) "
                       "exceeds the limit of %d", n, c->pos - 4, c->where,
                       MAX_STR);
    if (!need(c, n))
        return truncated(c);
    if (memchr(c->p + c->pos, 0, n))
        return err_set(FCN_ERR_FORMAT,
                       "model.bin: string at byte %zu (%s) contains a NUL",
                       c->pos, c->where);
    *s = arena_strdup(c->ar, (const char *)c->p + c->pos, n);
    if (!*s)
        return err_set(FCN_ERR_NOMEM, "model.bin: out of memory");
    c->pos += n;
    return FCN_OK;
}

static fcn_status get_attrs(cursor *c, layer_attrs *out)
{
    uint32_t n = 0;
    fcn_status st = get_u32(c, &n);
    if (st)
        return st;
    if (n > MAX_ATTRS)
        return err_set(FCN_ERR_FORMAT,
                       "model.bin: %u attributes (%s), at most %d", n,
                       c->where, MAX_ATTRS);
    out->n = n;
    out->a = arena_alloc(c->ar, sizeof(layer_attr) * (n ? n : 1));
    if (!out->a)
        return err_set(FCN_ERR_NOMEM, "model.bin: out of memory");
    for (uint32_t i = 0; i < n; i++) {
        layer_attr *a = &out->a[i];
        if ((st = get_str(c, &a->key)))
            return st;
        for (uint32_t j = 0; j < i; j++)
            if (!strcmp(out->a[j].key, a->key))
                return err_set(FCN_ERR_FORMAT,
                               "model.bin: attribute '%s' repeated (%s)",
                               a->key, c->where);
        if (!need(c, 1))
            return truncated(c);
        a->type = (char)c->p[c->pos++];
        if (a->type == 's') {
            if ((st = get_str(c, &a->sv)))
                return st;
            continue;
        }
        if (a->type != 'i' && a->type != 'f')
            return err_set(FCN_ERR_FORMAT,
                           "model.bin: attribute '%s' (%s) has unknown type "
                           "code %d", a->key, c->where, a->type);
        if ((st = get_u32(c, &a->n)))
            return st;
        if (a->n > MAX_ATTR_VALUES)
            return err_set(FCN_ERR_FORMAT,
                           "model.bin: attribute '%s' (%s) has %u values, "
                           "at most %d", a->key, c->where, a->n,
                           MAX_ATTR_VALUES);
        size_t bytes = (size_t)a->n * (a->type == 'i' ? 8 : 4);
        if (!need(c, bytes))
            return truncated(c);
        const unsigned char *p = c->p + c->pos;
        if (a->type == 'i') {
            int64_t *v = arena_alloc(c->ar, bytes);
            if (!v)
                return err_set(FCN_ERR_NOMEM, "model.bin: out of memory");
            for (uint32_t j = 0; j < a->n; j++)
                v[j] = (int64_t)le64(p + 8 * j);
            a->iv = v;
        } else {
            float *v = arena_alloc(c->ar, bytes);
            if (!v)
                return err_set(FCN_ERR_NOMEM, "model.bin: out of memory");
            for (uint32_t j = 0; j < a->n; j++) {
                uint32_t u = le32(p + 4 * j);
                memcpy(&v[j], &u, 4);
            }
            a->fv = v;
        }
        c->pos += bytes;
    }
    return FCN_OK;
}

void rd_model_free(rd_model *m)
{
    if (m)
        arena_free(&m->ar);
}

/* The 64-byte header: where the graph section and the weight area are. */
static fcn_status parse_header(rd_model *m, cursor *c, area *wa)
{
    const unsigned char *b = m->buf;
    size_t size = m->size;
    if (size < 64 || memcmp(b, "FCNMODEL", 8) != 0)
        return err_set(FCN_ERR_FORMAT, "not a model.bin: %s",
                       size < 8 ? "file too short" : "bad magic");
    uint32_t version = le32(b + 8), header_size = le32(b + 12);
    if (version != 1)
        return err_set(FCN_ERR_FORMAT, "model.bin: version %u is not "
                       "supported (this fcn reads version 1)", version);
    uint64_t file_size = le64(b + 16), goff = le64(b + 24),
             gsize = le64(b + 32), doff = le64(b + 40), dsize = le64(b + 48);
    if (header_size != 64)
        return err_set(FCN_ERR_FORMAT, "model.bin: header size %u, "
                       "expected 64", header_size);
    if (file_size != size)
        return err_set(FCN_ERR_FORMAT, "model.bin: truncated or padded: "
                       "header says %llu bytes, file has %zu",
                       (unsigned long long)file_size, size);
    if (goff < 64 || goff > size || gsize > size - goff)
        return err_set(FCN_ERR_FORMAT, "model.bin: graph section [%llu, "
                       "+%llu) outside the file of %zu bytes",
                       (unsigned long long)goff, (unsigned long long)gsize,
                       size);
    if (doff % 64 || doff > size || dsize > size - doff)
        return err_set(FCN_ERR_FORMAT, "model.bin: weight area [%llu, +%llu) "
                       "misaligned or outside the file of %zu bytes",
                       (unsigned long long)doff, (unsigned long long)dsize,
                       size);
    if (dsize && goff < doff + dsize && doff < goff + gsize)
        return err_set(FCN_ERR_FORMAT,
                       "model.bin: graph section and weight area overlap");
    *c = (cursor){b, (size_t)goff, (size_t)(goff + gsize), &m->ar, "metadata"};
    *wa = (area){b + doff, dsize};
    return FCN_OK;
}

/* One weight record of a layer (`where` names the layer). */
static fcn_status parse_weight(cursor *c, const area *wa, const char *where,
                               layer_weight *w)
{
    uint32_t dtype = 0, ndim = 0;
    fcn_status st;
    if ((st = get_str(c, &w->name)) || (st = get_u32(c, &dtype)) ||
        (st = get_u32(c, &ndim)))
        return st;
    if (dtype != 0)
        return err_set(FCN_ERR_UNSUPPORTED, "model.bin: %s weight '%s' has "
                       "dtype %u (only 0 = float32)", where, w->name, dtype);
    if (ndim < 1 || ndim > 8)
        return err_set(FCN_ERR_FORMAT, "model.bin: %s weight '%s' has %u "
                       "dimensions (1 to 8)", where, w->name, ndim);
    w->ndim = (int)ndim;
    int64_t count = 1;
    for (uint32_t d = 0; d < ndim; d++) {
        uint64_t v = 0;
        if ((st = get_u64(c, &v)))
            return st;
        if (v > (uint64_t)MEM_MAX_ELEMS ||
            !mem_mul64(count, (int64_t)v, &count) || count > MEM_MAX_ELEMS)
            return err_set(FCN_ERR_FORMAT, "model.bin: %s weight '%s' has an "
                           "absurd size", where, w->name);
        w->dims[d] = (int64_t)v;
    }
    uint64_t off = 0;
    if ((st = get_u64(c, &off)))
        return st;
    w->count = count;
    uint64_t bytes = (uint64_t)count * 4;
    if (off % 64 || off > wa->size || bytes > wa->size - off)
        return err_set(FCN_ERR_FORMAT, "model.bin: %s weight '%s' (%llu bytes "
                       "at %llu) lies outside the weight area of %llu bytes "
                       "or is misaligned", where, w->name,
                       (unsigned long long)bytes, (unsigned long long)off,
                       (unsigned long long)wa->size);
    w->data = (const float *)(wa->base + off);
    return FCN_OK;
}

/* Layer record li: op, name, inputs, output, attributes, weights. */
static fcn_status parse_layer(cursor *c, const area *wa, uint32_t li,
                              layer *L)
{
    char where[96];
    fcn_status st;
    snprintf(where, sizeof where, "layer %u", li);
    c->where = where;
    if ((st = get_str(c, &L->op)) || (st = get_str(c, &L->name)))
        return st;
    snprintf(where, sizeof where, "layer %u '%.64s'", li, L->name);
    if ((st = get_u32(c, &L->n_in)))
        return st;
    if (L->n_in > OP_MAX_INPUTS)
        return err_set(FCN_ERR_FORMAT, "model.bin: %s has %u inputs, at most "
                       "%d", where, L->n_in, OP_MAX_INPUTS);
    L->inputs = arena_alloc(c->ar, sizeof(char *) * (L->n_in + 1));
    if (!L->inputs)
        return err_set(FCN_ERR_NOMEM, "model.bin: out of memory");
    for (uint32_t i = 0; i < L->n_in; i++)
        if ((st = get_str(c, &L->inputs[i])))
            return st;
    if ((st = get_str(c, &L->output)) || (st = get_attrs(c, &L->attrs)))
        return st;
    if ((st = get_u32(c, &L->n_w)))
        return st;
    if (L->n_w > MAX_WEIGHTS)
        return err_set(FCN_ERR_FORMAT, "model.bin: %s has %u weights, at most "
                       "%d", where, L->n_w, MAX_WEIGHTS);
    L->w = arena_alloc(c->ar, sizeof(layer_weight) * (L->n_w + 1));
    if (!L->w)
        return err_set(FCN_ERR_NOMEM, "model.bin: out of memory");
    for (uint32_t wi = 0; wi < L->n_w; wi++)
        if ((st = parse_weight(c, wa, where, &L->w[wi])))
            return st;
    c->where = "layer records";
    return FCN_OK;
}

static fcn_status parse(rd_model *m)
{
    cursor c = {0};
    area wa = {0};
    fcn_status st;
    if ((st = parse_header(m, &c, &wa)) || (st = get_attrs(&c, &m->meta)))
        return st;
    c.where = "labels";
    if ((st = get_u32(&c, &m->n_labels)))
        return st;
    if (m->n_labels > MAX_LABELS || m->n_labels > (c.end - c.pos) / 4)
        return err_set(FCN_ERR_FORMAT, "model.bin: %u labels do not fit in "
                       "the graph section", m->n_labels);
    m->labels = arena_alloc(&m->ar, sizeof(char *) * (m->n_labels + 1));
    if (!m->labels)
        return err_set(FCN_ERR_NOMEM, "model.bin: out of memory");
    for (uint32_t i = 0; i < m->n_labels; i++)
        if ((st = get_str(&c, &m->labels[i])))
            return st;
    c.where = "layer count";
    if ((st = get_u32(&c, &m->n_layers)))
        return st;
    if (m->n_layers < 1 || m->n_layers > MAX_LAYERS ||
        m->n_layers > (c.end - c.pos) / 16)
        return err_set(FCN_ERR_FORMAT, "model.bin: layer count %u is "
                       "impossible (1 to %d, and it must fit the graph "
                       "section)", m->n_layers, MAX_LAYERS);
    m->layers = arena_alloc(&m->ar, sizeof(layer) * m->n_layers);
    if (!m->layers)
        return err_set(FCN_ERR_NOMEM, "model.bin: out of memory");
    for (uint32_t li = 0; li < m->n_layers; li++)
        if ((st = parse_layer(&c, &wa, li, &m->layers[li])))
            return st;
    if (c.pos != c.end)
        return err_set(FCN_ERR_FORMAT, "model.bin: %zu unexpected bytes at "
                       "the end of the graph section", c.end - c.pos);
    return FCN_OK;
}

fcn_status rd_model_parse(const unsigned char *buf, size_t size,
                          rd_model *out)
{
    memset(out, 0, sizeof *out);
    out->buf = buf;
    out->size = size;
    fcn_status st = parse(out);
    if (st)
        rd_model_free(out);
    return st;
}
