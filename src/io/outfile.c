/*
** outfile.c: files written whole or not at all (outfile.h). The target's
** directory is opened once and every name is resolved in it (openat,
** renameat, unlinkat), so a chdir or a renamed parent cannot send the
** temporary, its removal or the rename anywhere else. The temporary,
** ".NAME.XXXXXX.tmp", is created with O_CREAT|O_EXCL|O_NOFOLLOW: nothing
** planted at its name (a symlink) is ever followed or reused.
*/
#define _GNU_SOURCE /* fopencookie */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io/outfile.h"
#include "util/err.h"

#ifndef O_PATH
#define O_PATH O_RDONLY
#endif

/* A slot's life: FREE -> BUSY (claimed, nothing on disk) -> LIVE (the
** temporary may exist: the signal handler unlinks it) -> BUSY -> FREE. */
enum { FREE, BUSY, LIVE };

struct fcn_output {
    atomic_int state;
    int dir;                 /* the target's directory */
    int fd;                  /* the temporary */
    int err;                 /* the first write error (errno), 0: none */
    FILE *f;
    mode_t mode;             /* the permissions of the file replaced */
    int replaces;            /* a regular file is there now */
    char base[NAME_MAX + 1]; /* the target's name in dir */
    char tmp[NAME_MAX + 1];  /* the temporary's name in dir */
    char path[PATH_MAX];     /* as the caller gave it, for messages */
};

/* Static, so that a signal handler can walk it: no allocation, no lock. */
static struct fcn_output slots[OUTF_MAX];
static atomic_uint_fast64_t name_counter;

static outf *claim(void)
{
    for (int k = 0; k < OUTF_MAX; k++) {
        int want = FREE;
        if (atomic_compare_exchange_strong(&slots[k].state, &want, BUSY))
            return &slots[k];
    }
    return NULL;
}

/* Back to FREE once the handler can no longer look at dir or tmp. */
static void release(outf *o)
{
    atomic_store(&o->state, BUSY);
    if (o->dir >= 0)
        close(o->dir);
    o->dir = o->fd = -1;
    o->f = NULL;
    atomic_store(&o->state, FREE);
}

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

/* ".NAME.XXXXXX.tmp" (NAME cut to 200 bytes): hidden, beside the target,
** unpredictable (pid, clock, a counter). */
static void tmp_name(outf *o)
{
    static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t r = mix((uint64_t)getpid() << 32 ^ (uint64_t)ts.tv_nsec ^
                     (uint64_t)ts.tv_sec << 20 ^ (uintptr_t)o ^
                     mix(atomic_fetch_add(&name_counter, 1)));
    size_t n = strlen(o->base);
    n = n < 200 ? n : 200;
    char *p = o->tmp;
    *p++ = '.';
    memcpy(p, o->base, n);
    p += n;
    *p++ = '.';
    for (int k = 0; k < 6; k++, r /= 62)
        *p++ = set[r % 62];
    memcpy(p, ".tmp", 5);
}

/* The stream's writes, so that the first error's errno is kept for the
** message ("No space left on device"), whatever stdio does later. */
static ssize_t cookie_write(void *c, const char *buf, size_t n)
{
    outf *o = c;
    size_t done = 0;
    while (done < n) {
        ssize_t k = write(o->fd, buf + done, n - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (!o->err)
                o->err = k < 0 ? errno : EIO;
            return done ? (ssize_t)done : -1;
        }
        done += (size_t)k;
    }
    return (ssize_t)done;
}

static int cookie_close(void *c)
{
    outf *o = c;
    int r = close(o->fd);
    if (r && !o->err)
        o->err = errno;
    o->fd = -1;
    return r;
}

static FILE *stream(outf *o)
{
#if defined(__GLIBC__) || defined(__linux__)
    cookie_io_functions_t io = {NULL, cookie_write, NULL, cookie_close};
    return fopencookie(o, "w", io);
#else
    return fdopen(o->fd, "wb");
#endif
}

