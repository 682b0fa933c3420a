/*
 * tradeloop.book._cbook: one side of an L2 order book, in C.
 *
 * Why: a venue book stream applies ~25 level changes per message and checks a CRC32 of the
 * top 25 levels after every message. In Python that costs ~250 ns per level (bisect, list
 * insert, string building) plus a join for the checksum; here it is a few tens of ns, and
 * the price/size text is parsed once (instead of the JSON being decoded twice, once as text
 * for the checksum and once as floats for ordering).
 *
 * Behaviour is defined by the pure-Python reference `tradeloop.book.orderbook.PySide`; the
 * tests run both on the same inputs (including hypothesis-generated ones) and compare every
 * output. Keep them in step.
 *
 * Layout: parallel arrays sorted by `key` ascending, where key = price for bids and
 * key = -price for asks, so the best level of either side is the LAST element. Book updates
 * cluster near the top, and inserting/deleting near the end of an array moves few elements.
 * Each level keeps strong references to the price and size strings exactly as received
 * (checksums are computed over the wire text, "0.10" and "0.1" differ).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    PyObject_HEAD
    int is_bid;
    Py_ssize_t n;
    Py_ssize_t cap;
    double *key;    /* ascending; best level last */
    double *sz;     /* parsed sizes */
    PyObject **pxt; /* price text as received (strong refs) */
    PyObject **szt; /* size text as received (strong refs) */
} BookSide;

static PyObject *str_px; /* interned "px" */
static PyObject *str_sz; /* interned "sz" */

/* ---- CRC32 (IEEE 802.3, the zlib polynomial), slicing by 8 ----------------------------- */

static uint32_t crc_table[8][256];

static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = crc_table[0][i];
        for (int t = 1; t < 8; t++) {
            c = crc_table[0][c & 0xFF] ^ (c >> 8);
            crc_table[t][i] = c;
        }
    }
}

