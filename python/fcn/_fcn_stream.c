/*
** _fcn_stream.c: fcn._fcn's streamed maps (include/fcn_stream.h): the map
** size without a session, and the map (or a region of it) of an image file
** computed block by block by fcn_stream_run into a sink of this file that
** fills one float32 buffer, which becomes the NumPy array returned.
*/
#define NO_IMPORT_ARRAY
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "_fcn.h"
#include "fcn_stream.h"

/* map_size(model, height, width) -> (rows, cols): fcn_model_map_size. */
PyObject *ext_map_size(PyObject *mod, PyObject *args)
{
    ModelObject *mo;
    int h, w, oh = 0, ow = 0;
    (void)mod;
    if (!PyArg_ParseTuple(args, "O&ii", ext_model_arg, &mo, &h, &w))
        return NULL;
    fcn_status st = fcn_model_map_size(mo->m, h, w, &oh, &ow);
    if (st != FCN_OK)
        return ext_raise(st);
    return Py_BuildValue("(ii)", oh, ow);
}

/* Open path's source (the GIL released) and call fn on it; its status. */
typedef fcn_status (*source_fn)(const fcn_model *m, fcn_source *src,
                                void *ud);
static fcn_status on_source(const fcn_model *m, PyObject *path, int level,
                            source_fn fn, void *ud)
{
    const fcn_source_options so = {.level = level};
    const char *p = PyBytes_AS_STRING(path);
    fcn_source *src = NULL;
    fcn_status st;
    Py_BEGIN_ALLOW_THREADS
    st = fcn_source_open(m, p, &so, &src);
    if (st == FCN_OK)
        st = fn(m, src, ud);
    fcn_source_free(src);
    Py_END_ALLOW_THREADS
    return st;
}

static fcn_status source_size(const fcn_model *m, fcn_source *src, void *ud)
{
    int *hw = ud;
    (void)m;
    fcn_source_size(src, &hw[0], &hw[1], NULL);
    return FCN_OK;
}

/* image_size(model, path, level) -> (height, width): the image (or its
** level) as fcn_source_open sees it (the orientation applied). */
PyObject *ext_image_size(PyObject *mod, PyObject *args)
{
    ModelObject *mo;
    PyObject *path;
    int level, hw[2] = {0, 0};
    (void)mod;
    if (!PyArg_ParseTuple(args, "O&O&i", ext_model_arg, &mo,
                          PyUnicode_FSConverter, &path, &level))
        return NULL;
    fcn_status st = on_source(mo->m, path, level, source_size, hw);
    Py_DECREF(path);
    if (st != FCN_OK)
        return ext_raise(st);
    return Py_BuildValue("(ii)", hw[0], hw[1]);
}

/* input_window(model, height, width, (row, col, h, w), mem_limit) -> (y,
** x, h, w): the input pixels a region session of those cells reads
** (fcn_session_input_window), as fcn-run --shard records it. */
PyObject *ext_input_window(PyObject *mod, PyObject *args)
{
    ModelObject *mo;
    int ih, iw, y0, x0, h, w;
    fcn_region r;
    Py_ssize_t mem;
    (void)mod;
    if (!PyArg_ParseTuple(args, "O&ii(iiii)n", ext_model_arg, &mo, &ih, &iw,
                          &r.row, &r.col, &r.height, &r.width, &mem))
        return NULL;
    if (mem < 0) {
        PyErr_SetString(PyExc_ValueError, "mem_limit must be >= 0");
        return NULL;
    }
    const fcn_session_options so = {.threads = 1, .mem_limit = (size_t)mem};
    fcn_session *s = NULL;
    fcn_status st;
    Py_BEGIN_ALLOW_THREADS
    st = fcn_session_create_region(mo->m, ih, iw, &r, &so, &s);
    if (st == FCN_OK)
        fcn_session_input_window(s, &y0, &x0, &h, &w);
    fcn_session_free(s);
    Py_END_ALLOW_THREADS
    if (st != FCN_OK)
        return ext_raise(st);
    return Py_BuildValue("(iiii)", y0, x0, h, w);
}

/* gemm_info(gemm) -> str: fcn_gemm_info. */
PyObject *ext_gemm_info(PyObject *mod, PyObject *args)
{
    int gemm;
    (void)mod;
    if (!PyArg_ParseTuple(args, "i", &gemm))
        return NULL;
    return PyUnicode_FromString(fcn_gemm_info((fcn_gemm)gemm));
}

