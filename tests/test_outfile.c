/*
** test_outfile.c: fcn_output_* (include/fcn.h), the one way the library
** and the front ends write files: a new file, a replaced one (its mode
** kept), an abort, refusals of what is not a regular file (left as it
** was), the temporary's name and mode, a chdir between open and commit,
** the registry's limit, fcn_output_remove_temporaries, several threads at
** once, and fcn_npy_write through it. End to end through the front ends,
** with signals and full disks: tests/test_outputs.sh.
*/
#define _DEFAULT_SOURCE /* mknod, makedev */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "check.h"
#include "fcn.h"

static char dir[1024];

/* The names in dir, "" separated by '/', sorted by the caller's order. */
static int entries(char *out, size_t n)
{
    DIR *d = opendir(dir);
    int k = 0;
    out[0] = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        size_t l = strlen(out);
        snprintf(out + l, n - l, "%s%s", k++ ? "/" : "", e->d_name);
    }
    closedir(d);
    return k;
}

static int count(void)
{
    char b[4096];
    return entries(b, sizeof b);
}

static void path(char *p, size_t n, const char *name)
{
    snprintf(p, n, "%s/%s", dir, name);
}

/* Whether the file at p holds exactly text. */
static int holds(const char *p, const char *text)
{
    size_t n;
    unsigned char *b = check_read_file(p, &n);
    const int same = b && n == strlen(text) && !memcmp(b, text, n);
    free(b);
    return same;
}

/* Empties dir (and the one folder a test makes in it, "sub"). */
static void clear(void)
{
    char p[2048];
    path(p, sizeof p, "sub/victim");
    remove(p);
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            path(p, sizeof p, e->d_name);
            remove(p);
        }
    if (d)
        closedir(d);
}

static int write_whole(const char *p, const char *text)
{
    fcn_output *o;
    FILE *f;
    if (fcn_output_open(p, &o, &f) != FCN_OK)
        return 0;
    fputs(text, f);
    return fcn_output_commit(o) == FCN_OK;
}

static void test_new_and_replace(void)
{
    char p[2048], names[4096];
    path(p, sizeof p, "a.txt");
    mode_t old = umask(027);
    fcn_output *o;
    FILE *f;
    CHECK(fcn_output_open(p, &o, &f) == FCN_OK && f, "open: %s",
          fcn_last_error());
    fputs("hello", f);
    /* while open: one hidden temporary ".a.txt.XXXXXX.tmp", 0640 */
    CHECK(entries(names, sizeof names) == 1 && !strncmp(names, ".a.txt.", 7) &&
          strlen(names) == 17 && !strcmp(names + 13, ".tmp"),
          "temporary's name: %s", names);
    char t[2048];
    struct stat st;
    path(t, sizeof t, names);
    CHECK(stat(t, &st) == 0 && (st.st_mode & 0777) == 0640,
          "temporary's mode %o, want 0640 (umask 027)", st.st_mode & 0777);
    CHECK(access(p, F_OK) != 0, "target exists before the commit");
    CHECK(fcn_output_commit(o) == FCN_OK, "commit: %s", fcn_last_error());
    CHECK(holds(p, "hello"), "content: not 'hello'");
    CHECK(count() == 1, "one file after the commit");
    CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0640, "mode %o",
          st.st_mode & 0777);
    umask(old);
    /* replaced: a new inode, the old permissions */
    chmod(p, 0604);
    ino_t ino = st.st_ino;
    CHECK(write_whole(p, "world"), "replace: %s", fcn_last_error());
    CHECK(holds(p, "world"), "replaced content: not 'world'");
    CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0604 &&
          st.st_ino != ino, "replaced: mode %o (want 604), a new file",
          st.st_mode & 0777);
    /* abort: the old file stays, the temporary goes */
    CHECK(fcn_output_open(p, &o, &f) == FCN_OK, "open: %s", fcn_last_error());
    fputs("lost", f);
    fcn_output_abort(o);
    CHECK(holds(p, "world") && count() == 1, "abort kept the old file");
    clear();
}

static void refused(const char *what, const char *p)
{
    fcn_output *o = (fcn_output *)1;
    FILE *f = (FILE *)1;
    fcn_status st = fcn_output_open(p, &o, &f);
    CHECK(st == FCN_ERR_IO && !o && !f &&
          strstr(fcn_last_error(), "exists and is not a regular file, not "
                 "replaced"), "%s: status %d, %s", what, st, fcn_last_error());
}

