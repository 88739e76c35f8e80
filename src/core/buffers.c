/* buffers.c - argument helpers: pinned buffer views and the threads= and
 * release_gil= parsers.  Everything here runs attached (with the GIL held
 * on a GIL build). */
#include "core/fastconc.h"

int
fc_get_buffer(PyObject *obj, Py_buffer *view, const char *what)
{
    if (PyUnicode_Check(obj)) {
        PyErr_Format(PyExc_TypeError,
                     "%s must be a bytes-like object, not 'str' "
                     "(encode it first)", what);
        return -1;
    }
    if (!PyObject_CheckBuffer(obj)) {
        PyErr_Format(PyExc_TypeError,
                     "%s must be a bytes-like object, not '%.100s'", what,
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    if (PyObject_GetBuffer(obj, view, PyBUF_SIMPLE) < 0) {
        if (PyErr_ExceptionMatches(PyExc_BufferError)) {
            PyErr_Clear();
            PyErr_Format(PyExc_ValueError,
                         "%s must be a C-contiguous buffer", what);
        }
        return -1;
    }
    return 0;
}

int
fc_get_data_buffer(PyObject *obj, Py_buffer *view)
{
    if (PyUnicode_Check(obj)) {
        PyErr_SetString(PyExc_TypeError,
                        "Strings must be encoded before hashing");
        return -1;
    }
    if (!PyObject_CheckBuffer(obj)) {
        PyErr_SetString(PyExc_TypeError,
                        "object supporting the buffer API required");
        return -1;
    }
    return fc_get_buffer(obj, view, "data");
}

void
fc_buffers_release(fc_buffers *bufs)
{
    if (bufs->views) {
        for (Py_ssize_t i = 0; i < bufs->count; i++) {
            PyBuffer_Release(&bufs->views[i]);
        }
        PyMem_Free(bufs->views);
    }
    bufs->views = NULL;
    bufs->count = 0;
    bufs->total = 0;
}

int
fc_get_buffers(PyObject *iterable, fc_buffers *out, const char *what)
{
    int rc = -1;
    PyObject *seq = NULL;
    out->count = 0;
    out->views = NULL;
    out->total = 0;

    if (PyUnicode_Check(iterable) || PyObject_CheckBuffer(iterable)) {
        PyErr_Format(PyExc_TypeError,
                     "%s must be an iterable of bytes-like objects, "
                     "not a single '%.100s'", what,
                     Py_TYPE(iterable)->tp_name);
        goto exit;
    }
    /* A list the caller (or another thread) may change while we pin its
     * items: take a snapshot first (a tuple, made under the list's lock on
     * a free-threaded build), so that no item is read through a pointer
     * that a concurrent change (or an item's own __buffer__, run by
     * fc_get_buffer) has freed.  A tuple, or the list PySequence_Fast makes
     * from any other iterable, is ours to read. */
    if (PyList_Check(iterable)) {
        seq = PyList_AsTuple(iterable);
    }
    else {
        seq = PySequence_Fast(iterable, "items must be an iterable");
    }
    if (seq == NULL) {
        goto exit;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    out->views = PyMem_Calloc(n ? (size_t)n : 1, sizeof(Py_buffer));
    if (out->views == NULL) {
        PyErr_NoMemory();
        goto exit;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, i);
        if (fc_get_buffer(item, &out->views[i], what) < 0) {
            goto exit;
        }
        out->count = i + 1;
        out->total += out->views[i].len;
    }
    rc = 0;
exit:
    if (rc < 0) {
        fc_buffers_release(out);
    }
    Py_XDECREF(seq);
    return rc;
}

int
fc_parse_threads(PyObject *obj, int *out)
{
    if (obj == NULL || obj == Py_None) {
        *out = 0;
        return 0;
    }
    if (!PyLong_Check(obj) || PyBool_Check(obj)) {
        PyErr_Format(PyExc_TypeError,
                     "threads must be an int or None, not '%.100s'",
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    int overflow = 0;
    long v = PyLong_AsLongAndOverflow(obj, &overflow);
    if (v == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (overflow < 0 || (overflow == 0 && v < 1)) {
        PyErr_SetString(PyExc_ValueError, "threads must be >= 1 or None");
        return -1;
    }
    if (overflow > 0 || v > FC_MAX_THREADS) {
        PyErr_Format(PyExc_ValueError, "threads must be <= %d",
                     FC_MAX_THREADS);
        return -1;
    }
    *out = (int)v;
    return 0;
}

int
fc_parse_release(PyObject *obj, int *out)
{
    if (obj == NULL || obj == Py_None) {
        *out = -1;
        return 0;
    }
    if (!PyBool_Check(obj)) {
        PyErr_Format(PyExc_TypeError,
                     "release_gil must be True, False or None, not '%.100s'",
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    *out = (obj == Py_True);
    return 0;
}

int
fc_parse_args(const char *fname, PyObject *const *args, Py_ssize_t nargs,
              PyObject *kwnames, const char *const *names, int npos,
              int nrequired, PyObject **out)
{
    int nnames = 0;
    while (names[nnames]) {
        out[nnames] = NULL;
        nnames++;
    }
    if (nargs > npos) {
        PyErr_Format(PyExc_TypeError,
                     "%s() takes at most %d positional argument%s (%zd given)",
                     fname, npos, npos == 1 ? "" : "s", nargs);
        return -1;
    }
    for (Py_ssize_t i = 0; i < nargs; i++) {
        out[i] = args[i];
    }
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    for (Py_ssize_t k = 0; k < nkw; k++) {
        PyObject *key = PyTuple_GET_ITEM(kwnames, k);
        int found = -1;
        for (int j = 0; j < nnames; j++) {
            if (PyUnicode_CompareWithASCIIString(key, names[j]) == 0) {
                found = j;
                break;
            }
        }
        if (found < 0) {
            PyErr_Format(PyExc_TypeError,
                         "%s() got an unexpected keyword argument '%U'",
                         fname, key);
            return -1;
        }
        if (out[found] != NULL) {
            PyErr_Format(PyExc_TypeError,
                         "%s() got multiple values for argument '%s'", fname,
                         names[found]);
            return -1;
        }
        out[found] = args[nargs + k];
    }
    for (int j = 0; j < nrequired; j++) {
        if (out[j] == NULL) {
            PyErr_Format(PyExc_TypeError,
                         "%s() missing required argument '%s'", fname,
                         names[j]);
            return -1;
        }
    }
    return 0;
}
