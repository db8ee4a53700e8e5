/*
** table.c: the op table, generated from ops.def: the enum (ops.h), the
** names and the definitions come from the same lines, so they cannot
** disagree, and a line whose definition no file provides fails the link.
*/
#include <string.h>

#include "ops/op.h"

#define OP_DEF(id, name, def) extern const op_def def;
#include "ops/ops.def"
#undef OP_DEF

static const op_def *const defs[] = {
#define OP_DEF(id, name, def) [OP_##id] = &def,
#include "ops/ops.def"
#undef OP_DEF
};

static const char *const names[] = {
#define OP_DEF(id, name, def) [OP_##id] = name,
#include "ops/ops.def"
#undef OP_DEF
};

const op_def *op_get(op_id op) { return defs[op]; }

const char *op_name(op_id op) { return names[op]; }

op_id op_find(const char *name)
{
    for (int i = 0; i < OP_COUNT; i++)
        if (!strcmp(names[i], name))
            return (op_id)i;
    return OP_COUNT;
}
