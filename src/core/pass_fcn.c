/*
** pass_fcn.c: the FCN conversion at load (docs/conversion.md): every node
** in order gets its op's to_fcn, which sees the shapes of the classifier
** as trained (Flatten -> Dense becomes a conv with the trained map's
** kernel, global pools become windows, ...). The pass also refuses what
** has no convolutional equivalent, and works out the converted network's
** shapes at the trained size as it goes.
*/
#include "core/model.h"
#include "util/err.h"

/* If tensor t holds features flattened from a map (through elementwise
** ops only), the Flatten node; else NULL. */
static const node *flattened_from(const node *nodes, int t)
{
    while (t > 0) {
        const node *q = &nodes[t - 1];
        const unsigned f = op_get(q->op)->flags;
        if (f & OPF_FLATTEN)
            return q;
        if (!q->alias && !(f & OPF_ELEMENTWISE))
            return NULL;
        t = q->in[0];
    }
    return NULL;
}

/* Only Dense (and elementwise ops) may read features flattened from a
** map: anything else has no convolutional equivalent. */
static fcn_status check_flat_readers(const node *nodes, const node *n,
                                     const shape *trained)
{
    if (op_get(n->op)->flags &
        (OPF_ELEMENTWISE | OPF_FLAT_READER | OPF_FLATTEN))
        return FCN_OK;
    for (int j = 0; j < n->n_in; j++) {
        const node *f = flattened_from(nodes, n->in[j]);
        shape fs = f ? trained[f->in[0]] : (shape){0, 0, 0};
        if (f && (int64_t)fs.h * fs.w > 1)  /* each up to 2^20 */
            return err_set(FCN_ERR_UNSUPPORTED, "layer '%s' (%s) reads "
                           "features flattened from a %dx%dx%d map by '%s'; "
                           "only Dense can follow Flatten", n->name, n->label,
                           fs.c, fs.h, fs.w, f->name);
    }
    return FCN_OK;
}

/* The converted node's output shape at the trained size. A Flatten is a
** reinterpretation once its Dense is a conv: it passes the map on. */
static fcn_status converted_shape(const node *n, shape *conv)
{
    if (n->alias || (op_get(n->op)->flags & OPF_FLATTEN)) {
        conv[n->out] = conv[n->in[0]];
        return FCN_OK;
    }
    const shape *in[OP_MAX_INPUTS];
    char msg[200];
    for (int j = 0; j < n->n_in; j++)
        in[j] = &conv[n->in[j]];
    if (!op_get(n->op)->infer(n, in, &conv[n->out], msg, sizeof msg))
        return err_set(FCN_ERR_SHAPE, "converted network fails at the "
                       "trained size: layer '%s' (%s): %s", n->name, n->label,
                       msg);
    return FCN_OK;
}

fcn_status pass_fcn(node *nodes, int n_nodes, const shape *trained,
                    const fcn_options *opt, arena *ar, shape *converted)
{
    fcn_status st;
    converted[0] = trained[0];
    for (int i = 0; i < n_nodes; i++) {
        node *n = &nodes[i];
        const op_def *d = op_get(n->op);
        if ((st = check_flat_readers(nodes, n, trained)))
            return st;
        if (d->to_fcn && !n->alias) {
            shape in[OP_MAX_INPUTS];
            for (int j = 0; j < n->n_in; j++)
                in[j] = trained[n->in[j]];
            op_convert c = {in, trained[n->out], flattened_from(nodes, n->in[0]),
                            {0, 0, 0}, opt, ar};
            if (c.flatten)
                c.flat_in = trained[c.flatten->in[0]];
            if ((st = d->to_fcn(&c, n)))
                return st;
        }
        if ((st = converted_shape(n, converted)))
            return st;
    }
    for (int i = 0; i < n_nodes; i++)
        if (op_get(nodes[i].op)->flags & OPF_FLATTEN)
            nodes[i].alias = 1;
    return FCN_OK;
}
