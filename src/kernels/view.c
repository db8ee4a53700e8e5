/*
** view.c: window arithmetic.
*/
#include "kernels/view.h"
#include "util/mem.h"

int win_out(int in, int k, int s, int d, int pa, int pb, int ceil_mode)
{
    int64_t keff = (int64_t)(k - 1) * d + 1;
    int64_t span = (int64_t)in + pa + pb - keff;
    if (span < 0 || s < 1)
        return 0;
    int64_t o = ceil_mode ? (span + s - 1) / s + 1 : span / s + 1;
    if (ceil_mode && (o - 1) * s >= (int64_t)in + pa)
        o--;
    return o > MEM_MAX_DIM ? 0 : (int)o;
}
