/*
** main.c: the op tests, one per op of src/ops/ops.def, and the kernel
** tests. The list of op tests is generated from ops.def, so an op without
** its test function (test_<definition>, in test_<family>.c) fails the
** link.
*/
#include <stdio.h>
#include <time.h>

#include "harness.h"

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

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(void)
{
    static const struct {
        const char *name;
        void (*fn)(void);
    } kernel_tests[] = {{"window_out", test_window},
                        {"im2col", test_im2col},
                        {"gemm", test_gemm}};
    for (size_t k = 0; k < sizeof kernel_tests / sizeof kernel_tests[0]; k++) {
        double t0 = now();
        int before = check_pass + check_fail;
        kernel_tests[k].fn();
        printf("%-14s %6d checks (%.2fs)\n", kernel_tests[k].name,
               check_pass + check_fail - before, now() - t0);
    }
    for (int op = 0; op < OP_COUNT; op++) {
        double t0 = now();
        int before = check_pass + check_fail;
        op_tests[op].fn();
        int n = check_pass + check_fail - before;
        CHECK(n > 0, "op %s: its test checked nothing", op_tests[op].name);
        printf("%-14s %6d checks (%.2fs)\n", op_tests[op].name, n,
               now() - t0);
    }
    return check_done();
}
