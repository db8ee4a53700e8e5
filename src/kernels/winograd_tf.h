/*
** winograd_tf.h: the input and output transforms of F(4x4, 3x3) for 16
** blocks at a time, as loops over the 16 that the compiler turns into
** vector code. Included once per ISA (gemm_<isa>.c, under its target
** pragma, and winograd.c for CPUs without a variant), with WTF_NAME
** giving the functions that ISA's names. The C is ISO (no FMA
** contraction): every build computes the same values.
*/
#ifndef WTF_NAME
#error "define WTF_NAME before including winograd_tf.h"
#endif

/* o = B^T d B for 16 patches. */
static void WTF_NAME(wtf_input)(float d[36][GEMM_NR], float o[36][GEMM_NR])
{
    float e[36][GEMM_NR];
    for (int q = 0; q < 6; q++)  /* columns: e = B^T d */
        for (int i = 0; i < GEMM_NR; i++) {
            float d0 = d[q][i], d1 = d[6 + q][i], d2 = d[12 + q][i],
                  d3 = d[18 + q][i], d4 = d[24 + q][i], d5 = d[30 + q][i];
            e[q][i] = 4 * d0 - 5 * d2 + d4;
            e[6 + q][i] = -4 * d1 - 4 * d2 + d3 + d4;
            e[12 + q][i] = 4 * d1 - 4 * d2 - d3 + d4;
            e[18 + q][i] = -2 * d1 - d2 + 2 * d3 + d4;
            e[24 + q][i] = 2 * d1 - d2 - 2 * d3 + d4;
            e[30 + q][i] = 4 * d1 - 5 * d3 + d5;
        }
    for (int r = 0; r < 6; r++)  /* rows: (B^T d) B */
        for (int i = 0; i < GEMM_NR; i++) {
            const int k = 6 * r;
            float d0 = e[k][i], d1 = e[k + 1][i], d2 = e[k + 2][i],
                  d3 = e[k + 3][i], d4 = e[k + 4][i], d5 = e[k + 5][i];
            o[k][i] = 4 * d0 - 5 * d2 + d4;
            o[k + 1][i] = -4 * d1 - 4 * d2 + d3 + d4;
            o[k + 2][i] = 4 * d1 - 4 * d2 - d3 + d4;
            o[k + 3][i] = -2 * d1 - d2 + 2 * d3 + d4;
            o[k + 4][i] = 2 * d1 - d2 - 2 * d3 + d4;
            o[k + 5][i] = 4 * d1 - 5 * d3 + d5;
        }
}

/* y = A^T m A + bias for 16 blocks. */
static void WTF_NAME(wtf_output)(float m[36][GEMM_NR], float bias,
                           float y[16][GEMM_NR])
{
    float e[24][GEMM_NR];
    for (int q = 0; q < 6; q++)  /* columns: e = A^T m (4x6) */
        for (int i = 0; i < GEMM_NR; i++) {
            float a0 = m[q][i], a1 = m[6 + q][i], a2 = m[12 + q][i],
                  a3 = m[18 + q][i], a4 = m[24 + q][i], a5 = m[30 + q][i];
            e[q][i] = a0 + a1 + a2 + a3 + a4;
            e[6 + q][i] = a1 - a2 + 2 * a3 - 2 * a4;
            e[12 + q][i] = a1 + a2 + 4 * a3 + 4 * a4;
            e[18 + q][i] = a1 - a2 + 8 * a3 - 8 * a4 + a5;
        }
    for (int r = 0; r < 4; r++)  /* rows: (A^T m) A (4x4) */
        for (int i = 0; i < GEMM_NR; i++) {
            const int k = 6 * r;
            float a0 = e[k][i], a1 = e[k + 1][i], a2 = e[k + 2][i],
                  a3 = e[k + 3][i], a4 = e[k + 4][i], a5 = e[k + 5][i];
            y[4 * r][i] = a0 + a1 + a2 + a3 + a4 + bias;
            y[4 * r + 1][i] = a1 - a2 + 2 * a3 - 2 * a4 + bias;
            y[4 * r + 2][i] = a1 + a2 + 4 * a3 + 4 * a4 + bias;
            y[4 * r + 3][i] = a1 - a2 + 8 * a3 - 8 * a4 + a5 + bias;
        }
}

#undef WTF_NAME