static void test_refusals(void)
{
    char p[2048], q[2048], r[2048];
    path(p, sizeof p, "fifo");
    CHECK(mkfifo(p, 0644) == 0, "mkfifo: %s", strerror(errno));
    refused("a FIFO", p);
    path(p, sizeof p, "sub");
    mkdir(p, 0755);
    refused("a directory", p);
    path(q, sizeof q, "sub/victim");
    CHECK(write_whole(q, "precious"), "victim: %s", fcn_last_error());
    path(p, sizeof p, "link");
    CHECK(symlink(q, p) == 0, "symlink: %s", strerror(errno));
    refused("a symlink", p);
    path(r, sizeof r, "sub/absent");
    path(p, sizeof p, "dangling");
    CHECK(symlink(r, p) == 0, "symlink: %s", strerror(errno));
    refused("a dangling symlink", p);
    path(p, sizeof p, "null");
    if (geteuid() == 0 && mknod(p, S_IFCHR | 0666, makedev(1, 3)) == 0)
        refused("a character device", p);
    else
        printf("SKIPPED: a character device (mknod needs root)\n");
    CHECK(holds(q, "precious") && access(r, F_OK) != 0,
          "a symlink's target written");
    struct stat st;
    path(p, sizeof p, "fifo");
    CHECK(lstat(p, &st) == 0 && S_ISFIFO(st.st_mode), "the FIFO replaced");
    path(p, sizeof p, "link");
    CHECK(lstat(p, &st) == 0 && S_ISLNK(st.st_mode), "the symlink replaced");
    /* a name that is a directory's, a missing folder, a file as folder */
    path(p, sizeof p, "sub/");
    fcn_output *o;
    FILE *f;
    CHECK(fcn_output_open(p, &o, &f) == FCN_ERR_IO &&
          strstr(fcn_last_error(), "names a directory"), "sub/: %s",
          fcn_last_error());
    path(p, sizeof p, "none/x");
    CHECK(fcn_output_open(p, &o, &f) == FCN_ERR_IO &&
          strstr(fcn_last_error(), "none/x: directory '") &&
          strstr(fcn_last_error(), "none' does not exist") &&
          !strstr(fcn_last_error(), ".tmp"),
          "missing folder: %s", fcn_last_error());
    path(p, sizeof p, "sub/victim/x");
    CHECK(fcn_output_open(p, &o, &f) == FCN_ERR_IO &&
          strstr(fcn_last_error(), "victim' is not a directory"), "file as folder: %s",
          fcn_last_error());
    /* the target turned into a directory before the commit */
    path(p, sizeof p, "late");
    CHECK(fcn_output_open(p, &o, &f) == FCN_OK, "open: %s", fcn_last_error());
    mkdir(p, 0755);
    fputs("x", f);
    CHECK(fcn_output_commit(o) == FCN_ERR_IO &&
          strstr(fcn_last_error(), "not a regular file"), "late: %s",
          fcn_last_error());
    CHECK(lstat(p, &st) == 0 && S_ISDIR(st.st_mode), "late directory replaced");
    char names[4096];
    entries(names, sizeof names);
    CHECK(!strstr(names, ".tmp"), "temporaries left: %s", names);
    /* arguments */
    CHECK(fcn_output_open(NULL, &o, &f) == FCN_ERR_ARG, "NULL path");
    CHECK(fcn_output_open("", &o, &f) == FCN_ERR_ARG, "empty path");
    CHECK(fcn_output_commit(NULL) == FCN_ERR_ARG, "commit(NULL)");
    fcn_output_abort(NULL);
    /* a name too long for the file system; the longest that fits */
    char name[300];
    memset(name, 'n', 256);
    name[256] = 0;
    path(p, sizeof p, name);
    CHECK(fcn_output_open(p, &o, &f) == FCN_ERR_IO &&
          strstr(fcn_last_error(), "too long"), "256-byte name: %s",
          fcn_last_error());
    name[255] = 0;
    path(p, sizeof p, name);
    CHECK(write_whole(p, "x") && access(p, F_OK) == 0, "255-byte name: %s",
          fcn_last_error());
    clear();
}

