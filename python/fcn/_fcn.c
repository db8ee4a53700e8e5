/*
** _fcn: the C extension under the Python package fcn (python/fcn/).
**
** A thin layer over the public API (include/fcn.h, include/fcn_detect.h):
** four object types (Model, Session, Image, Detector) holding the library's
** handles, and the conversions to and from NumPy. The friendly parts (option
** names, the session pool, result types) are the package's Python code.
**
** Every call that computes or reads files (load, decode, session create,
** run, detector run) releases the GIL. A Session or a Detector is used by
** one thread at a time: a second thread calling one that is running gets a
** RuntimeError instead of a data race (the package's pool hands each thread
** its own). Objects keep a reference to their model, so fcn_model_free
** comes after every session and detector of it is freed.
*/
#include <string.h>

#include "_fcn.h"

/* fcn.errors' classes, indexed by fcn_status (0: FcnError itself). */
PyObject *ext_errors[EXT_N_STATUS];

PyObject *ext_raise(fcn_status st)
{
    PyObject *cls = ext_errors[st > 0 && st < EXT_N_STATUS ? st : 0];
    PyErr_SetString(cls, fcn_last_error());
    return NULL;
}

PyObject *ext_shape_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    PyErr_FormatV(ext_errors[FCN_ERR_SHAPE], fmt, ap);
    va_end(ap);
    return NULL;
}

PyObject *ext_geometry(const fcn_geometry *g)
{
    return Py_BuildValue("(iiiiii)", g->stride_h, g->stride_w, g->offset_h,
                         g->offset_w, g->rf_h, g->rf_w);
}

/* A guard against two threads using one session or detector at once (set
** and cleared with the GIL held). */
int ext_claim(int *busy, const char *what)
{
    if (*busy) {
        PyErr_Format(PyExc_RuntimeError, "this %s is running in another "
                     "thread (use one per thread)", what);
        return 0;
    }
    *busy = 1;
    return 1;
}

/* ---- Model ---- */

static void Model_dealloc(ModelObject *self)
{
    fcn_model_free(self->m);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

PyObject *ext_floats(const float *f32, const double *f64, int n)
{
    PyObject *t = PyTuple_New(n);
    for (int i = 0; t && i < n; i++) {
        PyObject *f = PyFloat_FromDouble(f32 ? f32[i] : f64[i]);
        if (!f) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, i, f);
    }
    return t;
}

/* A str of the model's text (invalid UTF-8 replaced), or None for NULL. */
static PyObject *text(const char *s)
{
    if (!s)
        Py_RETURN_NONE;
    return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "replace");
}

/* None when the model has no labels, else a list of str. */
static PyObject *labels_list(const fcn_model *m, int classes)
{
    if (classes < 1 || !fcn_model_label(m, 0))
        Py_RETURN_NONE;
    PyObject *l = PyList_New(classes);
    for (int c = 0; l && c < classes; c++) {
        PyObject *o = text(fcn_model_label(m, c));
        if (!o) {
            Py_DECREF(l);
            return NULL;
        }
        PyList_SET_ITEM(l, c, o);
    }
    return l;
}

static PyObject *Model_info(ModelObject *self, PyObject *unused)
{
    const fcn_model_info *i = &self->info;
    (void)unused;
    PyObject *g = ext_geometry(&i->geom);
    PyObject *mean = ext_floats(i->mean, NULL, i->in_c);
    PyObject *std = ext_floats(i->std, NULL, i->in_c);
    PyObject *labels = labels_list(self->m, i->classes);
    if (!g || !mean || !std || !labels) {
        Py_XDECREF(g);
        Py_XDECREF(mean);
        Py_XDECREF(std);
        Py_XDECREF(labels);
        return NULL;
    }
    /* N: each reference taken (NULL makes it fail, the rest released) */
    return Py_BuildValue(
        "{s:i,s:i,s:i,s:i,s:i,s:i,s:N,s:N,s:d,s:N,s:N,s:N,s:i,s:i,"
        "s:n,s:N,s:N,s:N}",
        "in_c", i->in_c, "in_h", i->in_h, "in_w", i->in_w,
        "classes", i->classes, "min_h", i->min_h, "min_w", i->min_w,
        "color", text(i->color), "resize", text(i->resize),
        "scale", (double)i->scale, "mean", mean, "std", std,
        "name", text(i->name), "n_layers_file", i->n_layers_file,
        "n_layers_fcn", i->n_layers_fcn,
        "weight_bytes", (Py_ssize_t)i->weight_bytes, "geometry", g,
        "labels", labels, "summary", text(fcn_model_summary(self->m)));
}