/* The directory part of path opened, the name checked; 0: err_set done. */
static fcn_status open_dir(outf *o, const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char dir[PATH_MAX];
    if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
        return err_set(FCN_ERR_IO, "%s: names a directory, not a file", path);
    if (strlen(base) > NAME_MAX)
        return err_set(FCN_ERR_IO, "%s: %s", path, strerror(ENAMETOOLONG));
    strcpy(o->base, base);
    if (!slash)
        strcpy(dir, ".");
    else if (slash == path)
        strcpy(dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    o->dir = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (o->dir < 0 && errno == ENOENT)
        return err_set(FCN_ERR_IO, "%s: directory '%s' does not exist", path,
                       dir);
    if (o->dir < 0 && errno == ENOTDIR)
        return err_set(FCN_ERR_IO, "%s: '%s' is not a directory", path, dir);
    if (o->dir < 0)
        return err_set(FCN_ERR_IO, "%s: %s", path, strerror(errno));
    return FCN_OK;
}

/* What is at the target now: nothing, or a regular file (its mode kept);
** anything else is refused. */
static fcn_status check_target(outf *o)
{
    struct stat st;
    if (fstatat(o->dir, o->base, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT)
            return FCN_OK;
        return err_set(FCN_ERR_IO, "%s: %s", o->path, strerror(errno));
    }
    if (!S_ISREG(st.st_mode))
        return err_set(FCN_ERR_IO, "%s: exists and is not a regular file, "
                       "not replaced", o->path);
    o->replaces = 1;
    o->mode = st.st_mode & 0777;
    return FCN_OK;
}

/* The temporary, created exclusively. LIVE before it exists: a signal is
** delivered to any thread of the process (an OpenMP worker while this one
** is in openat), so blocking signals here would not stop the handler from
** running and missing it. Should the name be taken (EEXIST), the handler
** could remove that file in the instant before it goes BUSY again; the
** name is random and hidden, so that file would be an attacker's plant. */
static fcn_status create_tmp(outf *o)
{
    for (int tries = 0;; tries++) {
        tmp_name(o);
        atomic_store(&o->state, LIVE);
        /* 0666 & ~umask, as fopen would give a new file */
        o->fd = openat(o->dir, o->tmp,
                       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                       0666);
        if (o->fd >= 0)
            break;
        int e = errno;
        atomic_store(&o->state, BUSY);
        if (e != EEXIST || tries == 100)
            return err_set(FCN_ERR_IO, "%s: %s", o->path, strerror(e));
    }
    if (o->replaces)
        (void)fchmod(o->fd, o->mode); /* best effort, as a rewrite keeps it */
    return FCN_OK;
}

fcn_status outf_open(const char *path, outf **out, FILE **f)
{
    if (!path || !out || !f)
        return err_set(FCN_ERR_ARG, "fcn_output_open: NULL argument");
    *out = NULL;
    *f = NULL;
    if (!*path)
        return err_set(FCN_ERR_ARG, "fcn_output_open: empty path");
    if (strlen(path) >= PATH_MAX)
        return err_set(FCN_ERR_IO, "%.64s...: %s", path,
                       strerror(ENAMETOOLONG));
    outf *o = claim();
    if (!o)
        return err_set(FCN_ERR_ARG, "%s: more than %d outputs open at once",
                       path, OUTF_MAX);
    o->dir = o->fd = -1;
    o->err = o->replaces = 0;
    o->f = NULL;
    strcpy(o->path, path);
    fcn_status st = open_dir(o, path);
    if (!st)
        st = check_target(o);
    if (!st)
        st = create_tmp(o);
    if (!st && !(o->f = stream(o))) {
        close(o->fd);
        st = err_set(FCN_ERR_NOMEM, "%s: out of memory", path);
    }
    if (st) {
        if (o->fd >= 0)
            unlinkat(o->dir, o->tmp, 0);
        release(o);
        return st;
    }
    *out = o;
    *f = o->f;
    return FCN_OK;
}

/* After the rename: the directory synced, so that the new name survives
** a crash. o->dir is O_PATH (fsync refuses it): the directory is opened
** again to read. A directory that cannot be opened to read (no read
** permission) or synced (EINVAL: a file system that does not sync
** directories) is left as it is; another failure is an error, the file
** being in place then but perhaps not on disk. */
static fcn_status sync_dir(const outf *o)
{
    const int d = openat(o->dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0)
        return errno == EACCES || errno == EPERM
                   ? FCN_OK
                   : err_set(FCN_ERR_IO, "%s: opening its directory to sync "
                             "it: %s", o->path, strerror(errno));
    const int r = fsync(d), e = errno;
    close(d);
    if (r != 0 && e != EINVAL)
        return err_set(FCN_ERR_IO, "%s: syncing its directory: %s", o->path,
                       strerror(e));
    return FCN_OK;
}

fcn_status outf_commit(outf *o)
{
    if (!o)
        return err_set(FCN_ERR_ARG, "fcn_output_commit: NULL output");
    int e = 0;
    /* every write, then the flush, the sync and the close, each checked */
    if (fflush(o->f) != 0 || ferror(o->f))
        e = o->err ? o->err : EIO;
    if (!e && fsync(o->fd) != 0 && errno != EINVAL)
        e = errno;
    if (fclose(o->f) != 0 && !e)
        e = o->err ? o->err : EIO;
    o->f = NULL;
    fcn_status st = FCN_OK;
    if (e)
        st = err_set(FCN_ERR_IO, "%s: %s", o->path, strerror(e));
    else
        st = check_target(o); /* it may have changed since the open */
    /* a handler running between the rename and release finds no file */
    if (!st && renameat(o->dir, o->tmp, o->dir, o->base) != 0)
        st = err_set(FCN_ERR_IO, "%s: %s", o->path, strerror(errno));
    if (st)
        unlinkat(o->dir, o->tmp, 0);
    else
        st = sync_dir(o);
    release(o);
    return st;
}

void outf_abort(outf *o)
{
    if (!o)
        return;
    if (o->f)
        fclose(o->f);
    unlinkat(o->dir, o->tmp, 0);
    release(o);
}

int outf_fd(const outf *o) { return o->fd; }

void outf_remove_all(void)
{
    int e = errno; /* a signal handler leaves errno as it found it */
    for (int k = 0; k < OUTF_MAX; k++)
        if (atomic_load(&slots[k].state) == LIVE)
            unlinkat(slots[k].dir, slots[k].tmp, 0);
    errno = e;
}

fcn_status fcn_output_open(const char *path, fcn_output **o, FILE **f)
{
    return outf_open(path, o, f);
}

fcn_status fcn_output_commit(fcn_output *o)
{
    return outf_commit(o);
}

void fcn_output_abort(fcn_output *o)
{
    outf_abort(o);
}

void fcn_output_remove_temporaries(void)
{
    outf_remove_all();
}
