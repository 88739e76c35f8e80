/* executor.h - what pmap.c (parallel_map, map_array) and executor.c (the
 * executor's work queue and worker loop) share: the pmap area's state. */
#ifndef FC_EXECUTOR_H
#define FC_EXECUTOR_H

#include "core/fastconc.h"

struct fc_pmap_state {
    PyObject *WorkQueueType;    /* executor.c's heap type */
    PyObject *ParallelMapIteratorType;  /* pmap.c's, made by _pmap_window */
    PyObject *QueueEmpty;       /* queue.Empty, raised by get_nowait() */
    /* Interned method names of Future, called by the worker loop. */
    PyObject *str_set_running;
    PyObject *str_set_result;
    PyObject *str_set_exception;
    /* WorkQueue.wait_done()'s: Future._state and its not-done values. */
    PyObject *str_state;
    PyObject *str_pending;
    PyObject *str_running;
    /* How long an idle executor worker spins for the next item before it
     * sleeps (FASTCONC_SPIN_US, as the pool's waiters), and how many
     * workers of one queue may spin at a time (CPUs - 1). */
    int64_t wq_spin_ns;
    int wq_max_spinners;
};

/* Adds WorkQueue and _worker_loop to the module (called from pmap.c's area
 * init with st->pmap allocated). */
int fc_executor_init(PyObject *m, fc_state *st);

#endif
