/*
** _fcn.h: what the files of the extension fcn._fcn share (python/fcn/).
** Names shared between its files start with ext_.
*/
#ifndef FCN_PY_EXT_H
#define FCN_PY_EXT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#define PY_ARRAY_UNIQUE_SYMBOL ext_numpy_api   /* one NumPy API table */
#include <numpy/arrayobject.h>

#include "fcn.h"
#include "fcn_detect.h"

typedef struct {
    PyObject_HEAD
    fcn_model *m;
    fcn_model_info info;
} ModelObject;

/* 8-bit pixels: fcn's (decoded) or a uint8 NumPy array's (in place) */
typedef struct {
    PyObject_HEAD
    fcn_image img;
    PyObject *base; /* the array whose buffer img.pixels is, or NULL: fcn's */
} ImageObject;

/* The type object of NameObject: fcn._fcn.Name, freed by Name_dealloc. */
#define OBJECT_TYPE(Name, doc, methods, getset)                            \
    PyTypeObject ext_##Name##Type = {                                      \
        PyVarObject_HEAD_INIT(NULL, 0)                                     \
        .tp_name = "fcn._fcn." #Name,                                      \
        .tp_basicsize = sizeof(Name##Object),                              \
        .tp_dealloc = (destructor)Name##_dealloc,                          \
        .tp_flags = Py_TPFLAGS_DEFAULT,                                    \
        .tp_doc = doc,                                                     \
        .tp_methods = methods,                                             \
        .tp_getset = getset,                                               \
    }
extern PyTypeObject ext_ModelType, ext_ImageType, ext_SessionType,
    ext_DetectorType;

/* fcn.errors.BY_STATUS: the exception class of each fcn_status (0:
** FcnError) */
#define EXT_N_STATUS (FCN_ERR_ARG + 1)
extern PyObject *ext_errors[EXT_N_STATUS];
/* Raise st's class with fcn_last_error(); NULL. */
PyObject *ext_raise(fcn_status st);
/* Raise fcn.ShapeError with a formatted message; NULL. */
PyObject *ext_shape_error(const char *fmt, ...);
/* (stride_h, stride_w, offset_h, offset_w, rf_h, rf_w) */
PyObject *ext_geometry(const fcn_geometry *g);
/* A tuple of n floats from f32 or, f32 NULL, from f64. */
PyObject *ext_floats(const float *f32, const double *f64, int n);
/* Mark an object running (RuntimeError, 0 if it already is); the caller
** clears *busy after, both with the GIL held. */
int ext_claim(int *busy, const char *what);
/* PyArg "O&" converters to ModelObject * and ImageObject * */
int ext_model_arg(PyObject *o, void *out);
int ext_image_arg(PyObject *o, void *out);

/* the module's detection functions (_fcn_detect.c) */
PyObject *ext_detector(PyObject *mod, PyObject *args);
PyObject *ext_pyramid_scales(PyObject *mod, PyObject *args);
PyObject *ext_detect_defaults(PyObject *mod, PyObject *unused);

/* the module's streamed maps (_fcn_stream.c) */
PyObject *ext_map_size(PyObject *mod, PyObject *args);
PyObject *ext_run_region(PyObject *mod, PyObject *args);
PyObject *ext_image_size(PyObject *mod, PyObject *args);
PyObject *ext_input_window(PyObject *mod, PyObject *args);
PyObject *ext_gemm_info(PyObject *mod, PyObject *args);

#endif
