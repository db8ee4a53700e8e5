/*
** identity.c: Dropout (at inference) and Identity: removed at load.
*/
#include "ops/op.h"

static fcn_status identity_parse(op_parse *c, node *n)
{
    (void)c;
    n->alias = 1;
    return FCN_OK;
}

#define IDENTITY_DEF                                                         \
    .flags = OPF_ELEMENTWISE, .min_in = 1, .max_in = 1,                      \
    .parse = identity_parse, .infer = op_infer_same

const op_def op_dropout = {IDENTITY_DEF};
const op_def op_identity = {IDENTITY_DEF};