/* `crc` is the running value with the pre/post inversion already applied by the caller. */
static uint32_t crc_update(uint32_t crc, const unsigned char *p, Py_ssize_t len) {
    while (len >= 8) {
        uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                             (uint32_t)p[3] << 24);
        uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
                      (uint32_t)p[7] << 24;
        crc = crc_table[7][lo & 0xFF] ^ crc_table[6][(lo >> 8) & 0xFF] ^
              crc_table[5][(lo >> 16) & 0xFF] ^ crc_table[4][lo >> 24] ^
              crc_table[3][hi & 0xFF] ^ crc_table[2][(hi >> 8) & 0xFF] ^
              crc_table[1][(hi >> 16) & 0xFF] ^ crc_table[0][hi >> 24];
        p += 8;
        len -= 8;
    }
    while (len-- > 0) crc = crc_table[0][(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return crc;
}

/* ---- level input ----------------------------------------------------------------------- */

/* A level is either a sequence [px, sz, ...] or an object with `px`/`sz` attributes (the
 * msgspec array-like struct the OKX decoder produces). For the latter, the slot offsets of the
 * last type seen are cached so reading a field is a pointer load, not an attribute lookup. */
static PyTypeObject *cached_type = NULL;
static Py_ssize_t off_px = -1, off_sz = -1;

static Py_ssize_t member_offset(PyTypeObject *tp, PyObject *name) {
    PyObject *d = PyObject_GetAttr((PyObject *)tp, name);
    Py_ssize_t off = -1;
    if (d == NULL) {
        PyErr_Clear();
        return -1;
    }
    if (Py_IS_TYPE(d, &PyMemberDescr_Type)) {
        PyMemberDef *m = ((PyMemberDescrObject *)d)->d_member;
        if (m->type == T_OBJECT_EX || m->type == T_OBJECT) off = m->offset;
    }
    Py_DECREF(d);
    return off;
}

/* New references to the level's price and size text in *px / *sz. */
static int level_texts(PyObject *lv, PyObject **px, PyObject **sz) {
    if (PyList_CheckExact(lv) || PyTuple_CheckExact(lv)) {
        Py_ssize_t n = PySequence_Fast_GET_SIZE(lv);
        if (n < 2) {
            PyErr_Format(PyExc_ValueError, "book level needs [price, size], got %R", lv);
            return -1;
        }
        PyObject **items = PySequence_Fast_ITEMS(lv);
        *px = Py_NewRef(items[0]);
        *sz = Py_NewRef(items[1]);
        return 0;
    }
    PyTypeObject *tp = Py_TYPE(lv);
    if (tp != cached_type) {
        Py_ssize_t a = member_offset(tp, str_px), b = member_offset(tp, str_sz);
        if (a >= 0 && b >= 0) {
            Py_XSETREF(cached_type, (PyTypeObject *)Py_NewRef(tp));
            off_px = a;
            off_sz = b;
        }
    }
    if (tp == cached_type) {
        PyObject *a = *(PyObject **)((char *)lv + off_px);
        PyObject *b = *(PyObject **)((char *)lv + off_sz);
        if (a != NULL && b != NULL) {
            *px = Py_NewRef(a);
            *sz = Py_NewRef(b);
            return 0;
        }
    }
    *px = PyObject_GetAttr(lv, str_px);
    if (*px == NULL) goto bad;
    *sz = PyObject_GetAttr(lv, str_sz);
    if (*sz == NULL) {
        Py_CLEAR(*px);
        goto bad;
    }
    return 0;
bad:
    PyErr_Clear();
    PyErr_Format(PyExc_TypeError, "book level must be [price, size, ...] or have .px/.sz, got %R",
                 lv);
    return -1;
}

/* Exact powers of ten as doubles (10^22 is the largest that is exact). */
static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Plain decimals ("-123.4500"): when the digits fit in 2^53 and there are at most 22 decimals,
 * both digits/10^k operands are exact doubles and one IEEE division is correctly rounded, so
 * the result is bit-for-bit what float() gives (Clinger's fast path). Returns 0 when the text
 * is outside that case; the caller then uses CPython's own correctly rounded parser. */
static int parse_plain_decimal(const char *c, Py_ssize_t len, double *out) {
    const char *p = c, *end = c + len;
    int neg = 0;
    if (p < end && *p == '-') {
        neg = 1;
        p++;
    }
    uint64_t mant = 0;
    int digits = 0, frac = -1, any = 0;
    for (; p < end; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (d <= 9) {
            any = 1;
            if (mant || d) digits++;
            if (digits > 15) return 0; /* may exceed 2^53 */
            mant = mant * 10 + d;
            if (frac >= 0) frac++;
        } else if (*p == '.' && frac < 0) {
            frac = 0;
        } else {
            return 0; /* exponent, sign, space, ...: not a plain decimal */
        }
    }
    if (!any || frac > 22) return 0;
    double v = (double)mant;
    if (frac > 0) v /= pow10_exact[frac];
    *out = neg ? -v : v;
    return 1;
}

/* Parse a decimal string exactly as float() does (correctly rounded); finite only. */
static int parse_number(PyObject *s, const char *what, double *out) {
    if (!PyUnicode_Check(s)) {
        PyErr_Format(PyExc_TypeError, "book level %s must be a str, got %R", what, s);
        return -1;
    }
    Py_ssize_t len;
    const char *c = PyUnicode_AsUTF8AndSize(s, &len);
    if (c == NULL) return -1;
    if (parse_plain_decimal(c, len, out)) return 0;
    char *end = NULL;
    double v = PyOS_string_to_double(c, &end, NULL);
    if (v == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        end = (char *)c;
    }
    if (end == c || end != c + len || !isfinite(v)) {
        PyErr_Format(PyExc_ValueError, "book level %s is not a finite number: %R", what, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* ---- side storage ---------------------------------------------------------------------- */

static int side_reserve(BookSide *self, Py_ssize_t need) {
    if (need <= self->cap) return 0;
    Py_ssize_t cap = self->cap ? self->cap : 64;
    while (cap < need) cap *= 2;
    double *k = PyMem_Realloc(self->key, (size_t)cap * sizeof(double));
    if (k == NULL) goto fail;
    self->key = k;
    double *z = PyMem_Realloc(self->sz, (size_t)cap * sizeof(double));
    if (z == NULL) goto fail;
    self->sz = z;
    PyObject **p = PyMem_Realloc(self->pxt, (size_t)cap * sizeof(PyObject *));
    if (p == NULL) goto fail;
    self->pxt = p;
    PyObject **s = PyMem_Realloc(self->szt, (size_t)cap * sizeof(PyObject *));
    if (s == NULL) goto fail;
    self->szt = s;
    self->cap = cap;
    return 0;
fail:
    PyErr_NoMemory();
    return -1;
}

static void side_clear(BookSide *self) {
    for (Py_ssize_t i = 0; i < self->n; i++) {
        Py_DECREF(self->pxt[i]);
        Py_DECREF(self->szt[i]);
    }
    self->n = 0;
}

/* First index whose key is >= k. */
static Py_ssize_t lower_bound(const double *key, Py_ssize_t n, double k) {
    Py_ssize_t lo = 0, hi = n;
    while (lo < hi) {
        Py_ssize_t mid = (lo + hi) >> 1;
        if (key[mid] < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Set one level (size 0 deletes). Steals the references to pt and st. */
static int side_set(BookSide *self, double px, double sz, PyObject *pt, PyObject *st) {
    double k = self->is_bid ? px : -px;
    Py_ssize_t n = self->n;
    Py_ssize_t i;
    /* Fast check of the top level first: most updates touch the best few prices. */
    if (n > 0 && self->key[n - 1] < k)
        i = n;
    else
        i = lower_bound(self->key, n, k);
    int found = i < n && self->key[i] == k;
    if (sz != 0.0) {
        if (found) {
            Py_SETREF(self->pxt[i], pt);
            Py_SETREF(self->szt[i], st);
            self->sz[i] = sz;
            return 0;
        }
        if (side_reserve(self, n + 1) < 0) {
            Py_DECREF(pt);
            Py_DECREF(st);
            return -1;
        }
        Py_ssize_t tail = n - i;
        if (tail > 0) {
            memmove(self->key + i + 1, self->key + i, (size_t)tail * sizeof(double));
            memmove(self->sz + i + 1, self->sz + i, (size_t)tail * sizeof(double));
            memmove(self->pxt + i + 1, self->pxt + i, (size_t)tail * sizeof(PyObject *));
            memmove(self->szt + i + 1, self->szt + i, (size_t)tail * sizeof(PyObject *));
        }
        self->key[i] = k;
        self->sz[i] = sz;
        self->pxt[i] = pt;
        self->szt[i] = st;
        self->n = n + 1;
        return 0;
    }
    Py_DECREF(pt);
    Py_DECREF(st);
    if (found) {
        PyObject *op = self->pxt[i], *os = self->szt[i];
        Py_ssize_t tail = n - i - 1;
        if (tail > 0) {
            memmove(self->key + i, self->key + i + 1, (size_t)tail * sizeof(double));
            memmove(self->sz + i, self->sz + i + 1, (size_t)tail * sizeof(double));
            memmove(self->pxt + i, self->pxt + i + 1, (size_t)tail * sizeof(PyObject *));
            memmove(self->szt + i, self->szt + i + 1, (size_t)tail * sizeof(PyObject *));
        }
        self->n = n - 1;
        Py_DECREF(op);
        Py_DECREF(os);
    }
    return 0;
}

static PyObject *float_pair(double a, double b) {
    PyObject *t = PyTuple_New(2);
    if (t == NULL) return NULL;
    PyObject *fa = PyFloat_FromDouble(a);
    if (fa == NULL) goto fail;
    PyTuple_SET_ITEM(t, 0, fa);
    PyObject *fb = PyFloat_FromDouble(b);
    if (fb == NULL) goto fail;
    PyTuple_SET_ITEM(t, 1, fb);
    return t;
fail:
    Py_DECREF(t);
    return NULL;
}

typedef struct {
    double px, sz;
    PyObject *pt, *st; /* strong refs */
} Parsed;

/* A snapshot normally lists each side best first with distinct prices, i.e. keys strictly
 * descending: then the (empty) side is filled back to front in one pass instead of one
 * sorted insert per level. Returns 0, taking nothing, when the input is not in that order. */
static int load_sorted(BookSide *self, Parsed *lv, Py_ssize_t m) {
    Py_ssize_t keep = 0;
    double prev = INFINITY;
    for (Py_ssize_t j = 0; j < m; j++) {
        double k = self->is_bid ? lv[j].px : -lv[j].px;
        if (!(k < prev)) return 0;
        prev = k;
        keep += lv[j].sz != 0.0;
    }
    if (side_reserve(self, keep) < 0) {
        PyErr_Clear(); /* fall back to the general path, which reports it */
        return 0;
    }
    Py_ssize_t i = keep;
    for (Py_ssize_t j = 0; j < m; j++) {
        if (lv[j].sz == 0.0) {
            Py_DECREF(lv[j].pt);
            Py_DECREF(lv[j].st);
            continue;
        }
        i--;
        self->key[i] = self->is_bid ? lv[j].px : -lv[j].px;
        self->sz[i] = lv[j].sz;
        self->pxt[i] = lv[j].pt;
        self->szt[i] = lv[j].st;
    }
    self->n = keep;
    return 1;
}

/* Apply `levels` in order (after clearing the side when `replace`); returns the list of
 * (price, size) floats, one per input level. Every level is parsed and checked before the side
 * changes, so bad input raises and changes nothing. */
static PyObject *side_apply(BookSide *self, PyObject *levels, int replace) {
    Parsed local[64];
    Parsed *lv = local;
    Py_ssize_t got = 0;
    PyObject *out = NULL;
    PyObject *seq = PySequence_Fast(levels, "book levels must be a sequence");
    if (seq == NULL) return NULL;
    Py_ssize_t m = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    if (m > 64) {
        lv = PyMem_Malloc((size_t)m * sizeof(Parsed));
        if (lv == NULL) {
            PyErr_NoMemory();
            goto done;
        }
    }
    out = PyList_New(m);
    if (out == NULL) goto done;
    for (; got < m; got++) {
        Parsed *p = &lv[got];
        if (level_texts(items[got], &p->pt, &p->st) < 0) goto fail;
        if (parse_number(p->pt, "price", &p->px) < 0 || parse_number(p->st, "size", &p->sz) < 0)
            goto fail_current;
        if (p->sz < 0.0) {
            PyErr_Format(PyExc_ValueError, "book level size is negative: %R", p->st);
            goto fail_current;
        }
        PyObject *pair = float_pair(p->px, p->sz);
        if (pair == NULL) goto fail_current;
        PyList_SET_ITEM(out, got, pair);
    }
    if (replace) {
        side_clear(self);
        if (load_sorted(self, lv, m)) {
            got = 0;
            goto done;
        }
    }
    /* Reserve first: with room for every insert, side_set cannot fail half-way. */
    if (side_reserve(self, self->n + m) < 0) goto fail;
    for (Py_ssize_t j = 0; j < m; j++) side_set(self, lv[j].px, lv[j].sz, lv[j].pt, lv[j].st);
    got = 0; /* references handed over to the side */
    goto done;
fail_current:
    Py_DECREF(lv[got].pt);
    Py_DECREF(lv[got].st);
fail:
    Py_CLEAR(out);
done:
    for (Py_ssize_t j = 0; j < got; j++) {
        Py_DECREF(lv[j].pt);
        Py_DECREF(lv[j].st);
    }
    if (lv != local) PyMem_Free(lv);
    Py_DECREF(seq);
    return out;
}

/* ---- Python type ----------------------------------------------------------------------- */

static int BookSide_init(BookSide *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"is_bid", NULL};
    int is_bid;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "p", kwlist, &is_bid)) return -1;
    side_clear(self);
    self->is_bid = is_bid;
    return 0;
}

static void BookSide_dealloc(BookSide *self) {
    side_clear(self);
    PyMem_Free(self->key);
    PyMem_Free(self->sz);
    PyMem_Free(self->pxt);
    PyMem_Free(self->szt);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *BookSide_update(BookSide *self, PyObject *levels) {
    return side_apply(self, levels, 0);
}

static PyObject *BookSide_load(BookSide *self, PyObject *levels) {
    return side_apply(self, levels, 1);
}

static PyObject *BookSide_clear(BookSide *self, PyObject *Py_UNUSED(ignored)) {
    side_clear(self);
    Py_RETURN_NONE;
}

static PyObject *BookSide_best(BookSide *self, PyObject *Py_UNUSED(ignored)) {
    Py_ssize_t n = self->n;
    if (n == 0) Py_RETURN_NONE;
    double k = self->key[n - 1];
    return float_pair(self->is_bid ? k : -k, self->sz[n - 1]);
}

static int arg_depth(PyObject *arg, Py_ssize_t *depth) {
    Py_ssize_t d = PyLong_AsSsize_t(arg);
    if (d == -1 && PyErr_Occurred()) return -1;
    *depth = d < 0 ? 0 : d;
    return 0;
}

static PyObject *BookSide_top(BookSide *self, PyObject *arg) {
    Py_ssize_t depth;
    if (arg_depth(arg, &depth) < 0) return NULL;
    Py_ssize_t m = depth < self->n ? depth : self->n;
    PyObject *out = PyList_New(m);
    if (out == NULL) return NULL;
    for (Py_ssize_t j = 0; j < m; j++) {
        Py_ssize_t i = self->n - 1 - j;
        double k = self->key[i];
        PyObject *pair = float_pair(self->is_bid ? k : -k, self->sz[i]);
        if (pair == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, j, pair);
    }
    return out;
}

static PyObject *BookSide_top_text(BookSide *self, PyObject *arg) {
    Py_ssize_t depth;
    if (arg_depth(arg, &depth) < 0) return NULL;
    Py_ssize_t m = depth < self->n ? depth : self->n;
    PyObject *out = PyList_New(m);
    if (out == NULL) return NULL;
    for (Py_ssize_t j = 0; j < m; j++) {
        Py_ssize_t i = self->n - 1 - j;
        PyObject *pair = PyTuple_Pack(2, self->pxt[i], self->szt[i]);
        if (pair == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, j, pair);
    }
    return out;
}

static PyObject *BookSide_size_at(BookSide *self, PyObject *arg) {
    double px = PyFloat_AsDouble(arg);
    if (px == -1.0 && PyErr_Occurred()) return NULL;
    double k = self->is_bid ? px : -px;
    Py_ssize_t i = lower_bound(self->key, self->n, k);
    return PyFloat_FromDouble(i < self->n && self->key[i] == k ? self->sz[i] : 0.0);
}

static Py_ssize_t BookSide_len(BookSide *self) { return self->n; }

static PyObject *BookSide_is_bid(BookSide *self, void *Py_UNUSED(closure)) {
    return PyBool_FromLong(self->is_bid);
}

/* ---- checksum -------------------------------------------------------------------------- */

static int crc_text(uint32_t *crc, PyObject *s) {
    Py_ssize_t len;
    const char *c = PyUnicode_AsUTF8AndSize(s, &len);
    if (c == NULL) return -1;
    *crc = crc_update(*crc, (const unsigned char *)c, len);
    return 0;
}

static int crc_level(uint32_t *crc, BookSide *side, Py_ssize_t j, int *first) {
    static const unsigned char colon = ':';
    Py_ssize_t i = side->n - 1 - j;
    if (!*first) *crc = crc_update(*crc, &colon, 1);
    *first = 0;
    if (crc_text(crc, side->pxt[i]) < 0) return -1;
    *crc = crc_update(*crc, &colon, 1);
    return crc_text(crc, side->szt[i]);
}

static PyTypeObject BookSideType;

static PyObject *okx_checksum(PyObject *Py_UNUSED(module), PyObject *const *args,
                              Py_ssize_t nargs) {
    if (nargs != 3 || !PyObject_TypeCheck(args[0], &BookSideType) ||
        !PyObject_TypeCheck(args[1], &BookSideType)) {
        PyErr_SetString(PyExc_TypeError, "okx_checksum(bids: BookSide, asks: BookSide, depth)");
        return NULL;
    }
    BookSide *bids = (BookSide *)args[0], *asks = (BookSide *)args[1];
    Py_ssize_t depth;
    if (arg_depth(args[2], &depth) < 0) return NULL;
    Py_ssize_t nb = bids->n < depth ? bids->n : depth;
    Py_ssize_t na = asks->n < depth ? asks->n : depth;
    Py_ssize_t m = nb > na ? nb : na;
    uint32_t crc = 0xFFFFFFFFu;
    int first = 1;
    for (Py_ssize_t j = 0; j < m; j++) {
        if (j < nb && crc_level(&crc, bids, j, &first) < 0) return NULL;
        if (j < na && crc_level(&crc, asks, j, &first) < 0) return NULL;
    }
    crc ^= 0xFFFFFFFFu;
    return PyLong_FromLong((long)(int32_t)crc);
}

static PyMethodDef BookSide_methods[] = {
    {"load", (PyCFunction)BookSide_load, METH_O,
     "Replace the side with `levels` (applied in order); returns them as (price, size) floats."},
    {"update", (PyCFunction)BookSide_update, METH_O,
     "Apply deltas in order (size 0 deletes); returns them as (price, size) floats."},
    {"clear", (PyCFunction)BookSide_clear, METH_NOARGS, "Remove every level."},
    {"best", (PyCFunction)BookSide_best, METH_NOARGS, "Best (price, size), or None."},
    {"top", (PyCFunction)BookSide_top, METH_O, "Best n levels, best first, as floats."},
    {"top_text", (PyCFunction)BookSide_top_text, METH_O,
     "Best n levels, best first, as the (price, size) strings received."},
    {"size_at", (PyCFunction)BookSide_size_at, METH_O, "Size at a price (0.0 when absent)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef BookSide_getset[] = {
    {"is_bid", (getter)BookSide_is_bid, NULL, "True for the bid side.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PySequenceMethods BookSide_as_sequence = {
    .sq_length = (lenfunc)BookSide_len,
};

static PyTypeObject BookSideType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "tradeloop.book._cbook.BookSide",
    .tp_doc = PyDoc_STR("One side of an L2 book keeping each level's text as received."),
    .tp_basicsize = sizeof(BookSide),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)BookSide_init,
    .tp_dealloc = (destructor)BookSide_dealloc,
    .tp_methods = BookSide_methods,
    .tp_getset = BookSide_getset,
    .tp_as_sequence = &BookSide_as_sequence,
};

static PyMethodDef module_methods[] = {
    {"okx_checksum", (PyCFunction)(void (*)(void))okx_checksum, METH_FASTCALL,
     "Signed CRC32 of the top `depth` levels interleaved bid, ask as px:sz joined by ':'."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef cbook_module = {
    PyModuleDef_HEAD_INIT, "tradeloop.book._cbook",
    "Compiled order-book side and OKX checksum (see orderbook.py for the reference).", -1,
    module_methods,
};

PyMODINIT_FUNC PyInit__cbook(void) {
    crc_init();
    str_px = PyUnicode_InternFromString("px");
    str_sz = PyUnicode_InternFromString("sz");
    if (str_px == NULL || str_sz == NULL) return NULL;
    if (PyType_Ready(&BookSideType) < 0) return NULL;
    PyObject *m = PyModule_Create(&cbook_module);
    if (m == NULL) return NULL;
    if (PyModule_AddObjectRef(m, "BookSide", (PyObject *)&BookSideType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
