/* async/job.h - native jobs: one call of a fastconc function run on the
 * native pool with nobody waiting for it, for fastconc.submit() (a
 * concurrent.futures.Future) and fastconc.aio (an asyncio future).
 *
 * The job protocol
 * ----------------
 * A function gets a fast job form by filling one fc_job_form and
 * registering it (fc_job_register, from its area's init, after the
 * function is added to the module).  A call then goes through three
 * phases:
 *
 *   prepare  the submitting thread, GIL held: parse the arguments exactly
 *            as the synchronous function does and raise what it raises
 *            (the same exception types reach the Future and the await),
 *            pin the buffers, allocate output whose size is known, and say
 *            how many chunks the work has and how many threads may run
 *            them (fc_job_plan).  Returns 0, -1 with the exception set,
 *            or 1 to leave this call to the generic form (below), e.g.
 *            work the synchronous function would split its own way;
 *   run      pool workers, no GIL and no Python API (PyMem_Raw* aside):
 *            run(data, i) for each chunk i, in any order, on up to
 *            plan.threads threads; errors are recorded in the payload.
 *            Chunks not started when the job is cancelled are skipped; a
 *            long chunk calls fc_pool_should_stop() between pieces;
 *   finish   GIL held, only when every chunk ran: build the result object
 *            or raise the recorded error (NULL with an exception set);
 *   clear    GIL held, exactly once whatever happened (prepare failed,
 *            finished, cancelled, withdrawn): release the buffers and free
 *            what prepare took.  It runs before the future is completed,
 *            so a caller's buffers are released when it sees the result.
 *
 * The payload (`size` bytes, zeroed) lives inside the job object, which
 * the pool worker keeps alive (a reference taken at posting) until the job
 * is completed.  A function without a form still works through the
 * generic one: run calls the synchronous function on the pool worker with
 * a thread state attached (PyGILState_Ensure); the function releases the
 * GIL itself around its work, and its fc_run calls and
 * fc_check_interrupt() checks see the job's cancel flag.
 *
 * Completion
 * ----------
 * submit: the worker that finishes the job's last chunk attaches once,
 *   finishes, clears and sets the Future (set_result/set_exception, or
 *   _fc_stopped() when it was cancelled: fastconc/_submit.py).
 * aio: the worker pushes the job on its loop's waker (waker.c), a
 *   lock-free stack, and wakes the event loop only when the stack was
 *   empty (one eventfd write registered with loop.add_reader); the loop
 *   thread drains the stack, finishes each job and sets its future
 *   (skipping those already cancelled).  No GIL on the worker.
 *
 * Cancellation
 * ------------
 * job.cancel() (GIL held): a job whose chunks have not started is taken
 * back from the pool and ended at once; a running one gets its batch's
 * cancel flag set, stops at the next chunk boundary, and is completed as
 * above with the cancellation recorded.  Interpreter exit (atexit) cancels
 * every posted job and waits for their completion, so no pool thread
 * touches Python once finalization starts.
 *
 * This file must not know any function's arguments: forms live with their
 * functions (checksum.c, pmap.c, and in phase 2 the codec and hash areas).
 */
#ifndef FC_ASYNC_JOB_H
#define FC_ASYNC_JOB_H

#include "core/fastconc.h"

#include <stdatomic.h>
#include <stddef.h>

/* What prepare tells the pool about the work. */
typedef struct fc_job_plan {
    int64_t nchunks;        /* >= 1 (a form with nothing to do uses 1) */
    int threads;            /* >= 1: workers that may run chunks at once */
} fc_job_plan;

typedef struct fc_job_form {
    const char *name;       /* the module function it serves */
    size_t size;            /* bytes of payload (zeroed before prepare) */
    int (*prepare)(void *data, fc_state *st, PyObject *func,
                   PyObject *const *args, Py_ssize_t nargs,
                   PyObject *kwnames, fc_job_plan *plan);
    fc_task_fn run;         /* run(data, i) */
    PyObject *(*finish)(void *data, fc_state *st);
    void (*clear)(void *data);      /* may be NULL */
} fc_job_form;

