/* compat.h - version guards shared by every file of fastconc._core, the
 * critical-section and atomic helpers for free-threaded builds, and the
 * per-object lock (fc_lock, FC_LOCK_*), with its one rule below.
 * docs/THREADING.md says which of them guards what.
 */
#ifndef FC_COMPAT_H
#define FC_COMPAT_H

#include <Python.h>
#include <string.h>

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

/* Raise the exception instance exc (a reference stolen), keeping the
 * traceback it carries (a failure recorded on another thread). */
static inline void
fc_raise_instance(PyObject *exc)
{
#if PY_VERSION_HEX >= 0x030C0000
    PyErr_SetRaisedException(exc);
#else
    PyObject *type = Py_NewRef((PyObject *)Py_TYPE(exc));
    PyErr_Restore(type, exc, PyException_GetTraceback(exc));
#endif
}

/* --- critical sections and atomics (free-threaded builds) ----------------
 *
 * FC_BEGIN/END_CRITICAL_SECTION(op): CPython's per-object critical section
 * on 3.13+ (it locks op on a free-threaded build and costs nothing on a
 * GIL build); a plain block below 3.13, where the GIL is the only lock
 * there is.  Like CPython's, a critical section is suspended whenever the
 * thread detaches (releases the GIL, waits for a lock): it makes a
 * stretch of code atomic only if nothing in it detaches, so a state that
 * must hold across a detach is kept in a field of the object instead (a
 * "running" flag set inside the section).  Use them for Python-visible
 * objects whose methods do not wait for anything; objects that run long
 * library calls detached use the lock below.
 *
 * FC_ATOMIC_LOAD / FC_ATOMIC_STORE: relaxed atomics for a word that one
 * thread may write while others read it (settings, kernel pointers): no
 * torn value, no data race for the compiler or TSan; no ordering, as
 * none of them publishes other memory.
 */
#if PY_VERSION_HEX >= 0x030D0000
#define FC_BEGIN_CRITICAL_SECTION(op) Py_BEGIN_CRITICAL_SECTION(op)
#define FC_END_CRITICAL_SECTION() Py_END_CRITICAL_SECTION()
#else
#define FC_BEGIN_CRITICAL_SECTION(op) {
#define FC_END_CRITICAL_SECTION() }
#endif

#define FC_ATOMIC_LOAD(ptr) __atomic_load_n((ptr), __ATOMIC_RELAXED)
#define FC_ATOMIC_STORE(ptr, v) __atomic_store_n((ptr), (v), __ATOMIC_RELAXED)

/* --- the per-object lock -------------------------------------------------
 *
 * One lock family for every mutable object (hash objects, blake3,
 * Compressor, Decompressor).  FC_LOCK_FIELD declares it; each declaration
 * carries a comment saying what it guards.
 *
 * The one rule, on every Python version: *wait for an object's lock only
 * while detached from the interpreter* (GIL released, or no thread state
 * attached on a free-threaded build).  A holder may attach and detach
 * freely while it holds the lock, so a thread that holds the GIL and
 * waits for the lock would deadlock against a holder waiting for the GIL;
 * waiting detached cannot.  fc_lock_acquire() (called attached) tries
 * first and, when the lock is busy, detaches to wait;
 * fc_lock_acquire_detached() is for code that already released the GIL
 * (FC_RUN_LOCKED in run.h).
 *
 * 3.13+: a PyMutex (no allocation).  Below: a PyThread_type_lock made on
 * first use by fc_lock_prepare(), with the GIL held (so two threads cannot
 * both make it); a failed allocation raises MemoryError there, and no
 * caller goes on without the lock.
 */
#ifdef FC_HAVE_PYMUTEX
typedef struct { PyMutex m; } fc_lock;

static inline int fc_lock_prepare(fc_lock *l) { (void)l; return 0; }
static inline void fc_lock_free(fc_lock *l) { (void)l; }
/* PyMutex_Lock detaches the thread state while it waits. */
static inline void fc_lock_acquire_detached(fc_lock *l) { PyMutex_Lock(&l->m); }
static inline void fc_lock_release(fc_lock *l) { PyMutex_Unlock(&l->m); }

static inline int
fc_lock_acquire(fc_lock *l)
{
    PyMutex_Lock(&l->m);
    return 0;
}
#else
#include <pythread.h>
typedef struct { PyThread_type_lock m; } fc_lock;

static inline int
fc_lock_prepare(fc_lock *l)
{
    if (l->m == NULL) {
        l->m = PyThread_allocate_lock();
        if (l->m == NULL) {
            PyErr_NoMemory();
            return -1;
        }
    }
    return 0;
}

static inline void
fc_lock_free(fc_lock *l)
{
    if (l->m != NULL) {
        PyThread_free_lock(l->m);
        l->m = NULL;
    }
}

/* The lock must have been prepared (FC_RUN_LOCKED does it). */
static inline void
fc_lock_acquire_detached(fc_lock *l)
{
    PyThread_acquire_lock(l->m, WAIT_LOCK);
}

static inline void
fc_lock_release(fc_lock *l)
{
    PyThread_release_lock(l->m);
}

/* Attached: 0 with the lock held, or -1 with MemoryError. */
static inline int
fc_lock_acquire(fc_lock *l)
{
    if (fc_lock_prepare(l) < 0) {
        return -1;
    }
    if (!PyThread_acquire_lock(l->m, NOWAIT_LOCK)) {
        Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(l->m, WAIT_LOCK);
        Py_END_ALLOW_THREADS
    }
    return 0;
}
#endif

#define FC_LOCK_FIELD fc_lock fc_mutex
#define FC_LOCK_INIT(obj) ((void)memset(&(obj)->fc_mutex, 0, sizeof(fc_lock)))
#define FC_LOCK_FREE(obj) fc_lock_free(&(obj)->fc_mutex)
/* Attached; evaluates to 0, or -1 with MemoryError (below 3.13 only). */
#define FC_LOCK_ACQUIRE(obj) fc_lock_acquire(&(obj)->fc_mutex)
#define FC_LOCK_RELEASE(obj) fc_lock_release(&(obj)->fc_mutex)

#endif
