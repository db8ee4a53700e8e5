/*
** concat.c: concatenation along channels of tensors of one height and
** width.
*/
#include <stdio.h>
#include <string.h>

#include "ops/op.h"

static int concat_infer(const node *n, const shape *const *in, shape *out,
                        char *msg, size_t msz)
{
    const shape a = *in[0];
    int64_t c = a.c;
    for (int i = 1; i < n->n_in; i++) {
        const shape b = *in[i];
        if (b.h != a.h || b.w != a.w) {
            snprintf(msg, msz, "input %d is %dx%dx%d, input 0 is %dx%dx%d",
                     i, b.c, b.h, b.w, a.c, a.h, a.w);
            return 0;
        }
        c += b.c;
    }
    if (c > MEM_MAX_DIM) {
        snprintf(msg, msz, "concatenates too many channels");
        return 0;
    }
    *out = (shape){(int)c, a.h, a.w};
    return 1;
}

/* Input j's channels go to out's from the sum of the earlier inputs' on;
** each thread copies its share of every input's channels. */
static void concat_forward(const node *n, const op_run *r, par *pr)
{
    const view *out = r->out;
    for (int j = 0, c0 = 0; j < n->n_in; c0 += r->in[j].c, j++) {
        const view *in = &r->in[j];
        int64_t a, b;
        par_range(pr, in->c, &a, &b);
        for (int c = (int)a; c < b; c++)
            for (int y = 0; y < out->h; y++)
                memcpy(view_row(out, c0 + c, y), view_in_row(in, out, c, y),
                       sizeof(float) * out->w);
    }
}

const op_def op_concat = {
    .min_in = 1, .max_in = 0, .param_size = 0,
    .infer = concat_infer, .forward = concat_forward,
};