/* The sink: the whole (region's) map in one malloc'd buffer, CHW. It runs
** without the GIL, so it touches no Python object. */
typedef struct {
    float *data;
    int classes, h, w;
    fcn_geometry g;
} region_sink;

static fcn_status rs_begin(void *ud, int classes, int h, int w,
                           const fcn_geometry *g)
{
    region_sink *k = ud;
    const uint64_t n = (uint64_t)classes * (uint64_t)h * (uint64_t)w;
    if (n > SIZE_MAX / sizeof(float) ||
        !(k->data = malloc((size_t)n * sizeof(float))))
        return FCN_ERR_NOMEM;
    k->classes = classes;
    k->h = h;
    k->w = w;
    k->g = *g;
    return FCN_OK;
}

static fcn_status rs_put(void *ud, int row, int col, int h, int w,
                         const float *s)
{
    region_sink *k = ud;
    for (int c = 0; c < k->classes; c++)
        for (int y = 0; y < h; y++)
            memcpy(k->data + ((size_t)c * k->h + row + y) * k->w + col,
                   s + ((size_t)c * h + y) * w, (size_t)w * sizeof(float));
    return FCN_OK;
}

static fcn_status rs_commit(void *ud)
{
    (void)ud;
    return FCN_OK;
}

static void rs_abort(void *ud)
{
    region_sink *k = ud;
    free(k->data);
    k->data = NULL;
}

static void free_capsule(PyObject *cap)
{
    free(PyCapsule_GetPointer(cap, NULL));
}

/* A float32 array (classes, h, w) owning k's buffer (freed with it). */
static PyObject *region_array(region_sink *k)
{
    npy_intp dims[3] = {k->classes, k->h, k->w};
    PyObject *cap = PyCapsule_New(k->data, NULL, free_capsule);
    if (!cap) {
        free(k->data);
        return NULL;
    }
    PyObject *a = PyArray_SimpleNewFromData(3, dims, NPY_FLOAT32, k->data);
    if (!a || PyArray_SetBaseObject((PyArrayObject *)a, cap) < 0) {
        Py_XDECREF(a);
        Py_DECREF(cap);  /* frees the buffer */
        return NULL;
    }
    return a;
}

typedef struct {
    const fcn_stream_options *so;
    fcn_map_sink sink;
} region_run;

static fcn_status stream_run(const fcn_model *m, fcn_source *src, void *ud)
{
    const region_run *rr = ud;
    return fcn_stream_run(m, src, rr->so, &rr->sink);
}

/* run_region(model, path, cells, threads, mem_limit, level) -> (scores,
** geometry): cells None (the whole map) or (row, col, height, width). The
** geometry is the region's (offsets of its cell (0, 0)), as the sink's
** begin gets it. */
PyObject *ext_run_region(PyObject *mod, PyObject *args)
{
    ModelObject *mo;
    PyObject *path, *cells_obj;
    int threads, level;
    Py_ssize_t mem;
    fcn_region r;
    (void)mod;
    if (!PyArg_ParseTuple(args, "O&O&Oini", ext_model_arg, &mo,
                          PyUnicode_FSConverter, &path, &cells_obj, &threads,
                          &mem, &level))
        return NULL;
    if (cells_obj != Py_None &&
        !PyArg_ParseTuple(cells_obj, "iiii", &r.row, &r.col, &r.height,
                          &r.width)) {
        Py_DECREF(path);
        return NULL;
    }
    if (mem < 0) {
        Py_DECREF(path);
        PyErr_SetString(PyExc_ValueError, "mem_limit must be >= 0");
        return NULL;
    }
    const fcn_stream_options so = {.threads = threads,
                                   .mem_limit = (size_t)mem,
                                   .cells = cells_obj == Py_None ? NULL : &r};
    region_sink k = {0};
    region_run rr = {&so, {rs_begin, rs_put, rs_commit, rs_abort, &k}};
    fcn_status st = on_source(mo->m, path, level, stream_run, &rr);
    Py_DECREF(path);
    if (st != FCN_OK)
        return ext_raise(st);  /* the sink was aborted: k.data freed */
    PyObject *a = region_array(&k);
    if (!a)
        return NULL;
    PyObject *g = ext_geometry(&k.g);
    if (!g) {
        Py_DECREF(a);
        return NULL;
    }
    return Py_BuildValue("(NN)", a, g);
}
