/*
** ops.h: the op ids, names and definitions generated from ops.def.
*/
#ifndef FCN_OPS_OPS_H
#define FCN_OPS_OPS_H

typedef enum op_id {
#define OP_DEF(id, name, def) OP_##id,
#include "ops/ops.def"
#undef OP_DEF
    OP_COUNT
} op_id;

struct op_def;
/* The definition of op, and its name in model.bin. */
const struct op_def *op_get(op_id op);
const char *op_name(op_id op);
/* The op named name, or OP_COUNT. */
op_id op_find(const char *name);

#endif
