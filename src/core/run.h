/* run.h - the one way fastconc._core runs work outside the GIL.
 *
 * Everything that detaches from the interpreter goes through here:
 *   - the policy: whether a call releases the GIL (release_gil= and the
 *     size threshold) and how many threads it uses;
 *   - FC_RUN_OUTSIDE_GIL / FC_RUN_LOCKED: one statement run detached when
 *     `release`, attached otherwise, in the manner of CPython's
 *     HASHLIB_EXTERNAL_INSTRUCTIONS_LOCKED; the locked form keeps the lock
 *     order of compat.h (detach first, then wait for the lock);
 *   - fc_run / fc_run_led: a batch of chunks on the native pool, waking
 *     every FC_POLL_MS to run signal handlers (Ctrl-C cancels the chunks
 *     not yet started), and stopping too when the job it runs in (a
 *     posted job of async/job.c) is cancelled;
 *   - fc_check_interrupt: the same check for loops that hold the GIL.
 * The statements given to the macros, and pool tasks, take C types only:
 * no Python API but PyMem_Raw*.  Each call site says why its buffers stay
 * valid ("view pinned; job owns output").
 */
#ifndef FC_RUN_H
#define FC_RUN_H

#include <Python.h>

#include "core/compat.h"
#include "core/pool.h"

struct fc_state;

/* --- the policy ---------------------------------------------------------- */

Py_ssize_t fc_gil_threshold(struct fc_state *st);
/* The least time (µs) a call must be expected to last before release_gil
 * =None releases the GIL for it: two Python threads hand the GIL over at
 * every release, which costs a wake-up of the other thread; a call
 * shorter than a few of those makes two threads slower than one. */
Py_ssize_t fc_gil_release_us(struct fc_state *st);
/* Whether to release the GIL for nbytes of work; flag from
 * fc_parse_release(): -1 (None) decides by size, else forced.  By size:
 * nbytes >= GIL_THRESHOLD, the floor for every kernel. */
int fc_should_release(struct fc_state *st, int flag, Py_ssize_t nbytes);
/* The same for a kernel that runs `pace` bytes per µs on one core (its
 * known speed at the best SIMD level, 0 for unknown): by size, nbytes >=
 * fc_release_bytes(st, pace), i.e. the call lasts >= gil_release_us. */
int fc_should_release_at(struct fc_state *st, int flag, Py_ssize_t nbytes,
                         Py_ssize_t pace);
/* The size from which a kernel of that pace releases the GIL: the larger
 * of GIL_THRESHOLD and pace * gil_release_us. */
Py_ssize_t fc_release_bytes(struct fc_state *st, Py_ssize_t pace);
/* Threads to use: `requested` (> 0) as given; 0 -> the pool size when
 * nbytes >= min_parallel, else 1. */
int fc_resolve_threads(int requested, Py_ssize_t nbytes,
                       Py_ssize_t min_parallel);

/* --- one statement ------------------------------------------------------- */

/* Run the statement(s) detached when `release` is true, attached
 * otherwise.  Called attached. */
#define FC_RUN_OUTSIDE_GIL(release, ...)                                    \
    do {                                                                    \
        if (release) {                                                      \
            Py_BEGIN_ALLOW_THREADS                                          \
            __VA_ARGS__;                                                    \
            Py_END_ALLOW_THREADS                                            \
        }                                                                   \
        else {                                                              \
            __VA_ARGS__;                                                    \
        }                                                                   \
    } while (0)

/* Run the statement(s) holding obj's lock (FC_LOCK_FIELD), detached when
 * `release`.  `ok` is set to 1 when they ran, 0 when the lock could not be
 * made (MemoryError set; below 3.13 only).  Called attached. */
#define FC_RUN_LOCKED(obj, release, ok, ...)                                \
    do {                                                                    \
        (ok) = 0;                                                           \
        if (release) {                                                      \
            if (fc_lock_prepare(&(obj)->fc_mutex) == 0) {                   \
                Py_BEGIN_ALLOW_THREADS                                      \
                fc_lock_acquire_detached(&(obj)->fc_mutex);                 \
                __VA_ARGS__;                                                \
                fc_lock_release(&(obj)->fc_mutex);                          \
                Py_END_ALLOW_THREADS                                        \
                (ok) = 1;                                                   \
            }                                                               \
        }                                                                   \
        else if (fc_lock_acquire(&(obj)->fc_mutex) == 0) {                  \
            __VA_ARGS__;                                                    \
            fc_lock_release(&(obj)->fc_mutex);                              \
            (ok) = 1;                                                       \
        }                                                                   \
    } while (0)

/* --- a batch on the pool --------------------------------------------------- */

/* Run fn(arg, i) for i in [0, n) on `threads` threads (caller included),
 * with the GIL released when `release` (always when threads > 1: pool
 * threads may need the GIL for allocator hooks such as tracemalloc's).
 * Called attached.  Wakes every FC_POLL_MS to run signal handlers; if one
 * raises (Ctrl-C), the chunks not started are cancelled and -1 is returned
 * with the exception set.  Likewise, with CancelledError, when the work
 * this call is part of (a cancelled posted job, or an enclosing batch) was
 * cancelled.  Returns 0 when every chunk ran. */
int fc_run(fc_task_fn fn, void *arg, int64_t n, int threads, int release);

/* fc_run, except that the calling thread first runs lead(lead_arg) with
 * the GIL held while the pool threads start on the chunks, then takes
 * chunks itself.  lead returns -1 with an exception set to fail the call
 * (the chunks still run to the end; fc_run_led then returns -1). */
int fc_run_led(fc_task_fn fn, void *arg, int64_t n, int threads, int release,
               int (*lead)(void *), void *lead_arg);

/* fc_run_led with the GIL released, except that the calling thread stays
 * attached from the call through the end of lead (no other Python thread
 * runs in between, so lead sees what the caller saw), and detaches only
 * then.  lead must never wait for the chunks: they may wait for it (a
 * pipeline whose chunks hash what the lead has pinned so far). */
int fc_run_led_held(fc_task_fn fn, void *arg, int64_t n, int threads,
                    int (*lead)(void *), void *lead_arg);

/* --- Ctrl-C and cancellation ------------------------------------------------ */

/* For loops that run long with the GIL held between steps (decoders'
 * output steps, file reads): 0 to go on, or -1 with an exception set when
 * the call must stop: a signal handler raised (KeyboardInterrupt), or the
 * job this thread runs for (fastconc.submit / fastconc.aio, async/job.c)
 * was cancelled (concurrent.futures.CancelledError; the job layer throws it
 * away and reports the call cancelled).  Called attached; use it wherever
 * a loop would call PyErr_CheckSignals(). */
int fc_check_interrupt(void);

/* Set concurrent.futures.CancelledError ("the call was cancelled").
 * Called attached; always returns -1. */
int fc_raise_cancelled(void);

#endif
