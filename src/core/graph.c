/*
** graph.c: the layer graph of a model.bin: nodes from the layer records
** (through each op's parse), tensors by name, and shape inference.
*/
#include <stdio.h>
#include <string.h>

#include "core/model.h"
#include "util/err.h"
#include "util/mem.h"

#define MAX_OUTPUT_FLOATS ((int64_t)1 << 34)
/* A map may exceed its input's by 4x + 1 Mpx (docs/model-format.md): a
** classifier's maps only shrink but for a few pixels of padding, and a
** map far larger comes only from padding, which costs no bytes in the
** file but run time in proportion to the map. */
#define MAX_MAP_GROWTH 4
#define MAX_MAP_EXTRA ((int64_t)1 << 20)

/* ---- string -> tensor id ---- */

typedef struct name_map {
    const char **keys;
    int *vals;
    size_t cap;
} name_map;

static size_t hash_str(const char *s)
{
    size_t h = 1469598103934665603u;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211u;
    return h;
}

static int map_get(const name_map *m, const char *k)
{
    for (size_t i = hash_str(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->keys[i])
            return -1;
        if (!strcmp(m->keys[i], k))
            return m->vals[i];
    }
}

static void map_put(name_map *m, const char *k, int v)
{
    size_t i = hash_str(k) & (m->cap - 1);
    while (m->keys[i])
        i = (i + 1) & (m->cap - 1);
    m->keys[i] = k;
    m->vals[i] = v;
}

/* ---- layers into nodes ---- */

static fcn_status unknown_op(const layer *L)
{
    char list[512] = "";
    for (int i = 0; i < OP_COUNT; i++) {
        strcat(list, i ? ", " : "");
        strcat(list, op_name((op_id)i));
    }
    return err_set(FCN_ERR_UNSUPPORTED, "layer '%s': unknown op '%s' "
                   "(supported: %s)", L->name, L->op, list);
}

fcn_status node_parse(const layer *L, node *n, arena *ar)
{
    op_id op = op_find(L->op);
    if (op == OP_COUNT)
        return unknown_op(L);
    const op_def *d = op_get(op);
    n->op = op;
    n->label = op_name(op);
    n->name = arena_strdup(ar, L->name, strlen(L->name));
    n->param = d->param_size ? arena_alloc(ar, d->param_size) : NULL;
    if (!n->name || (d->param_size && !n->param))
        return err_set(FCN_ERR_NOMEM, "out of memory");
    const int max_in = d->max_in ? d->max_in : OP_MAX_INPUTS;
    if ((int)L->n_in < d->min_in || (int)L->n_in > max_in) {
        char want[32];
        if (d->min_in == max_in)
            snprintf(want, sizeof want, "%d", d->min_in);
        else
            snprintf(want, sizeof want, "at least %d", d->min_in);
        return err_set(FCN_ERR_FORMAT, "layer '%s' (%s): has %u inputs, "
                       "expects %s", L->name, L->op, L->n_in, want);
    }
    op_parse c = {L, ar, FCN_OK};
    /* a parse may return FCN_OK after a helper recorded a failure in c.st
    ** (attr_window, attr_ints): the first failure wins either way */
    fcn_status st = d->parse ? d->parse(&c, n) : FCN_OK;
    if (st && !c.st)
        c.st = st;
    if (c.st)
        return c.st;
    attr_done(&c);
    return c.st;
}

fcn_status graph_nodes(const rd_model *rd, const char *input_name,
                       arena *ar, node *nodes, int *n_parsed)
{
    const int n_nodes = (int)rd->n_layers;
    name_map map = {0};
    for (map.cap = 16; map.cap < 2 * (size_t)(n_nodes + 1);)
        map.cap *= 2;
    map.keys = mem_calloc(map.cap, sizeof(char *));
    map.vals = mem_calloc(map.cap, sizeof(int));
    fcn_status st = FCN_OK;
    *n_parsed = 0;
    if (!map.keys || !map.vals) {
        st = err_set(FCN_ERR_NOMEM, "out of memory");
        goto done;
    }
    map_put(&map, input_name, 0);
    for (int i = 0; i < n_nodes; i++) {
        const layer *L = &rd->layers[i];
        node *n = &nodes[i];
        *n_parsed = i + 1;  /* so a failure frees what was parsed */
        if ((st = node_parse(L, n, ar)))
            goto done;
        n->n_in = (int)L->n_in;
        for (int j = 0; j < n->n_in; j++)
            if ((n->in[j] = map_get(&map, L->inputs[j])) < 0) {
                st = err_set(FCN_ERR_FORMAT, "layer '%s' (%s): input '%s' is "
                             "neither the graph input nor the output of an "
                             "earlier layer", L->name, L->op, L->inputs[j]);
                goto done;
            }
        if (map_get(&map, L->output) >= 0) {
            st = err_set(FCN_ERR_FORMAT, "layer '%s' (%s): output '%s' is "
                         "already defined", L->name, L->op, L->output);
            goto done;
        }
        map_put(&map, L->output, i + 1);
        n->out = i + 1;
    }
done:
    mem_free(map.keys);
    mem_free(map.vals);
    return st;
}