static PyMethodDef Model_methods[] = {
    {"info", (PyCFunction)Model_info, METH_NOARGS,
     "fcn_model_get_info as a dict"},
    {NULL, NULL, 0, NULL}};

OBJECT_TYPE(Model, "a loaded fcn_model (made by _fcn.load)", Model_methods,
            NULL);

/* load(source, from_memory, gap, winograd, gemm, max_pixels, precision,
** stride_divisor):
** source is a file system path (str or bytes) or, from_memory, a
** bytes-like object. */
static PyObject *mod_load(PyObject *mod, PyObject *args)
{
    PyObject *src, *path = NULL;
    int from_memory, gap, winograd, gemm, precision, stride_divisor;
    long long maxpx;
    (void)mod;
    if (!PyArg_ParseTuple(args, "OpiiiLii", &src, &from_memory, &gap,
                          &winograd, &gemm, &maxpx, &precision,
                          &stride_divisor))
        return NULL;
    fcn_options o = {.gap_mode = (fcn_gap_mode)gap,
                     .winograd = (fcn_winograd)winograd,
                     .gemm = (fcn_gemm)gemm, .max_pixels = (int64_t)maxpx,
                     .precision = (fcn_precision)precision,
                     .stride_divisor = stride_divisor};
    Py_buffer view = {0};
    if (from_memory ? PyObject_GetBuffer(src, &view, PyBUF_SIMPLE) < 0
                    : !PyUnicode_FSConverter(src, &path))
        return NULL;
    fcn_model *m = NULL;
    fcn_status st;
    const char *p = path ? PyBytes_AS_STRING(path) : NULL;
    Py_BEGIN_ALLOW_THREADS
    st = from_memory
             ? fcn_model_load_memory(view.buf, (size_t)view.len, &o, &m)
             : fcn_model_load(p, &o, &m);
    Py_END_ALLOW_THREADS
    if (from_memory)
        PyBuffer_Release(&view);
    Py_XDECREF(path);
    if (st != FCN_OK)
        return ext_raise(st);
    ModelObject *self = PyObject_New(ModelObject, &ext_ModelType);
    if (!self) {
        fcn_model_free(m);
        return NULL;
    }
    self->m = m;
    fcn_model_get_info(m, &self->info);
    return (PyObject *)self;
}

/* ---- Image ---- */