/* Make `forms` (an array ended by a form with a NULL name) the job forms
 * of the module functions of those names.  From an area's init. */
int fc_job_register(PyObject *module, fc_state *st,
                    const fc_job_form *forms);

enum { FC_JOB_SUBMIT, FC_JOB_AIO };
enum { FC_JOB_PREPARED, FC_JOB_POSTED, FC_JOB_ENDED };

/* The job object (private type _core._Job).  The fields below the pool's
 * batch are read and written with the GIL held only. */
typedef struct fc_job {
    PyObject_VAR_HEAD
    const fc_job_form *form;
    fc_state *st;
    int kind;                   /* FC_JOB_SUBMIT or FC_JOB_AIO */
    int phase;                  /* FC_JOB_* above */
    fc_job_plan plan;
    fc_batch batch;             /* the pool's, while posted */
    PyObject *target;           /* submit: the Future; aio: the waker */
    PyObject *future;           /* aio: the loop's future */
    PyObject *stopped;          /* aio: set when a cancelled job's work
                                 * has stopped (job.cancel()'s result) */
    int await_state;            /* aio: where `await job` is (job.c) */
    PyObject *pending_exc;      /* aio: what the awaiter raises once the
                                 * cancelled work has stopped */
    PyObject *error;            /* aio: what prepare raised, until the
                                 * job starts (the future then gets it) */
    PyObject *cancel_msg;       /* aio: cancel(msg)'s msg, for the future */
    int cancel_early;           /* aio: cancelled before it started */
    struct fc_job *next_done;   /* the waker's stack (waker.c) */
    max_align_t data[];         /* the form's payload */
} fc_job;

/* --- between job.c and waker.c ------------------------------------------- */

/* A pool worker, no GIL: hand a finished aio job to its waker. */
void fc_waker_push(PyObject *waker, fc_job *job);
/* GIL held: complete a finished aio job on its loop's thread (finish,
 * clear, set the future), and drop the pool's reference to it. */
void fc_job_complete_aio(fc_job *job);
/* The loop of a waker (new reference), or NULL with RuntimeError when it
 * is gone. */
PyObject *fc_waker_loop(PyObject *waker);
int fc_waker_check(fc_state *st, PyObject *obj);

/* waker.c's type, added to the module by job.c's area init. */
int fc_waker_init(PyObject *module, fc_state *st);

struct fc_jobs_state {
    PyObject *JobType;
    PyObject *DoneCbType;       /* job.c's done-callback wrapper */
    PyObject *WakerType;
    PyObject *forms;            /* function -> int (the fc_job_form *) */
    /* Interned method names. */
    PyObject *str_set_result;
    PyObject *str_set_exception;
    PyObject *str_fc_stopped;
    PyObject *str_create_future;
    PyObject *str_done;
    PyObject *str_cancel;
    PyObject *str_call_soon;    /* "call_soon_threadsafe" */
    PyObject *str_result;
    PyObject *str_blocking;     /* "_asyncio_future_blocking" */
    PyObject *str_cancel_message;       /* "_cancel_message" */
    PyObject *str_log_traceback;        /* "_log_traceback" */
    PyObject *str_get_loop;
    PyObject *str_add_done_callback;
    PyObject *str_remove_done_callback;
    PyObject *str_cancelled;
    PyObject *str_exception;
    PyObject *str_make_cancelled_error; /* "_make_cancelled_error" */
    /* Set by fastconc/aio.py (_aio_setup): asyncio's _get_running_loop,
     * its loop -> waker function and asyncio.CancelledError; and the last
     * loop seen (weakly) with its waker, so that a call finds its waker
     * without going through Python. */
    PyObject *get_running_loop;
    PyObject *waker_for;
    PyObject *CancelledError;
    PyObject *last_loop;        /* weakref */
    PyObject *last_waker;
};

#endif
