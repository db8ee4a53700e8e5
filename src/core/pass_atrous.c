/*
** pass_atrous.c: score maps K times finer than the network's stride
** (fcn_options.stride_divisor; docs/engine.md, "Maps finer than the
** stride"), by the a-trous rewrite of the converted network at load.
**
** Walking back from the output, the strided layers lose stride factors
** until K of them are gone (per axis; the last layers first: a layer of
** stride s loses f = gcd(s, what is still to remove)); every layer after
** one that lost a factor reads a map that many times denser than the
** network's, so its dilation and padding multiply by that density
** (output j of a window op reads input j*s - p + i*d; on a map F times
** denser, the same taps are j*s - p*F + i*d*F). Cell (i, j) of the
** finer map is then the network at offset (i*S/K, j*S/K) pixels: for
** VALID models the classifier on that crop, for padded ones the
** phase-interleaved run (the layers before the first rewritten one at
** full density, the rest on each phase of its output). The geometry
** follows from the rewritten windows (stride S/K, the same offset and
** receptive field).
*/
#include "core/model.h"
#include "util/err.h"

/* The largest stride divisor (fcn_options.stride_divisor). */
#define ATROUS_MAX_K 1024

static int gcd(int a, int b)
{
    while (b) {
        int t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* The network's stride per tensor along one axis (the largest of a
** node's inputs, as geometry.c), clamped at 2^31 - 1: for the message. */
static int64_t net_stride(const fcn_model *m, int axis, int64_t *st)
{
    st[0] = 1;
    for (int i = 0; i < m->n_nodes; i++) {
        const node *n = &m->nodes[i];
        int64_t a = 1;
        int k, s, d, p;
        for (int j = 0; j < n->n_in; j++)
            a = st[n->in[j]] > a ? st[n->in[j]] : a;
        op_window(n, axis, &k, &s, &d, &p);
        a *= s > 0 ? s : 1;
        st[n->out] = a < INT32_MAX ? a : INT32_MAX;
    }
    return st[m->out_tensor];
}

/* need[t]: how many times denser than the network's tensor t becomes
** along the axis for the output to be K times denser (0: the output does
** not read it; the input must stay at 1); f[i]: the factor node i's
** stride loses. */
static fcn_status plan_axis(const fcn_model *m, int axis, int K, int *need,
                            int *f)
{
    for (int t = 0; t < m->n_tensors; t++)
        need[t] = 0;
    need[m->out_tensor] = K;
    for (int i = m->n_nodes - 1; i >= 0; i--) {
        const node *n = &m->nodes[i];
        int k, s, d, p;
        f[i] = 1;
        if (!need[n->out])
            continue;
        op_window(n, axis, &k, &s, &d, &p);
        f[i] = gcd(s, need[n->out]);
        const int in_need = need[n->out] / f[i];
        for (int j = 0; j < n->n_in; j++) {
            int *q = &need[n->in[j]];
            if (*q && *q != in_need)
                return err_set(FCN_ERR_UNSUPPORTED, "stride divisor %d: the "
                               "branches into layer '%s' (%s) have different "
                               "strides along the %s", K, n->name, n->label,
                               axis ? "columns" : "rows");
            *q = in_need;
        }
    }
    return FCN_OK;
}

/* Rewrite node n along the axis: its input is `dense` times denser than
** the network's, its stride loses f. Checks the limits the op's parse
** checks of a window. */
static fcn_status rewrite(node *n, int axis, int dense, int f)
{
    const op_def *d = op_get(n->op);
    int k, s, dil, p;
    if ((dense == 1 && f == 1) || !d->window)
        return FCN_OK;  /* unchanged, or one to one */
    if (!d->densify)
        return err_set(FCN_ERR_UNSUPPORTED, "stride divisor: layer '%s' (%s) "
                       "cannot be dilated", n->name, n->label);
    d->densify(n, axis, dense, f);
    op_window(n, axis, &k, &s, &dil, &p);
    if ((int64_t)(k - 1) * dil + 1 > MEM_MAX_DIM || p > MEM_MAX_DIM)
        return err_set(FCN_ERR_UNSUPPORTED, "stride divisor: layer '%s' (%s) "
                       "dilated by %d: its window exceeds %d pixels along "
                       "the %s", n->name, n->label, dense, MEM_MAX_DIM,
                       axis ? "columns" : "rows");
    return FCN_OK;
}

fcn_status pass_atrous(fcn_model *m, int K, shape *shapes)
{
    if (K < 0 || K > ATROUS_MAX_K)
        return err_set(FCN_ERR_ARG, "fcn_options.stride_divisor %d: must be "
                       "0 to %d", K, ATROUS_MAX_K);
    if (K <= 1)
        return FCN_OK;
    const size_t nt = (size_t)m->n_tensors;
    int *need = mem_alloc(sizeof(int) * (nt * 2 + (size_t)m->n_nodes * 2));
    int64_t *st = mem_alloc(sizeof(int64_t) * nt);
    fcn_status s = FCN_OK;
    if (!need || !st) {
        s = err_set(FCN_ERR_NOMEM, "out of memory");
        goto done;
    }
    int *f = need + 2 * nt;
    for (int ax = 0; ax < 2 && !s; ax++)
        s = plan_axis(m, ax, K, need + ax * nt, f + ax * m->n_nodes);
    if (!s && (need[0] != 1 || need[nt] != 1)) {
        const int64_t sh = net_stride(m, 0, st), sw = net_stride(m, 1, st);
        s = err_set(FCN_ERR_ARG, "stride divisor %d does not divide the "
                    "score map's stride %lldx%lld", K, (long long)sh,
                    (long long)sw);
    }
    for (int i = 0; i < m->n_nodes && !s; i++) {
        node *n = &m->nodes[i];
        for (int ax = 0; ax < 2 && !s; ax++) {
            const int *nd = need + ax * nt;
            if (nd[n->out])  /* read by the output: nd[in] != 0 */
                s = rewrite(n, ax, nd[n->out] / f[ax * m->n_nodes + i],
                            f[ax * m->n_nodes + i]);
        }
    }
    if (!s)  /* the summary's shapes */
        s = graph_infer(m->nodes, m->n_nodes, (shape){m->in_c, m->in_h,
                        m->in_w}, shapes, 1);
done:
    mem_free(need);
    mem_free(st);
    return s;
}
