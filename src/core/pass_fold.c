/*
** pass_fold.c: after the conversion, the network that runs: removed nodes
** resolved to their inputs, BatchNorms folded and activations fused into
** the node that produces their input (each op's fuse), and the nodes
** compacted with their tensors renumbered.
*/
#include <string.h>

#include "core/model.h"
#include "util/err.h"

/* Readers of removed nodes read their inputs instead. */
static int resolve_aliases(node *nodes, int n_nodes, int *alias, int out_t)
{
    for (int t = 0; t <= n_nodes; t++)
        alias[t] = t;
    for (int i = 0; i < n_nodes; i++) {
        node *n = &nodes[i];
        for (int j = 0; j < n->n_in; j++)
            n->in[j] = alias[n->in[j]];
        if (n->alias)
            alias[n->out] = n->in[0];
    }
    return alias[out_t];
}

/* Fold node n (a BatchNorm or an activation) into its producer where the
** producer takes it and n is its output's only reader. */
static fcn_status fold_one(node *nodes, int n_nodes, node *n, int *uses,
                           int *out_t)
{
    const op_def *d = op_get(n->op);
    if (n->alias || (!d->as_act && !d->as_affine) || n->in[0] == 0 ||
        uses[n->in[0]] != 1)
        return FCN_OK;
    node *p = &nodes[n->in[0] - 1];
    const op_def *pd = op_get(p->op);
    int done = 0;
    fcn_status st = pd->fuse ? pd->fuse(p, n, &done) : FCN_OK;
    if (st || !done)
        return st;
    /* p now produces what n produced */
    for (int k = 0; k < n_nodes; k++)
        for (int j = 0; j < nodes[k].n_in; j++)
            if (nodes[k].in[j] == n->out)
                nodes[k].in[j] = p->out;
    if (*out_t == n->out)
        *out_t = p->out;
    uses[p->out] = uses[n->out];
    node_release(n);
    n->alias = 1;
    return FCN_OK;
}

fcn_status pass_fold(fcn_model *m, node *nodes, int n_nodes, int out_t,
                     shape *shapes)
{
    const int nt = n_nodes + 1;
    int *alias = mem_alloc(sizeof(int) * nt), *uses = mem_calloc(nt, sizeof(int));
    int *renum = mem_alloc(sizeof(int) * nt);
    fcn_status st = FCN_OK;
    if (!alias || !uses || !renum) {
        st = err_set(FCN_ERR_NOMEM, "out of memory");
        goto done;
    }
    out_t = resolve_aliases(nodes, n_nodes, alias, out_t);
    for (int i = 0; i < n_nodes; i++)
        if (!nodes[i].alias)
            for (int j = 0; j < nodes[i].n_in; j++)
                uses[nodes[i].in[j]]++;
    uses[out_t]++;
    for (int i = 0; i < n_nodes && !st; i++)
        st = fold_one(nodes, n_nodes, &nodes[i], uses, &out_t);
    if (st)
        goto done;
    /* compact; a tensor keeps its shape under its new number */
    int k = 0;
    renum[0] = 0;
    for (int i = 0; i < n_nodes; i++) {
        node *n = &nodes[i];
        if (n->alias) {
            node_release(n);
            continue;
        }
        for (int j = 0; j < n->n_in; j++)
            n->in[j] = renum[n->in[j]];
        renum[n->out] = k + 1;
        shapes[k + 1] = shapes[n->out];
        n->out = k + 1;
        nodes[k++] = *n;
    }
    m->nodes = nodes;
    m->n_nodes = k;
    m->n_tensors = k + 1;
    m->out_tensor = out_t == 0 ? 0 : renum[out_t];
    if (k == 0 || m->out_tensor == 0)
        st = err_set(FCN_ERR_FORMAT, "model has no layers that compute "
                     "anything");
done:
    mem_free(alias);
    mem_free(uses);
    mem_free(renum);
    return st;
}
