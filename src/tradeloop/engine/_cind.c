/* The simple moving average of tradeloop.engine.indicators in C.
 *
 * Why: a backtest updates two SMAs per strategy per bar; the Python method was the largest
 * single cost of a multi-instrument run after the bus (about 12 % of it). This type does the
 * same floating-point operations in the same order as ``indicators.PySMA`` (running sum
 * ``(sum + x) - oldest``, and on every wrap of the ring the exact sum from ``math.fsum`` over
 * the same values), so every output is bit-for-bit the pure-Python one; the differential test
 * in tests/engine/test_indicators.py holds the two together.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

static PyObject *fsum_fn; /* math.fsum */

typedef struct {
    PyObject_HEAD
    Py_ssize_t n;
    Py_ssize_t i;
    double sum;
    double value;
    int warm;
    double *ring;
} SMAObject;

static void SMA_dealloc(SMAObject *self) {
    PyMem_Free(self->ring);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int SMA_init(SMAObject *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"n", NULL};
    Py_ssize_t n;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "n", kwlist, &n)) return -1;
    if (n < 1) {
        PyErr_SetString(PyExc_ValueError, "SMA period must be >= 1");
        return -1;
    }
    double *ring = PyMem_Calloc((size_t)n, sizeof(double));
    if (ring == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    PyMem_Free(self->ring);
    self->ring = ring;
    self->n = n;
    self->i = 0;
    self->sum = 0.0;
    self->value = 0.0;
    self->warm = 0;
    return 0;
}

/* math.fsum over the ring: the exact, correctly rounded sum (what the Python class uses). */
static int ring_fsum(SMAObject *self, double *out) {
    PyObject *lst = PyList_New(self->n);
    if (lst == NULL) return -1;
    for (Py_ssize_t k = 0; k < self->n; k++) {
        PyObject *f = PyFloat_FromDouble(self->ring[k]);
        if (f == NULL) {
            Py_DECREF(lst);
            return -1;
        }
        PyList_SET_ITEM(lst, k, f);
    }
    PyObject *r = PyObject_CallOneArg(fsum_fn, lst);
    Py_DECREF(lst);
    if (r == NULL) return -1;
    *out = PyFloat_AsDouble(r);
    Py_DECREF(r);
    return (*out == -1.0 && PyErr_Occurred()) ? -1 : 0;
}

static PyObject *SMA_update(SMAObject *self, PyObject *arg) {
    double x;
    if (PyFloat_CheckExact(arg)) {
        x = PyFloat_AS_DOUBLE(arg);
    } else if (PyFloat_Check(arg) || PyLong_Check(arg)) {
        x = PyFloat_AsDouble(arg); /* an int converts as float + int would convert it */
        if (x == -1.0 && PyErr_Occurred()) return NULL;
    } else {
        PyErr_Format(PyExc_TypeError, "SMA.update() needs a float, not %.100s",
                     Py_TYPE(arg)->tp_name);
        return NULL;
    }
    if (self->ring == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "SMA not initialised");
        return NULL;
    }
    Py_ssize_t i = self->i;
    double s = self->sum + x;
    s = s - self->ring[i];
    self->ring[i] = x;
    i += 1;
    if (i == self->n) {
        i = 0;
        if (ring_fsum(self, &s) < 0) return NULL;
        self->value = s / (double)self->n;
        self->warm = 1;
    } else if (self->warm) {
        self->value = s / (double)self->n;
    }
    self->i = i;
    self->sum = s;
    if (!self->warm) Py_RETURN_NONE;
    return PyFloat_FromDouble(self->value);
}

static PyObject *SMA_get_value(SMAObject *self, void *closure) {
    (void)closure;
    if (!self->warm) Py_RETURN_NONE;
    return PyFloat_FromDouble(self->value);
}

static PyMethodDef SMA_methods[] = {
    {"update", (PyCFunction)SMA_update, METH_O,
     "update(x) -> the average of the last n values, or None until n were seen"},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef SMA_members[] = {
    {"n", T_PYSSIZET, offsetof(SMAObject, n), READONLY, "the period"},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef SMA_getset[] = {
    {"value", (getter)SMA_get_value, NULL, "the current average, None until warm", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject SMAType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "tradeloop.engine._cind.SMA",
    .tp_doc = "Simple moving average over the last n values (C; same results as PySMA).",
    .tp_basicsize = sizeof(SMAObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)SMA_init,
    .tp_dealloc = (destructor)SMA_dealloc,
    .tp_methods = SMA_methods,
    .tp_members = SMA_members,
    .tp_getset = SMA_getset,
};

static struct PyModuleDef cind_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "tradeloop.engine._cind",
    .m_doc = "Compiled indicators (optional; indicators.py falls back to Python).",
    .m_size = -1,
};

PyMODINIT_FUNC PyInit__cind(void) {
    PyObject *math = PyImport_ImportModule("math");
    if (math == NULL) return NULL;
    fsum_fn = PyObject_GetAttrString(math, "fsum");
    Py_DECREF(math);
    if (fsum_fn == NULL) return NULL;
    if (PyType_Ready(&SMAType) < 0) return NULL;
    PyObject *m = PyModule_Create(&cind_module);
    if (m == NULL) return NULL;
    Py_INCREF(&SMAType);
    if (PyModule_AddObject(m, "SMA", (PyObject *)&SMAType) < 0) {
        Py_DECREF(&SMAType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
