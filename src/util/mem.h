/*
** mem.h: every allocation of the library goes through these functions, so
** that allocation failure has one path and one hook (fcn_set_allocator,
** include/fcn.h), and so that size arithmetic is checked before anything is
** allocated. Never malloc/free directly: a block from here carries a
** header and must go back through mem_free.
*/
#ifndef FCN_UTIL_MEM_H
#define FCN_UTIL_MEM_H

#include <stddef.h>
#include <stdint.h>

#define MEM_MAX_DIM (1 << 20)            /* any one tensor dimension */
#define MEM_MAX_ELEMS ((int64_t)1 << 40) /* any one tensor, in floats */

void *mem_alloc(size_t n);              /* 16-aligned; NULL on failure */
void *mem_calloc(size_t n, size_t size); /* zeroed; NULL on overflow too */
void *mem_realloc(void *p, size_t n);   /* 16-aligned; NULL on failure (p
                                           kept); a copy, never in place */
void *mem_aligned(size_t n);            /* 64-byte aligned; free with mem_free */
void mem_free(void *p);                 /* accepts NULL */
size_t mem_size(const void *p);         /* the n p was allocated with (1 for
                                           0); p not NULL */

/* a * b into *out; 0 on overflow or a negative operand. */
int mem_mul64(int64_t a, int64_t b, int64_t *out);

/* Drop the whole pages inside [p, p+n) of a private read-only file mapping
** from this process (a later read faults them back in from the file). */
void mem_release_pages(const void *p, size_t n);

/* 1 where n more bytes of address space can be mapped now (under ulimit
** -v): for the libraries fcn opens on first use (OpenBLAS, libvips). */
int mem_address_space_for(size_t n);

/* ---- arena: many small allocations freed together ---- */

typedef struct arena_block arena_block;
typedef struct arena {
    arena_block *head;
} arena;

void *arena_alloc(arena *a, size_t n);  /* zeroed, 16-aligned; NULL on OOM */
/* s[0 .. n) and a terminating NUL, copied into the arena. */
char *arena_strdup(arena *a, const char *s, size_t n);
void arena_free(arena *a);

#endif
