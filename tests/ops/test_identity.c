/*
** test_identity.c: Dropout and Identity are removed at load: a model
** input -> op -> Relu computes relu(x) exactly, with one layer left.
*/
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static void removed(const char *op)
{
    tmodel *tm = tm_new(3, 3, 4);
    tlayer t;
    tl_init(&t, op);
    tm_layer(tm, op, "drop", "input", "d", &t);
    tl_init(&t, "Relu");
    tm_layer(tm, "Relu", "relu", "d", "out", &t);
    fcn_model *m = tm_load(tm, NULL);
    if (!m)
        return;
    fcn_model_info info;
    fcn_model_get_info(m, &info);
    float x[3 * 5 * 6];
    fill(x, 90, -1.0f, 1.0f);
    int c, h, w;
    float *y = t_run_model(m, x, 5, 6, &c, &h, &w);
    int bad = !y || c != 3 || h != 5 || w != 6;
    for (int i = 0; !bad && i < 90; i++)
        bad = y[i] != (x[i] > 0 ? x[i] : 0.0f);
    CHECK(!bad && info.n_layers_file == 2 && info.n_layers_fcn == 1,
          "%s -> Relu: %d layers after conversion, output %s", op,
          info.n_layers_fcn, bad ? "wrong" : "right");
    free(y);
    fcn_model_free(m);
}

void test_op_dropout(void) { removed("Dropout"); }
void test_op_identity(void) { removed("Identity"); }
