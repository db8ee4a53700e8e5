/*
** _fcn_detect.c: fcn._fcn's detector (fcn_detector_*, include/fcn_detect.h)
** and the pyramid helpers.
*/
#define NO_IMPORT_ARRAY
#include <string.h>

#include "_fcn.h"

/* ---- Detector ---- */

typedef struct {
    PyObject_HEAD
    ModelObject *model;
    fcn_detector *d;
    int busy;
} DetectorObject;

static void Detector_dealloc(DetectorObject *self)
{
    fcn_detector_free(self->d);
    Py_XDECREF(self->model);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *level_dict(const fcn_detect_level *r)
{
    const fcn_level *l = &r->lv;
    if (r->skipped)
        return Py_BuildValue("{s:d,s:d,s:d,s:i,s:i,s:s}", "scale", l->scale,
                             "scale_x", l->scale_x, "scale_y", l->scale_y,
                             "width", l->width, "height", l->height,
                             "skipped", r->skipped);
    return Py_BuildValue(
        "{s:d,s:d,s:d,s:i,s:i,s:O,s:N,s:(ii),s:{s:L,s:i,s:i,s:i,s:i},"
        "s:i,s:n,s:d}", "scale", l->scale, "scale_x", l->scale_x,
        "scale_y", l->scale_y, "width", l->width, "height", l->height,
        "skipped", Py_None, "geometry", ext_geometry(&r->geom),
        "score_map", r->out_h, r->out_w, "padded_cells",
        "count", r->pad.cells, "rows_top", r->pad.top,
        "rows_bottom", r->pad.bottom, "cols_left", r->pad.left,
        "cols_right", r->pad.right, "tiles", r->tiles,
        "candidates", (Py_ssize_t)r->candidates, "seconds", r->seconds);
}

/* The detector's result as Python objects: (detections, levels, heat). */
static PyObject *detect_result(const fcn_detect_result *r,
                               const fcn_image *img)
{
    PyObject *dl = PyList_New((Py_ssize_t)r->n);
    PyObject *ll = dl ? PyList_New(r->n_levels) : NULL;
    PyObject *heat = NULL;
    if (!ll)
        goto fail;
    for (size_t k = 0; k < r->n; k++) {
        const fcn_detection *d = &r->d[k];
        PyObject *t = Py_BuildValue("(id(dddd)di(ii)O)", d->cls,
                                    (double)d->score, d->box.x, d->box.y,
                                    d->box.w, d->box.h, d->scale, d->level,
                                    d->cell_i, d->cell_j,
                                    d->padded ? Py_True : Py_False);
        if (!t)
            goto fail;
        PyList_SET_ITEM(dl, (Py_ssize_t)k, t);
    }
    for (int k = 0; k < r->n_levels; k++) {
        PyObject *t = level_dict(&r->levels[k]);
        if (!t)
            goto fail;
        PyList_SET_ITEM(ll, k, t);
    }
    if (r->heat) {
        npy_intp dims[2] = {img->h, img->w};
        if (!(heat = PyArray_SimpleNew(2, dims, NPY_FLOAT32)))
            goto fail;
        memcpy(PyArray_DATA((PyArrayObject *)heat), r->heat,
               (size_t)img->h * (size_t)img->w * sizeof(float));
    } else {
        heat = Py_None;
        Py_INCREF(heat);
    }
    return Py_BuildValue("(NNN)", dl, ll, heat);
fail:
    Py_XDECREF(dl);
    Py_XDECREF(ll);
    return NULL;
}

static PyObject *Detector_run(DetectorObject *self, PyObject *arg)
{
    ImageObject *im;
    if (!ext_image_arg(arg, &im))
        return NULL;
    if (im->img.c != self->model->info.in_c)
        return ext_shape_error("image of %d channels: the model takes %d",
                           im->img.c, self->model->info.in_c);
    if (!ext_claim(&self->busy, "detector"))
        return NULL;
    fcn_detect_result r;
    fcn_status st;
    Py_BEGIN_ALLOW_THREADS
    st = fcn_detector_run(self->d, &im->img, &r);
    Py_END_ALLOW_THREADS
    PyObject *res = st == FCN_OK ? detect_result(&r, &im->img)
                                 : ext_raise(st);
    self->busy = 0;
    return res;
}

static PyMethodDef Detector_methods[] = {
    {"run", (PyCFunction)Detector_run, METH_O,
     "run(Image) -> (detections, levels, heat or None)"},
    {NULL, NULL, 0, NULL}};

OBJECT_TYPE(Detector, "an fcn_detector (made by _fcn.detector)",
            Detector_methods, NULL);

/* detector(model, scales, threshold, iou, max_detections, classes,
**          heat_class, threads, mem_limit): scales a sequence of floats;
** classes None or bytes (one per class); heat_class < 0: no heat map. */
PyObject *ext_detector(PyObject *mod, PyObject *args)
{
    ModelObject *mo;
    PyObject *scales, *classes;
    fcn_detect_options o;
    fcn_detect_defaults(&o);
    double thr;
    Py_ssize_t maxdet, mem;
    (void)mod;
    if (!PyArg_ParseTuple(args, "O&OddnOiin", ext_model_arg, &mo, &scales,
                          &thr, &o.iou, &maxdet, &classes, &o.heat_class,
                          &o.threads, &mem))
        return NULL;
    if (maxdet < 0 || mem < 0) {
        PyErr_SetString(PyExc_ValueError,
                        "max_detections and mem_limit must be >= 0");
        return NULL;
    }
    o.threshold = (float)thr;
    o.max_detections = (size_t)maxdet;
    o.mem_limit = (size_t)mem;
    o.heatmap = o.heat_class >= 0;
    if (!o.heatmap)
        o.heat_class = 0;
    PyObject *seq = PySequence_Fast(scales, "scales must be a sequence");
    if (!seq)
        return NULL;
    double sc[64];
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    for (Py_ssize_t k = 0; k < n && k < 64; k++)
        sc[k] = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(seq, k));
    Py_DECREF(seq);
    if (PyErr_Occurred())
        return NULL;
    if (n > 64)  /* the library's own message for 0 */
        return PyErr_Format(ext_errors[FCN_ERR_ARG], "detector: %zd scales "
                            "(1 to 64)", n);
    o.scales = sc;
    o.n_scales = (int)n;
    if (classes != Py_None) {
        if (!PyBytes_Check(classes) ||
            PyBytes_GET_SIZE(classes) != mo->info.classes) {
            PyErr_SetString(PyExc_ValueError, "classes: bytes, one per class");
            return NULL;
        }
        o.classes = (const unsigned char *)PyBytes_AS_STRING(classes);
    }
    fcn_detector *d = NULL;
    fcn_status st = fcn_detector_create(mo->m, &o, &d); /* copies o */
    if (st != FCN_OK)
        return ext_raise(st);
    DetectorObject *self = PyObject_New(DetectorObject, &ext_DetectorType);
    if (!self) {
        fcn_detector_free(d);
        return NULL;
    }
    Py_INCREF(mo);
    self->model = mo;
    self->d = d;
    self->busy = 0;
    return (PyObject *)self;
}

PyObject *ext_pyramid_scales(PyObject *mod, PyObject *args)
{
    double lo, hi, step, out[64];
    (void)mod;
    if (!PyArg_ParseTuple(args, "ddd", &lo, &hi, &step))
        return NULL;
    int n = fcn_pyramid_scales(lo, hi, step, out, 64);
    if (n < 0 || n > 64) {
        PyErr_Format(ext_errors[FCN_ERR_ARG], n < 0 ? "pyramid: need 0 < "
                     "min_scale <= max_scale and 0 < step < 1" : "pyramid: "
                     "%d levels, more than 64", n);
        return NULL;
    }
    return ext_floats(NULL, out, n);
}

PyObject *ext_detect_defaults(PyObject *mod, PyObject *unused)
{
    fcn_detect_options o;
    (void)mod;
    (void)unused;
    fcn_detect_defaults(&o);
    return Py_BuildValue("(Ndd)", ext_floats(NULL, o.scales, o.n_scales),
                         (double)o.threshold, o.iou);
}

