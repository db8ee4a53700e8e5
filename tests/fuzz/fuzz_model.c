/*
** fuzz_model.c: libFuzzer harness of model loading and conversion
** (fcn_model_load_memory), with the model's info, labels and summary.
**
** Half the inputs get their header's file_size set to their real size
** first: a mutation that inserts or drops bytes then reaches the graph
** parser instead of stopping at the truncation check.
*/
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

/* Everything the model says about itself is readable and consistent. */
static void check_model(const fcn_model *m)
{
    fcn_model_info in;
    fcn_model_get_info(m, &in);
    FZ_CHECK(in.in_c > 0 && in.in_h > 0 && in.in_w > 0);
    FZ_CHECK(in.classes > 0);
    FZ_CHECK(in.min_h > 0 && in.min_w > 0);
    FZ_CHECK(in.geom.stride_h > 0 && in.geom.stride_w > 0);
    FZ_CHECK(in.geom.rf_h > 0 && in.geom.rf_w > 0);
    FZ_CHECK(in.n_layers_file > 0 && in.n_layers_fcn > 0);
    FZ_CHECK(in.color && in.resize && in.name);
    FZ_CHECK(in.mean && in.std);
    fz_touch(in.mean, (size_t)in.in_c * sizeof *in.mean);
    fz_touch(in.std, (size_t)in.in_c * sizeof *in.std);
    fz_touch(in.name, strlen(in.name));
    for (int c = 0; c < in.classes; c++) {
        const char *l = fcn_model_label(m, c);
        if (l)
            fz_touch(l, strlen(l));
    }
    FZ_CHECK(fcn_model_label(m, -1) == NULL);
    FZ_CHECK(fcn_model_label(m, in.classes) == NULL);
    const char *s = fcn_model_summary(m);
    FZ_CHECK(s != NULL);
    fz_touch(s, strlen(s));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t h = fz_hash(data, size);
    fcn_model *m;
    fcn_status st = fz_load_input(data, size, h, (h >> 4) & 1, &m);
    fz_check_status(st);
    if (st == FCN_OK) {
        FZ_CHECK(m != NULL);
        check_model(m);
    } else {
        FZ_CHECK(m == NULL);
    }
    fcn_model_free(m);
    return 0;
}
