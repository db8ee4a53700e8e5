/*
** mem.c: the allocation hook (fcn_set_allocator), checked allocation on
** top of it, page release, and the bump arena.
**
** Every block the library allocates comes from the hook with a small
** header in front of the caller's pointer: the block's size (so that
** realloc needs no hook of its own, and the hook's free is told the size),
** and the free function and user data of the allocator that made it (so a
** block is always given back to its own allocator, whatever was set since).
*/
#define _DEFAULT_SOURCE /* madvise */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "err.h"
#include "mem.h"

#define ARENA_BLOCK 16384
#define MEM_ALIGN 16  /* mem_alloc's alignment: malloc's on x86-64 */
#define MEM_WIDE 64   /* mem_aligned's: a cache line, an AVX-512 vector */

typedef struct mem_head {
    size_t total;  /* bytes asked of the hook */
    size_t offset; /* from the hook's pointer to the caller's */
    void (*free)(void *ud, void *p, size_t size);
    void *ud;
} mem_head;

_Static_assert(sizeof(mem_head) <= MEM_ALIGN * 2, "header fits 32 bytes");

static void *default_alloc(void *ud, size_t size, size_t align)
{
    (void)ud;
    if (align <= alignof(max_align_t))
        return malloc(size);
    void *p = NULL;
    return posix_memalign(&p, align, size) == 0 ? p : NULL;
}

static void default_free(void *ud, void *p, size_t size)
{
    (void)ud;
    (void)size;
    free(p);
}

static fcn_allocator current = {default_alloc, default_free, NULL};

fcn_status fcn_set_allocator(const fcn_allocator *a)
{
    if (a && (!a->alloc || !a->free))
        return err_set(FCN_ERR_ARG, "fcn_set_allocator: alloc or free is "
                       "NULL");
    current = a ? *a : (fcn_allocator){default_alloc, default_free, NULL};
    return FCN_OK;
}

/* n bytes at the given alignment (16 or 64), the header just below. */
static void *block(size_t n, size_t align)
{
    const size_t offset = align < 2 * MEM_ALIGN ? 2 * MEM_ALIGN : align;
    if (n > SIZE_MAX - offset)
        return NULL;
    const size_t total = offset + (n ? n : 1);
    unsigned char *base = current.alloc(current.ud, total, align);
    if (!base)
        return NULL;
    mem_head *h = (mem_head *)(base + offset) - 1;
    *h = (mem_head){total, offset, current.free, current.ud};
    return base + offset;
}

static mem_head *head_of(void *p) { return (mem_head *)p - 1; }

void *mem_alloc(size_t n) { return block(n, MEM_ALIGN); }

void *mem_calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = block(n * size, MEM_ALIGN);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void *mem_realloc(void *p, size_t n)
{
    if (!p)
        return mem_alloc(n);
    mem_head *h = head_of(p);
    const size_t old = h->total - h->offset;
    /* malloc's block under malloc: realloc, which may grow it in place
    ** (stb's zlib output doubles as it decodes); the header moves along */
    if (h->free == default_free && current.alloc == default_alloc &&
        alignof(max_align_t) >= MEM_ALIGN && h->offset == 2 * MEM_ALIGN &&
        n <= SIZE_MAX - h->offset) {
        const size_t total = h->offset + (n ? n : 1);
        unsigned char *base = realloc((unsigned char *)p - h->offset, total);
        if (!base)
            return NULL;
        ((mem_head *)(base + 2 * MEM_ALIGN) - 1)->total = total;
        return base + 2 * MEM_ALIGN;
    }
    void *q = mem_alloc(n);
    if (!q)
        return NULL;
    memcpy(q, p, old < n ? old : n);
    mem_free(p);
    return q;
}

void *mem_aligned(size_t n) { return block(n, MEM_WIDE); }

size_t mem_size(const void *p)
{
    const mem_head *h = (const mem_head *)p - 1;
    return h->total - h->offset;
}

void mem_free(void *p)
{
    if (!p)
        return;
    mem_head h = *head_of(p);
    h.free(h.ud, (unsigned char *)p - h.offset, h.total);
}

int mem_mul64(int64_t a, int64_t b, int64_t *out)
{
    if (a < 0 || b < 0)
        return 0;
    if (a != 0 && b > INT64_MAX / a)
        return 0;
    *out = a * b;
    return 1;
}

void mem_release_pages(const void *p, size_t n)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)p + page - 1) / page * page;
    uintptr_t hi = ((uintptr_t)p + n) / page * page;
    if (hi > lo)
        madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

int mem_address_space_for(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return 0;
    munmap(p, n);
    return 1;
}

struct arena_block {
    arena_block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

void *arena_alloc(arena *a, size_t n)
{
    if (n > SIZE_MAX - 15 - sizeof(arena_block))
        return NULL;
    n = (n + 15) & ~(size_t)15;
    if (n == 0)
        n = 16;
    arena_block *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
        b = mem_alloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

char *arena_strdup(arena *a, const char *s, size_t n)
{
    char *p = n < SIZE_MAX ? arena_alloc(a, n + 1) : NULL;
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

void arena_free(arena *a)
{
    arena_block *b = a->head;
    while (b) {
        arena_block *next = b->next;
        mem_free(b);
        b = next;
    }
    a->head = NULL;
}
