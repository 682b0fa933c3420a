/* The delta step of tradeloop.sim.liquidity.ExternalBook in C.
 *
 * Why: a tick replay applies every recorded book message to the simulator's external book,
 * and the Python loop over its levels (dict update plus a sorted price list kept by bisect)
 * was the largest engine-side cost of bench/record_replay.py. This does the same operations on
 * the same Python dict and list, in the same order (``_apply_levels_py`` in liquidity.py is
 * the reference; tests/sim/test_sim_external_book.py holds the two together): a size > 0 sets
 * the level (inserting its price in order when new), any other size removes it.
 *
 * Exact floats take a fast path (comparisons of their doubles are what float's own comparison
 * does); anything else goes through Python's rich comparison, as the Python loop would.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* -1 error, 0 false, 1 true: a < b as Python's ``a < b``. */
static int less(PyObject *a, PyObject *b) {
    if (PyFloat_CheckExact(a) && PyFloat_CheckExact(b))
        return PyFloat_AS_DOUBLE(a) < PyFloat_AS_DOUBLE(b);
    return PyObject_RichCompareBool(a, b, Py_LT);
}

/* Python's ``a == b`` (no identity shortcut: a NaN is not equal to itself). */
static int equal(PyObject *a, PyObject *b) {
    if (PyFloat_CheckExact(a) && PyFloat_CheckExact(b))
        return PyFloat_AS_DOUBLE(a) == PyFloat_AS_DOUBLE(b);
    PyObject *r = PyObject_RichCompare(a, b, Py_EQ);
    if (r == NULL) return -1;
    int t = PyObject_IsTrue(r);
    Py_DECREF(r);
    return t;
}

/* bisect.bisect_right / bisect_left over a list. */
static Py_ssize_t bisect(PyObject *list, PyObject *x, int right) {
    Py_ssize_t lo = 0, hi = PyList_GET_SIZE(list);
    while (lo < hi) {
        Py_ssize_t mid = (lo + hi) / 2;
        PyObject *item = PyList_GET_ITEM(list, mid);
        Py_INCREF(item);
        int c = right ? less(x, item) : less(item, x);
        Py_DECREF(item);
        if (c < 0) return -1;
        if (right ? c : !c) hi = mid; else lo = mid + 1;
        if (hi > PyList_GET_SIZE(list)) hi = PyList_GET_SIZE(list); /* a comparison shrank it */
    }
    return lo;
}

/* size > 0, as Python's ``s > 0`` */
static int positive(PyObject *s) {
    if (PyFloat_CheckExact(s)) return PyFloat_AS_DOUBLE(s) > 0.0;
    PyObject *zero = PyLong_FromLong(0);
    if (zero == NULL) return -1;
    int r = PyObject_RichCompareBool(s, zero, Py_GT);
    Py_DECREF(zero);
    return r;
}

static int set_level(PyObject *side, PyObject *prices, PyObject *p, PyObject *s) {
    int pos = positive(s);
    if (pos < 0) return -1;
    if (pos) {
        int has = PyDict_Contains(side, p);
        if (has < 0) return -1;
        if (!has) {
            Py_ssize_t i = bisect(prices, p, 1);
            if (i < 0 || PyList_Insert(prices, i, p) < 0) return -1;
        }
        return PyDict_SetItem(side, p, s);
    }
    PyObject *old = PyDict_GetItemWithError(side, p);
    if (old == NULL) return PyErr_Occurred() ? -1 : 0;
    Py_INCREF(old);
    int gone = PyDict_DelItem(side, p);
    int was_none = old == Py_None;
    Py_DECREF(old);
    if (gone < 0) return -1;
    if (was_none) return 0; /* ``side.pop(p, None) is not None`` was false */
    Py_ssize_t i = bisect(prices, p, 0);
    if (i < 0) return -1;
    if (i < PyList_GET_SIZE(prices)) {
        PyObject *at = PyList_GET_ITEM(prices, i);
        Py_INCREF(at);
        int eq = equal(at, p);
        Py_DECREF(at);
        if (eq < 0) return -1;
        if (eq) return PyList_SetSlice(prices, i, i + 1, NULL);
    }
    return 0;
}

/* apply_levels(side, prices, taken, levels) -> bool: False (nothing changed) when the
 * arguments are not a plain dict, list, dict and a list/tuple of 2-tuples; the caller then
 * runs the Python loop. */
static PyObject *apply_levels(PyObject *mod, PyObject *const *args, Py_ssize_t nargs) {
    (void)mod;
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "apply_levels(side, prices, taken, levels)");
        return NULL;
    }
    PyObject *side = args[0], *prices = args[1], *taken = args[2], *levels = args[3];
    if (!PyDict_CheckExact(side) || !PyList_CheckExact(prices) || !PyDict_CheckExact(taken) ||
        !(PyList_CheckExact(levels) || PyTuple_CheckExact(levels)))
        Py_RETURN_FALSE;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(levels);
    PyObject **items = PySequence_Fast_ITEMS(levels);
    for (Py_ssize_t k = 0; k < n; k++)
        if (!PyTuple_CheckExact(items[k]) || PyTuple_GET_SIZE(items[k]) != 2) Py_RETURN_FALSE;
    Py_INCREF(levels); /* items stay valid while we call back into Python */
    int ok = 0;
    if (PyDict_GET_SIZE(taken)) {
        for (Py_ssize_t k = 0; k < PySequence_Fast_GET_SIZE(levels); k++) {
            PyObject *p = PyTuple_GET_ITEM(PySequence_Fast_ITEMS(levels)[k], 0);
            int has = PyDict_Contains(taken, p);
            if (has < 0 || (has && PyDict_DelItem(taken, p) < 0)) goto done;
        }
    }
    for (Py_ssize_t k = 0; k < PySequence_Fast_GET_SIZE(levels); k++) {
        PyObject *lv = PySequence_Fast_ITEMS(levels)[k];
        if (set_level(side, prices, PyTuple_GET_ITEM(lv, 0), PyTuple_GET_ITEM(lv, 1)) < 0)
            goto done;
    }
    ok = 1;
done:
    Py_DECREF(levels);
    if (!ok) return NULL;
    Py_RETURN_TRUE;
}

static PyMethodDef methods[] = {
    {"apply_levels", (PyCFunction)(void (*)(void))apply_levels, METH_FASTCALL,
     "apply_levels(side, prices, taken, levels) -> bool (False: not handled, use Python)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "tradeloop.sim._clevels",
    .m_doc = "Compiled delta step of the simulator's external book (optional).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__clevels(void) { return PyModule_Create(&module); }