static void Image_dealloc(ImageObject *self)
{
    if (self->base)
        Py_DECREF(self->base);
    else
        fcn_image_free(&self->img);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Image_size(ImageObject *self, void *unused)
{
    (void)unused;
    return Py_BuildValue("(iii)", self->img.h, self->img.w, self->img.c);
}

static PyGetSetDef Image_getset[] = {
    {"size", (getter)Image_size, NULL, "(height, width, channels)", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

OBJECT_TYPE(Image, "8-bit pixels, h x w x c (made by _fcn.decode or "
            "_fcn.image)", NULL, Image_getset);

/* O& converters: an object of the given type. */
static int typed_arg(PyObject *o, void *out, PyTypeObject *t)
{
    if (!PyObject_TypeCheck(o, t)) {
        PyErr_Format(PyExc_TypeError, "expected an %s", t->tp_name);
        return 0;
    }
    *(PyObject **)out = o;
    return 1;
}

int ext_model_arg(PyObject *o, void *out)
{
    return typed_arg(o, out, &ext_ModelType);
}

int ext_image_arg(PyObject *o, void *out)
{
    return typed_arg(o, out, &ext_ImageType);
}

/* decode(model, path, out_h, out_w): fcn_image_decode. */
static PyObject *mod_decode(PyObject *mod, PyObject *args)
{
    ModelObject *mo;
    PyObject *path;
    int oh, ow;
    (void)mod;
    if (!PyArg_ParseTuple(args, "O&O&ii", ext_model_arg, &mo,
                          PyUnicode_FSConverter, &path, &oh, &ow))
        return NULL;
    fcn_image img = {0};
    fcn_status st;
    const char *p = PyBytes_AS_STRING(path);
    Py_BEGIN_ALLOW_THREADS
    st = fcn_image_decode(mo->m, p, oh, ow, &img);
    Py_END_ALLOW_THREADS
    Py_DECREF(path);
    if (st != FCN_OK)
        return ext_raise(st);
    ImageObject *self = PyObject_New(ImageObject, &ext_ImageType);
    if (!self) {
        fcn_image_free(&img);
        return NULL;
    }
    self->img = img;
    self->base = NULL;
    return (PyObject *)self;
}

/* image(array): the pixels of a C-contiguous uint8 array (H, W, C), used
** in place (the Image keeps the array alive). */
static PyObject *mod_image(PyObject *mod, PyObject *arg)
{
    (void)mod;
    if (!PyArray_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "expected a numpy array");
        return NULL;
    }
    PyArrayObject *a = (PyArrayObject *)arg;
    if (PyArray_TYPE(a) != NPY_UINT8 || PyArray_NDIM(a) != 3 ||
        !PyArray_IS_C_CONTIGUOUS(a)) {
        PyErr_SetString(PyExc_TypeError, "expected a C-contiguous uint8 "
                        "array (H, W, C)");
        return NULL;
    }
    npy_intp *d = PyArray_DIMS(a);
    if (d[0] < 1 || d[1] < 1 || d[0] > 65536 || d[1] > 65536 ||
        (d[2] != 1 && d[2] != 3))
        return ext_shape_error("an image array must be (H, W) or (H, W, C) "
                           "with 1 to 65536 pixels a side and C 1 or 3, "
                           "not (%zd, %zd, %zd)", (Py_ssize_t)d[0],
                           (Py_ssize_t)d[1], (Py_ssize_t)d[2]);
    ImageObject *self = PyObject_New(ImageObject, &ext_ImageType);
    if (!self)
        return NULL;
    self->img = (fcn_image){.pixels = PyArray_DATA(a), .w = (int)d[1],
                            .h = (int)d[0], .c = (int)d[2]};
    Py_INCREF(arg);
    self->base = arg;
    return (PyObject *)self;
}

/* ---- Session ---- */

typedef struct {
    PyObject_HEAD
    ModelObject *model;
    fcn_session *s;
    fcn_scores shape;   /* out shape and geometry (data unused) */
    int h, w, busy;
} SessionObject;

static void Session_dealloc(SessionObject *self)
{
    fcn_session_free(self->s);
    Py_XDECREF(self->model);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Run input (a float array of the session's size) or img; the score map
** copied into a new array, since the session owns and reuses its own. */
static PyObject *session_run(SessionObject *self, const float *input,
                             const fcn_image *img)
{
    npy_intp dims[3] = {self->shape.classes, self->shape.out_h,
                        self->shape.out_w};
    PyObject *out = PyArray_SimpleNew(3, dims, NPY_FLOAT32);
    if (!out)
        return NULL;
    if (!ext_claim(&self->busy, "session")) {
        Py_DECREF(out);
        return NULL;
    }
    float *dst = PyArray_DATA((PyArrayObject *)out);
    size_t n = (size_t)dims[0] * (size_t)dims[1] * (size_t)dims[2];
    fcn_scores sc;
    fcn_status st;
    Py_BEGIN_ALLOW_THREADS
    st = img ? fcn_session_run_image(self->s, img, &sc)
             : fcn_session_run(self->s, input, &sc);
    if (st == FCN_OK)
        memcpy(dst, sc.data, n * sizeof(float));
    Py_END_ALLOW_THREADS
    self->busy = 0;
    if (st != FCN_OK) {
        Py_DECREF(out);
        return ext_raise(st);
    }
    PyObject *g = ext_geometry(&sc.geom);
    if (!g) {
        Py_DECREF(out);
        return NULL;
    }
    return Py_BuildValue("(NN)", out, g);
}

static PyObject *Session_run(SessionObject *self, PyObject *arg)
{
    if (!PyArray_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "expected a numpy array");
        return NULL;
    }
    PyArrayObject *a = (PyArrayObject *)arg;
    if (PyArray_TYPE(a) != NPY_FLOAT32 || !PyArray_ISCARRAY_RO(a) ||
        PyArray_ISBYTESWAPPED(a)) {
        PyErr_SetString(PyExc_TypeError, "expected an aligned C-contiguous "
                        "native float32 array");
        return NULL;
    }
    npy_intp *d = PyArray_DIMS(a);
    if (PyArray_NDIM(a) != 3 || d[0] != self->model->info.in_c ||
        d[1] != self->h || d[2] != self->w)
        return ext_shape_error("this session runs arrays of (%d, %d, %d)",
                           self->model->info.in_c, self->h, self->w);
    /* arg is referenced by the caller for the whole call */
    return session_run(self, PyArray_DATA(a), NULL);
}

static PyObject *Session_run_image(SessionObject *self, PyObject *arg)
{
    ImageObject *im;
    if (!ext_image_arg(arg, &im))
        return NULL;
    if (im->img.h != self->h || im->img.w != self->w ||
        im->img.c != self->model->info.in_c)
        return ext_shape_error("image %dx%dx%d (WxHxC): this session runs "
                           "%dx%dx%d", im->img.w, im->img.h, im->img.c,
                           self->w, self->h, self->model->info.in_c);
    return session_run(self, NULL, &im->img);
}

static PyObject *Session_tiles(SessionObject *self, PyObject *unused)
{
    int th, tw, n;
    (void)unused;
    fcn_session_tiles(self->s, &th, &tw, &n);
    return Py_BuildValue("(iii)", th, tw, n);
}

static PyObject *Session_shape(SessionObject *self, PyObject *unused)
{
    (void)unused;
    return Py_BuildValue("(iiiN)", self->shape.classes, self->shape.out_h,
                         self->shape.out_w, ext_geometry(&self->shape.geom));
}

static PyObject *Session_arena_bytes(SessionObject *self, PyObject *unused)
{
    (void)unused;
    return PyLong_FromSize_t(fcn_session_arena_bytes(self->s));
}

static PyMethodDef Session_methods[] = {
    {"run", (PyCFunction)Session_run, METH_O,
     "run(float32 array (C, H, W)) -> (scores, geometry tuple)"},
    {"run_image", (PyCFunction)Session_run_image, METH_O,
     "run_image(Image) -> (scores, geometry tuple)"},
    {"tiles", (PyCFunction)Session_tiles, METH_NOARGS,
     "(tile_h, tile_w, n_tiles)"},
    {"shape", (PyCFunction)Session_shape, METH_NOARGS,
     "(classes, out_h, out_w, geometry tuple)"},
    {"arena_bytes", (PyCFunction)Session_arena_bytes, METH_NOARGS,
     "bytes of the session's arena"},
    {NULL, NULL, 0, NULL}};

OBJECT_TYPE(Session, "an fcn_session: one input size (made by "
            "_fcn.session)", Session_methods, NULL);

/* session(model, height, width, threads, mem_limit, tile) */
static PyObject *mod_session(PyObject *mod, PyObject *args)
{
    ModelObject *mo;
    int h, w;
    fcn_session_options o = {0};
    Py_ssize_t mem;
    (void)mod;
    if (!PyArg_ParseTuple(args, "O&iiini", ext_model_arg, &mo, &h, &w,
                          &o.threads, &mem, &o.tile))
        return NULL;
    if (mem < 0) {
        PyErr_SetString(PyExc_ValueError, "mem_limit must be >= 0");
        return NULL;
    }
    o.mem_limit = (size_t)mem;
    fcn_session *s = NULL;
    fcn_status st;
    Py_BEGIN_ALLOW_THREADS
    st = fcn_session_create(mo->m, h, w, &o, &s);
    Py_END_ALLOW_THREADS
    if (st != FCN_OK)
        return ext_raise(st);
    SessionObject *self = PyObject_New(SessionObject, &ext_SessionType);
    if (!self) {
        fcn_session_free(s);
        return NULL;
    }
    Py_INCREF(mo);
    self->model = mo;
    self->s = s;
    self->h = h;
    self->w = w;
    self->busy = 0;
    fcn_session_shape(s, &self->shape);
    return (PyObject *)self;
}

/* ---- module ---- */

static PyObject *mod_version(PyObject *mod, PyObject *unused)
{
    (void)mod;
    (void)unused;
    return PyUnicode_FromString(fcn_version());
}

static PyObject *mod_default_threads(PyObject *mod, PyObject *unused)
{
    (void)mod;
    (void)unused;
    return PyLong_FromLong(fcn_default_threads());
}

static PyMethodDef mod_methods[] = {
    {"load", mod_load, METH_VARARGS,
     "load(source, from_memory, gap, winograd, gemm, max_pixels) -> Model"},
    {"decode", mod_decode, METH_VARARGS,
     "decode(model, path, out_h, out_w) -> Image"},
    {"image", mod_image, METH_O, "image(uint8 array (H, W, C)) -> Image"},
    {"session", mod_session, METH_VARARGS,
     "session(model, h, w, threads, mem_limit, tile) -> Session"},
    {"detector", ext_detector, METH_VARARGS,
     "detector(model, scales, threshold, iou, max_detections, classes, "
     "heat_class, threads, mem_limit) -> Detector"},
    {"map_size", ext_map_size, METH_VARARGS,
     "map_size(model, height, width) -> (rows, cols)"},
    {"run_region", ext_run_region, METH_VARARGS,
     "run_region(model, path, cells, threads, mem_limit, level) -> "
     "(scores, geometry tuple)"},
    {"image_size", ext_image_size, METH_VARARGS,
     "image_size(model, path, level) -> (height, width)"},
    {"input_window", ext_input_window, METH_VARARGS,
     "input_window(model, height, width, cells, mem_limit) -> (y, x, h, w)"},
    {"gemm_info", ext_gemm_info, METH_VARARGS, "fcn_gemm_info(gemm)"},
    {"version", mod_version, METH_NOARGS, "fcn_version()"},
    {"pyramid_scales", ext_pyramid_scales, METH_VARARGS,
     "fcn_pyramid_scales(min_scale, max_scale, step) as a tuple"},
    {"default_threads", mod_default_threads, METH_NOARGS,
     "fcn_default_threads()"},
    {"detect_defaults", ext_detect_defaults, METH_NOARGS,
     "(scales, threshold, iou) of fcn_detect_defaults"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef moddef = {
    PyModuleDef_HEAD_INIT, "_fcn", "fcn's C API (use the package fcn)", -1,
    mod_methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__fcn(void)
{
    import_array();
    PyObject *errmod = PyImport_ImportModule("fcn.errors");
    if (!errmod)
        return NULL;
    PyObject *by_status = PyObject_GetAttrString(errmod, "BY_STATUS");
    Py_DECREF(errmod);
    if (!by_status)
        return NULL;
    int ok = PyTuple_Check(by_status) &&
             PyTuple_GET_SIZE(by_status) == EXT_N_STATUS;
    for (int k = 0; ok && k < EXT_N_STATUS; k++) {
        ext_errors[k] = PyTuple_GET_ITEM(by_status, k);
        Py_INCREF(ext_errors[k]);
    }
    Py_DECREF(by_status);
    if (!ok) {
        PyErr_SetString(PyExc_ImportError, "fcn.errors.BY_STATUS: a tuple "
                        "of one class per fcn_status");
        return NULL;
    }
    PyTypeObject *types[] = {&ext_ModelType, &ext_ImageType, &ext_SessionType,
                             &ext_DetectorType};
    for (size_t k = 0; k < sizeof types / sizeof *types; k++)
        if (PyType_Ready(types[k]) < 0)
            return NULL;
    return PyModule_Create(&moddef);
}
