/* compat.h - version guards shared by every file of fastconc._core.
 *
 * FC_LOCK_*: the per-object lock.  A PyMutex on 3.13+; below that a
 * PyThread_type_lock created on first use.  The rule everywhere: release the
 * GIL first, then take the lock (FC_LOCK_ACQUIRE does both orders right).
 */
#ifndef FC_COMPAT_H
#define FC_COMPAT_H

#include <Python.h>

#if PY_VERSION_HEX >= 0x030D0000
#define FC_HAVE_PYMUTEX 1
#endif

#ifndef Py_TPFLAGS_IMMUTABLETYPE
#define Py_TPFLAGS_IMMUTABLETYPE 0
#endif
#ifndef Py_TPFLAGS_DISALLOW_INSTANTIATION
#define Py_TPFLAGS_DISALLOW_INSTANTIATION 0
#endif

/* Cast a METH_VARARGS|METH_KEYWORDS or METH_FASTCALL function for a
 * PyMethodDef without tripping -Wcast-function-type. */
#define FC_CFUNC(f) ((PyCFunction)(void (*)(void))(f))

#if PY_VERSION_HEX < 0x030A0000
static inline PyObject *
Py_NewRef(PyObject *o)
{
    Py_INCREF(o);
    return o;
}

static inline int
PyModule_AddObjectRef(PyObject *m, const char *name, PyObject *v)
{
    Py_XINCREF(v);
    int rc = PyModule_AddObject(m, name, v);
    if (rc < 0) {
        Py_XDECREF(v);
    }
    return rc;
}
#endif

#ifdef FC_HAVE_PYMUTEX
#define FC_LOCK_FIELD PyMutex fc_mutex
#define FC_LOCK_INIT(obj) ((void)((obj)->fc_mutex = (PyMutex){0}), 0)
#define FC_LOCK_FREE(obj) ((void)0)
/* Blocking acquire: PyMutex_Lock detaches the thread state while it waits. */
#define FC_LOCK_ACQUIRE(obj) PyMutex_Lock(&(obj)->fc_mutex)
#define FC_LOCK_RELEASE(obj) PyMutex_Unlock(&(obj)->fc_mutex)
#else
#include <pythread.h>
#define FC_LOCK_FIELD PyThread_type_lock fc_mutex
#define FC_LOCK_INIT(obj) ((void)((obj)->fc_mutex = NULL), 0)
#define FC_LOCK_FREE(obj)                                                   \
    do {                                                                    \
        if ((obj)->fc_mutex) {                                              \
            PyThread_free_lock((obj)->fc_mutex);                            \
            (obj)->fc_mutex = NULL;                                         \
        }                                                                   \
    } while (0)
/* Blocking acquire with the GIL held: try first; if busy, wait with the GIL
 * released so the holder (which may need the GIL) can finish. */
#define FC_LOCK_ACQUIRE(obj)                                                \
    do {                                                                    \
        if ((obj)->fc_mutex == NULL) {                                      \
            (obj)->fc_mutex = PyThread_allocate_lock();                     \
        }                                                                   \
        if ((obj)->fc_mutex &&                                              \
            !PyThread_acquire_lock((obj)->fc_mutex, 0)) {                   \
            Py_BEGIN_ALLOW_THREADS                                          \
            PyThread_acquire_lock((obj)->fc_mutex, 1);                      \
            Py_END_ALLOW_THREADS                                            \
        }                                                                   \
    } while (0)
#define FC_LOCK_RELEASE(obj)                                                \
    do {                                                                    \
        if ((obj)->fc_mutex) {                                              \
            PyThread_release_lock((obj)->fc_mutex);                         \
        }                                                                   \
    } while (0)
#endif

#endif