static void test_chdir(void)
{
    char cwd[1024], p[2048];
    CHECK(getcwd(cwd, sizeof cwd) && chdir(dir) == 0, "chdir");
    fcn_output *o;
    FILE *f;
    CHECK(fcn_output_open("rel.txt", &o, &f) == FCN_OK, "relative: %s",
          fcn_last_error());
    CHECK(chdir(cwd) == 0, "chdir back");
    fputs("rel", f);
    CHECK(fcn_output_commit(o) == FCN_OK, "commit after chdir: %s",
          fcn_last_error());
    path(p, sizeof p, "rel.txt");
    CHECK(holds(p, "rel") && access("rel.txt", F_OK) != 0,
          "a chdir moved the output");
    clear();
}

static void test_registry(void)
{
    fcn_output *o[17];
    FILE *f;
    char p[2048];
    int n = 0;
    for (int k = 0; k < 17; k++) {
        snprintf(p, sizeof p, "%s/r%d", dir, k);
        if (fcn_output_open(p, &o[k], &f) != FCN_OK)
            break;
        fputs("r", f);
        n++;
    }
    CHECK(n == 16 && strstr(fcn_last_error(), "more than 16 outputs"),
          "%d outputs open; %s", n, fcn_last_error());
    CHECK(count() == 16, "16 temporaries");
    /* a signal handler's view: every temporary unlinked at once */
    fcn_output_remove_temporaries();
    CHECK(count() == 0, "%d temporaries left by remove_temporaries", count());
    int failed = 0;
    for (int k = 0; k < n; k++)
        failed += fcn_output_commit(o[k]) == FCN_ERR_IO;
    CHECK(failed == n && count() == 0, "commits without a temporary: %d of "
          "%d failed", failed, n);
    snprintf(p, sizeof p, "%s/again", dir);
    CHECK(write_whole(p, "again"), "slots not freed: %s", fcn_last_error());
    clear();
}

static void *writer(void *arg)
{
    int id = (int)(size_t)arg, bad = 0;
    char p[2048], text[64];
    for (int k = 0; k < 25; k++) {
        snprintf(p, sizeof p, "%s/t%d-%d", dir, id, k);
        snprintf(text, sizeof text, "thread %d file %d", id, k);
        bad += !write_whole(p, text);
    }
    return (void *)(size_t)bad;
}

static void test_threads(void)
{
    pthread_t th[4];
    int bad = 0;
    for (int k = 0; k < 4; k++)
        pthread_create(&th[k], NULL, writer, (void *)(size_t)k);
    for (int k = 0; k < 4; k++) {
        void *r;
        pthread_join(th[k], &r);
        bad += (int)(size_t)r;
    }
    int wrong = 0;
    char p[2048], text[64];
    for (int id = 0; id < 4; id++)
        for (int k = 0; k < 25; k++) {
            snprintf(p, sizeof p, "%s/t%d-%d", dir, id, k);
            snprintf(text, sizeof text, "thread %d file %d", id, k);
            wrong += !holds(p, text);
        }
    CHECK(!bad && !wrong && count() == 100, "4 threads x 25 files: %d "
          "failed, %d wrong, %d files", bad, wrong, count());
    clear();
}

static void test_npy(void)
{
    char p[2048], q[2048];
    float x[6] = {1, 2, 3, 4, 5, 6};
    int shape[3] = {1, 2, 3};
    path(p, sizeof p, "a.npy");
    CHECK(fcn_npy_write(p, x, 3, shape) == FCN_OK, "npy: %s", fcn_last_error());
    struct stat st;
    CHECK(stat(p, &st) == 0 && st.st_size == 128 + 24 && count() == 1,
          "npy size %lld", (long long)st.st_size);
    path(q, sizeof q, "l.npy");
    CHECK(symlink(p, q) == 0, "symlink");
    CHECK(fcn_npy_write(q, x, 3, shape) == FCN_ERR_IO &&
          strstr(fcn_last_error(), "not a regular file"), "npy to a symlink: "
          "%s", fcn_last_error());
    clear();
}

int main(int argc, char **argv)
{
    snprintf(dir, sizeof dir, "%s/outfile.%ld", argc > 1 ? argv[1] : ".",
             (long)getpid());
    if (mkdir(dir, 0755)) {
        CHECK(0, "mkdir %s: %s", dir, strerror(errno));
        return check_done();
    }
    test_new_and_replace();
    test_refusals();
    test_chdir();
    test_registry();
    test_threads();
    test_npy();
    rmdir(dir);
    return check_done();
}
