/*
** reader.h: model.bin (docs/model-format.md) into layer records
** (src/ops/op.h), checked: every count, length and offset is validated
** against the file before it is used, and sizes are overflow-checked.
*/
#ifndef FCN_CORE_READER_H
#define FCN_CORE_READER_H

#include "ops/op.h"

typedef struct rd_model {
    arena ar;                  /* every record lives here */
    const unsigned char *buf;  /* the file, 64-byte aligned; not owned */
    size_t size;
    layer_attrs meta;
    uint32_t n_labels;
    const char **labels;
    uint32_t n_layers;
    layer *layers;
} rd_model;

/* Parse and check a model.bin held in buf (64-byte aligned, size bytes),
** which must outlive the weights' use. rd_model_free frees the records;
** a failed parse has freed them already. */
fcn_status rd_model_parse(const unsigned char *buf, size_t size,
                          rd_model *out);
void rd_model_free(rd_model *m);

#endif
