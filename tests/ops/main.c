/*
** main.c: the op tests, one per op of src/ops/ops.def, and the kernel
** tests. The list of op tests is generated from ops.def, so an op without
** its test function (test_<definition>, in test_<family>.c) fails the
** link.
**
** test_ops ISA runs them all on one kernel variant of kernels/gemm.h
** ("avx512", "avx2"; "blas": none, OpenBLAS and the generic Winograd
** transforms), and says so; a variant this CPU cannot run is reported as
** skipped, never passed. test_ops bf16 runs the bf16 tests alone
** (test_bf16.c).
*/
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "kernels/gemm.h"

#define OP_DEF(id, name, def) void test_##def(void);
#include "ops/ops.def"
#undef OP_DEF

static const struct {
    const char *name;
    void (*fn)(void);
} op_tests[] = {
#define OP_DEF(id, name, def) [OP_##id] = {name, test_##def},
#include "ops/ops.def"
#undef OP_DEF
};

void test_window(void);
void test_im2col(void);
void test_gemm(void);
void test_bf16(void);

/* Use the variant named, or say why not: 1 to run, 0 skipped, -1 unknown. */
static int use_isa(const char *id)
{
    if (strcmp(id, "blas") == 0) {
        gemm_isa_set(NULL);
        printf("ISA blas: no GEMM variant (OpenBLAS, generic transforms)\n");
        return 1;
    }
    int n;
    const gemm_isa *const *v = gemm_isa_variants(&n);
    for (int i = 0; i < n; i++)
        if (strcmp(v[i]->id, id) == 0) {
            if (!v[i]->supported()) {
                printf("ISA %s: SKIPPED, this CPU cannot run it\n", id);
                return 0;
            }
            gemm_isa_set(v[i]);
            printf("ISA %s: %s\n", id, v[i]->name);
            return 1;
        }
    fprintf(stderr, "test_ops: no kernel variant \"%s\"\n", id);
    return -1;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "bf16") == 0) { /* test_bf16.c */
        test_bf16();
        printf("%-14s %6d checks\n", "bf16", check_pass + check_fail);
        return check_done();
    }
    if (argc > 1) {
        int r = use_isa(argv[1]);
        if (r <= 0)
            return r < 0 ? 1 : check_done();
    }
    static const struct {
        const char *name;
        void (*fn)(void);
    } kernel_tests[] = {{"window_out", test_window},
                        {"im2col", test_im2col},
                        {"gemm", test_gemm}};
    for (size_t k = 0; k < sizeof kernel_tests / sizeof kernel_tests[0]; k++) {
        double t0 = check_now();
        int before = check_pass + check_fail;
        kernel_tests[k].fn();
        printf("%-14s %6d checks (%.2fs)\n", kernel_tests[k].name,
               check_pass + check_fail - before, check_now() - t0);
    }
    for (int op = 0; op < OP_COUNT; op++) {
        double t0 = check_now();
        int before = check_pass + check_fail;
        op_tests[op].fn();
        int n = check_pass + check_fail - before;
        CHECK(n > 0, "op %s: its test checked nothing", op_tests[op].name);
        printf("%-14s %6d checks (%.2fs)\n", op_tests[op].name, n,
               check_now() - t0);
    }
    return check_done();
}