/* ---- shapes ---- */

/* Refuse node n's output map when padding made it too large for its
** input (in): the work of the layers on it is not bounded by the file's
** size. */
static fcn_status check_growth(const node *n, shape in, shape out)
{
    const int64_t area = (int64_t)out.h * out.w,
                  in_area = (int64_t)in.h * in.w;
    if (area <= MAX_MAP_GROWTH * in_area + MAX_MAP_EXTRA)
        return FCN_OK;
    const double r = (double)area / (double)in_area;
    return err_set(FCN_ERR_UNSUPPORTED, "layer '%s' (%s): its %dx%d map is "
                   "%.*fx the input's %dx%d (limit %dx + 1 Mpx): padding "
                   "this large is not supported", n->name, n->label, out.w,
                   out.h, r < 10 ? 1 : 0, r, in.w, in.h, MAX_MAP_GROWTH);
}

/* A Concat's floats may exceed twice those of the input and of every
** Conv, Dense and Flatten output before it, together, by 1024 channels of
** its map at most (docs/model-format.md): only a Concat makes channels
** that no weight pays for, and a chain of them concatenating a tensor
** with itself doubles the channels a layer. */
#define MAX_CONCAT_EXTRA 1024

static int64_t floats_of(shape s) { return (int64_t)s.c * s.h * s.w; }

static fcn_status check_concat(const node *n, shape out, int64_t paid)
{
    const int64_t f = floats_of(out),
                  limit = 2 * paid + (int64_t)MAX_CONCAT_EXTRA * out.h * out.w;
    if (f <= limit)
        return FCN_OK;
    return err_set(FCN_ERR_UNSUPPORTED, "layer '%s' (%s): its output of %lld "
                   "floats (%d channels) is more than twice the %lld floats "
                   "of the input and the Conv, Dense and Flatten outputs "
                   "before it, plus %d channels: channel growth this large is "
                   "not supported", n->name, n->label, (long long)f, out.c,
                   (long long)paid, MAX_CONCAT_EXTRA);
}

fcn_status graph_infer(const node *nodes, int n_nodes, shape input,
                       shape *shapes, int check_size)
{
    int64_t paid = floats_of(input); /* at most 2^34 floats a term */
    shapes[0] = input;
    char msg[200];
    for (int i = 0; i < n_nodes; i++) {
        const node *n = &nodes[i];
        const shape *in[OP_MAX_INPUTS];
        for (int j = 0; j < n->n_in; j++)
            in[j] = &shapes[n->in[j]];
        if (!op_get(n->op)->infer(n, in, &shapes[n->out], msg, sizeof msg))
            return err_set(FCN_ERR_SHAPE, "layer '%s' (%s): %s", n->name,
                           n->label, msg);
        int64_t e = (int64_t)shapes[n->out].c * shapes[n->out].h *
                    shapes[n->out].w;
        if (check_size == 1 && e > MAX_OUTPUT_FLOATS)
            return err_set(FCN_ERR_NOMEM, "layer '%s' (%s): output of %lld "
                           "floats is too large", n->name, n->label,
                           (long long)e);
        fcn_status st;
        if (check_size && (st = check_growth(n, input, shapes[n->out])))
            return st;
        if (check_size && n->op == OP_CONCAT &&
            (st = check_concat(n, shapes[n->out], paid)))
            return st;
        if ((n->op == OP_CONV || n->op == OP_DENSE || n->op == OP_FLATTEN) &&
            paid < ((int64_t)1 << 60))
            paid += e;
    }
    return FCN_OK;
}

static fcn_status infer_size(const fcn_model *m, int h, int w, shape *shapes,
                             int check_size)
{
    if (h < 1 || w < 1 || h > MEM_MAX_DIM || w > MEM_MAX_DIM)
        return err_set(FCN_ERR_ARG, "input size %dx%d is impossible", w, h);
    fcn_status st = graph_infer(m->nodes, m->n_nodes,
                                (shape){m->in_c, h, w}, shapes, check_size);
    if (st == FCN_ERR_SHAPE && (h < m->min_h || w < m->min_w))
        return err_wrap(st, "input %dx%d is smaller than the network needs "
                        "(at least %dx%d, width x height): ", w, h, m->min_w,
                        m->min_h);
    return st;
}

/* No cap on a tensor's floats here: a region session holds its region's
** alone (a whole-image session checks graph_check_tensors first); the
** dimensions (at most MEM_MAX_DIM) keep every product within 64 bits. */
fcn_status graph_infer_size(const fcn_model *m, int h, int w, shape *shapes)
{
    return infer_size(m, h, w, shapes, 2);
}

fcn_status graph_check_tensors(const fcn_model *m, int h, int w)
{
    shape *shapes = mem_alloc(sizeof(shape) * (size_t)m->n_tensors);
    if (!shapes)
        return err_set(FCN_ERR_NOMEM, "out of memory");
    const fcn_status st = infer_size(m, h, w, shapes, 1);
    mem_free(shapes);
    return st;
}

void node_release(node *n)
{
    const op_def *d = op_get(n->op);
    if (d->release && n->param)
        d->release(n);
}
