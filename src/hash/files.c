/* hash/files.c - hash_file() (one file, read with the GIL released; for
 * BLAKE3 also hashed on several threads, the next slice read ahead) and
 * hash_files() (many files on the pool, one hasher per group of files).
 * The reading is here; the hashing is the hasher layer's
 * (hash/algorithms.c) and blake3/pool.c's.  Pool tasks take C types only.
 * It must not call the other front ends nor hash by itself.
 */
#include "hash/hash.h"
#include "blake3/pool.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Files are read in blocks of this size. */
#define FILE_BUF ((size_t)256 << 10)
/* hash_file() checks for Ctrl-C after at most this many bytes. */
#define FILE_SLICE ((Py_ssize_t)16 << 20)

/* --- reading ------------------------------------------------------------- */

/* What hash_fd() returns besides the byte counts. */
enum {
    FD_ERROR = -1,      /* read error, *err = errno */
    FD_HASH_ERROR = -2, /* the hasher failed (OpenSSL) */
    FD_PAUSE = 0,       /* slice used up, a signal interrupted read(), or
                         * the batch was cancelled: come back later */
    FD_EOF = 1,
};

/* Wait until a pollable fd (a FIFO, a socket, a terminal: opened with
 * O_NONBLOCK by open_file) has data or hung up, FC_POLL_MS at a time,
 * giving way when the pool cancels the batch (Ctrl-C).  1 when readable,
 * 0 when cancelled or interrupted, -1 with *err.  No Python API. */
static int
wait_readable(int fd, int *err)
{
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, FC_POLL_MS);
        if (r > 0) {
            return 1;   /* data, hang-up (EOF) or an error read() reports */
        }
        if (r < 0 && errno != EINTR) {
            *err = errno;
            return -1;
        }
        if (r < 0 || fc_pool_should_stop()) {
            return 0;
        }
    }
}

/* Read fd to EOF (or until `slice` bytes were read, when slice > 0) into h,
 * adding the bytes read to *nread.  `pollable`: fd is non-blocking and may
 * wait for ever (open_file said so); it is polled, so a pool thread never
 * blocks in read() past a cancelled batch.  Between reads the batch's
 * cancel flag is checked, so that on a slow file system a task stops at
 * the next block (a read() itself cannot be interrupted there).  Returns
 * an FD_* code.  No Python API. */
static int
hash_fd(fc_hasher *h, int fd, int pollable, unsigned char *buf,
        Py_ssize_t slice, int *err, Py_ssize_t *nread)
{
    Py_ssize_t done = 0;
    int rc;
    for (;;) {
        if (pollable && (rc = wait_readable(fd, err)) <= 0) {
            rc = rc < 0 ? FD_ERROR : FD_PAUSE;
            break;
        }
        ssize_t r = read(fd, buf, FILE_BUF);
        if (r < 0) {
            if (errno == EINTR) {
                rc = FD_PAUSE;  /* let the caller run the signal handlers */
                break;
            }
            if (pollable && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                continue;       /* poll() said readable, then not: again */
            }
            *err = errno;
            rc = FD_ERROR;
            break;
        }
        if (r == 0) {
            rc = FD_EOF;
            break;
        }
        if (fc_hasher_update(h, buf, (size_t)r) < 0) {
            rc = FD_HASH_ERROR;
            break;
        }
        done += r;
        if ((slice > 0 && done >= slice) || fc_pool_should_stop()) {
            rc = FD_PAUSE;
            break;
        }
    }
    *nread += done;
    return rc;
}

/* open() for reading.  Pool threads (pool=1) open with O_NONBLOCK, which
 * returns at once even for a FIFO without a writer (where a blocking open()
 * would wait for ever, out of Ctrl-C's reach: issue 24's hang); a regular
 * file or directory gets its blocking mode back, anything else stays
 * non-blocking and *pollable is set: hash_fd() polls it.  The caller of
 * hash_file() (pool=0) opens in blocking mode and gets EINTR back, to run
 * the signal handlers (a FIFO may block in open()).  -1 with *err. */
static int
open_file(const char *path, int *err, int pool, int *pollable)
{
    int fd;
    struct stat sb;
    *pollable = 0;
    do {
        fd = open(path, O_RDONLY | O_CLOEXEC | (pool ? O_NONBLOCK : 0));
    } while (pool && fd < 0 && errno == EINTR);
    if (fd < 0) {
        *err = errno;
        return -1;
    }
    if (!pool) {
        return fd;
    }
    if (fstat(fd, &sb) == 0 && (S_ISREG(sb.st_mode) || S_ISDIR(sb.st_mode))) {
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0) {
            (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
        }
    }
    else {
        *pollable = 1;
    }
    return fd;
}

/* path -> (fspath result, encoded bytes), both new references. */
static int
convert_path(PyObject *path, PyObject **fspath, PyObject **encoded)
{
    *fspath = PyOS_FSPath(path);
    if (*fspath == NULL) {
        return -1;
    }
    if (!PyUnicode_FSConverter(*fspath, encoded)) {
        Py_CLEAR(*fspath);
        return -1;
    }
    return 0;
}

/* Read into buf until it holds cap bytes or EOF.  Returns 1 at EOF, 0 when
 * full or a signal interrupted read(), -1 with *err = errno on an error;
 * *got counts the bytes read.  No Python API. */
static int
read_fill(int fd, unsigned char *buf, Py_ssize_t cap, int *err,
          Py_ssize_t *got)
{
    while (*got < cap) {
        size_t want = (size_t)(cap - *got);
        if (want > ((size_t)1 << 30)) {
            want = (size_t)1 << 30;
        }
        ssize_t r = read(fd, buf + *got, want);
        if (r < 0) {
            if (errno == EINTR) {
                return 0;
            }
            *err = errno;
            return -1;
        }
        if (r == 0) {
            return 1;
        }
        *got += r;
    }
    return 0;
}

/* --- BLAKE3 on several threads, reading ahead ---------------------------- */

/* hash_file("blake3", ..., threads > 1) on a regular file: slices of the
 * file are hashed as subtree tasks while the next slice is read ahead by
 * pread() tasks riding first in the same batch (fc_blake3_rider), so
 * reading overlaps hashing.  No Python API in the tasks. */
#define B3_READ_PIECE ((Py_ssize_t)1 << 20)   /* one read-ahead task */
#define B3_SLICE_MIN ((Py_ssize_t)4 << 20)
#define B3_MAX_PIECES 64                        /* slices up to 64 MiB */

typedef struct {
    int fd;
    unsigned char *dst;         /* the buffer being filled */
    int64_t base;               /* file offset of dst[0] */
    Py_ssize_t want;            /* bytes asked for */
    int npieces;
    Py_ssize_t got[B3_MAX_PIECES];
    int err[B3_MAX_PIECES];
    /* The pieces, riding on the next batch; rider.n != 0 while they have
     * not run. */
    fc_blake3_rider rider;
} b3_ahead;

/* Piece i: pread until full or EOF; pool threads retry on EINTR. */
static void
b3_read_piece(b3_ahead *ra, int i)
{
    Py_ssize_t off = (Py_ssize_t)i * B3_READ_PIECE;
    Py_ssize_t n = ra->want - off < B3_READ_PIECE ? ra->want - off
                                                  : B3_READ_PIECE;
    Py_ssize_t got = 0;
    while (got < n) {
        ssize_t r = pread(ra->fd, ra->dst + off + got, (size_t)(n - got),
                          (off_t)(ra->base + off + got));
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            ra->err[i] = errno;
            break;
        }
        if (r == 0) {
            break;
        }
        got += r;
    }
    ra->got[i] = got;
}

/* Every piece, in order, on the calling thread (detached). */
static void
b3_read_pieces(b3_ahead *ra)
{
    for (int i = 0; i < ra->npieces; i++) {
        b3_read_piece(ra, i);
    }
}

/* A rider task: piece i. */
static void
b3_piece_task(void *arg, int64_t i)
{
    b3_read_piece(arg, (int)i);
}

/* Start a read of want bytes at base into dst (run by the next batch). */
static void
b3_ahead_start(b3_ahead *ra, unsigned char *dst, int64_t base,
               Py_ssize_t want)
{
    ra->dst = dst;
    ra->base = base;
    ra->want = want;
    ra->npieces = (int)((want + B3_READ_PIECE - 1) / B3_READ_PIECE);
    ra->rider.task = b3_piece_task;
    ra->rider.arg = ra;
    ra->rider.n = ra->npieces;
    memset(ra->got, 0, sizeof(ra->got));
    memset(ra->err, 0, sizeof(ra->err));
}

/* The bytes read: the pieces' contiguous prefix.  1 at EOF (a short read),
 * 0 if more may follow, -1 with *err on a read error. */
static int
b3_ahead_result(const b3_ahead *ra, Py_ssize_t *got, int *err)
{
    *got = 0;
    for (int i = 0; i < ra->npieces; i++) {
        if (ra->err[i]) {
            *err = ra->err[i];
            return -1;
        }
        *got += ra->got[i];
        if (ra->got[i] < B3_READ_PIECE && *got < ra->want) {
            return 1;
        }
    }
    return *got < ra->want ? 1 : 0;
}

/* Returns 1 when done, -1 with *err set on a read error, or -2 with an
 * exception set (Ctrl-C, memory).  Called with the GIL held. */
static int
b3_hash_regular_parallel(fc_blake3_hasher *h, int fd, int threads,
                         Py_ssize_t slice, int *err)
{
    unsigned char *bufs[2] = {PyMem_RawMalloc((size_t)slice),
                              PyMem_RawMalloc((size_t)slice)};
    b3_ahead ra;
    int64_t pos = 0;
    Py_ssize_t got = 0;
    int k = 0, state, rc = -2;

    memset(&ra, 0, sizeof(ra));
    ra.fd = fd;
    if (bufs[0] == NULL || bufs[1] == NULL) {
        PyErr_NoMemory();
        goto exit;
    }
    /* The first slice alone: nothing to hash yet. */
    b3_ahead_start(&ra, bufs[0], 0, slice);
    /* Safe: bufs and fd are ours alone. */
    FC_RUN_OUTSIDE_GIL(1, b3_read_pieces(&ra));
    ra.rider.n = 0;
    state = b3_ahead_result(&ra, &got, err);
    for (;;) {
        if (state < 0) {
            rc = -1;
            goto exit;
        }
        pos += got;
        if (state == 0) {
            b3_ahead_start(&ra, bufs[1 - k], pos, slice);
        }
        if (got > 0 &&
            fc_blake3_update_pool(h, bufs[k], (size_t)got, threads, 1,
                                  &ra.rider) < 0) {
            goto exit;   /* Ctrl-C: h is thrown away by the caller */
        }
        if (state == 1) {
            rc = 1;
            break;
        }
        if (ra.rider.n != 0) {
            /* No batch took the pieces (everything was hashed inline):
             * read the next slice here. */
            /* Safe: bufs and fd are ours alone. */
            FC_RUN_OUTSIDE_GIL(1, b3_read_pieces(&ra));
            ra.rider.n = 0;
        }
        if (PyErr_CheckSignals() < 0) {
            goto exit;
        }
        state = b3_ahead_result(&ra, &got, err);
        k = 1 - k;
    }
exit:
    PyMem_RawFree(bufs[0]);
    PyMem_RawFree(bufs[1]);
    return rc;
}

/* Same, for pipes and devices (no pread, no size): read a slice with the
 * GIL released, then hash it on the pool. */
static int
b3_hash_stream_parallel(fc_blake3_hasher *h, int fd, int threads,
                        Py_ssize_t slice, int *err)
{
    unsigned char *big = PyMem_RawMalloc((size_t)slice);
    int rc;
    if (big == NULL) {
        PyErr_NoMemory();
        return -2;
    }
    do {
        Py_ssize_t got = 0;
        /* Safe: big and fd are ours alone. */
        FC_RUN_OUTSIDE_GIL(1, rc = read_fill(fd, big, slice, err, &got));
        if (rc < 0) {
            break;
        }
        /* On Ctrl-C h holds a partial update: the caller throws it away. */
        if ((got > 0 &&
             fc_blake3_update_pool(h, big, (size_t)got, threads, 1,
                                   NULL) < 0) ||
            PyErr_CheckSignals() < 0) {
            rc = -2;
            break;
        }
    } while (rc == 0);
    PyMem_RawFree(big);
    return rc;
}

/* hash_file("blake3", ..., threads > 1).  size: the file's size if it is a
 * regular file, else -1. */
static int
b3_hash_fd_parallel(fc_blake3_hasher *h, int fd, Py_ssize_t size,
                    int threads, int *err)
{
    /* 2 MiB per thread (at least 4 MiB): several subtree tasks per thread,
     * and the two buffers stay small enough to be mostly in cache; never
     * more than the file needs. */
    Py_ssize_t slice = (Py_ssize_t)threads << 21;
    if (slice < B3_SLICE_MIN) {
        slice = B3_SLICE_MIN;
    }
    if (slice > B3_READ_PIECE * B3_MAX_PIECES) {
        slice = B3_READ_PIECE * B3_MAX_PIECES;
    }
    if (size < 0) {
        return b3_hash_stream_parallel(h, fd, threads, slice, err);
    }
    if (size < slice) {
        slice = size + 1;   /* + 1: EOF seen by the first read */
    }
    return b3_hash_regular_parallel(h, fd, threads, slice, err);
}

/* --- hash_file ----------------------------------------------------------- */

/* --- hash_file on a file object ----------------------------------------- */

/* Feed len bytes of buf (pinned by the caller) to the open hasher h: BLAKE3
 * as subtree tasks on `threads` threads (0: auto), anything else in chunks
 * with the GIL released from GIL_THRESHOLD bytes on.  0, or -1 with an
 * exception set. */
static int
feed_buffer(fc_state *st, fc_hasher *h, const void *buf, Py_ssize_t len,
            int threads)
{
    int rc;
    if (len == 0) {
        return 0;
    }
    if (h->b3 != NULL && threads != 1) {
        return fc_blake3_update_pool(h->b3, buf, (size_t)len,
                                     fc_blake3_threads(threads, len), 1,
                                     NULL);
    }
    rc = fc_hasher_update_chunked(h, buf, len,
                                  fc_should_release(st, -1, len));
    if (rc == -2) {
        fc_hash_error("update");
    }
    return rc < 0 ? -1 : 0;
}

/* hash_file(name, f) for a binary file object, as hashlib.file_digest():
 * an io.BytesIO (anything with getbuffer()) is hashed whole from its
 * buffer; anything else must be readable and have readinto(), and is read
 * to its end into a buffer of ours.  The reading is f's own Python code
 * (so it sees Ctrl-C); the hashing releases the GIL. */
static PyObject *
hash_file_object(fc_state *st, int alg, uint64_t seed, int threads,
                 PyObject *f)
{
    PyObject *result = NULL, *ba = NULL, *mv = NULL, *r = NULL;
    Py_buffer view = {0};
    unsigned char out[FC_MAX_DIGEST];
    fc_hasher h;

    fc_hasher_setup(&h, st->hash, alg, seed);
    if (fc_hasher_open(&h) < 0) {
        fc_hash_error("hash initialisation");
        goto exit;
    }
    if (PyObject_HasAttrString(f, "getbuffer")) {
        r = PyObject_CallMethod(f, "getbuffer", NULL);
        if (r == NULL || fc_get_buffer(r, &view, "getbuffer()") < 0 ||
            feed_buffer(st, &h, view.buf, view.len, threads) < 0) {
            goto exit;
        }
    }
    else {
        if (!PyObject_HasAttrString(f, "readinto") &&
            !PyObject_HasAttrString(f, "read")) {
            PyErr_Format(PyExc_TypeError,
                         "path must be str, bytes, os.PathLike or a binary "
                         "file object, not '%.100s'", Py_TYPE(f)->tp_name);
            goto exit;
        }
        int ok = PyObject_HasAttrString(f, "readinto");
        if (ok) {
            r = PyObject_CallMethod(f, "readable", NULL);
            ok = r != NULL && PyObject_IsTrue(r) == 1;
            PyErr_Clear();
        }
        if (!ok) {
            /* hashlib.file_digest's words (a text file, a write-only
             * one) */
            PyErr_Format(PyExc_ValueError,
                         "'%R' is not a file-like object in binary reading "
                         "mode.", f);
            goto exit;
        }
        /* BLAKE3 on several threads gets slices worth splitting. */
        Py_ssize_t bufsize = h.b3 != NULL && threads != 1
                                 ? ((Py_ssize_t)4 << 20) : (Py_ssize_t)FILE_BUF;
        ba = PyByteArray_FromStringAndSize(NULL, bufsize);
        mv = ba ? PyMemoryView_FromObject(ba) : NULL;
        if (mv == NULL) {
            goto exit;
        }
        for (;;) {
            Py_XSETREF(r, PyObject_CallMethod(f, "readinto", "O", mv));
            if (r == NULL) {
                goto exit;
            }
            if (r == Py_None) {
                PyErr_SetString(PyExc_BlockingIOError,
                                "readinto() returned None: the file is "
                                "non-blocking and has no data now");
                goto exit;
            }
            Py_ssize_t n = PyNumber_AsSsize_t(r, PyExc_OverflowError);
            if (n == -1 && PyErr_Occurred()) {
                goto exit;
            }
            if (n < 0 || n > bufsize) {
                PyErr_Format(PyExc_ValueError, "readinto() returned %zd "
                             "for a buffer of %zd bytes", n, bufsize);
                goto exit;
            }
            if (n == 0) {
                break;
            }
            /* The memoryview pins ba: nobody can resize it meanwhile. */
            if (feed_buffer(st, &h, PyByteArray_AS_STRING(ba), n,
                            threads) < 0) {
                goto exit;
            }
        }
    }
    if (fc_hasher_final(&h, out) < 0) {
        fc_hash_error("digest");
        goto exit;
    }
    result = PyBytes_FromStringAndSize((const char *)out, fc_hasher_size(&h));
exit:
    if (view.obj != NULL) {
        PyBuffer_Release(&view);
    }
    Py_XDECREF(mv);
    Py_XDECREF(ba);
    Py_XDECREF(r);
    fc_hasher_close(&h);
    return result;
}

/* A path (str, bytes, os.PathLike), as opposed to a file object. */
static int
is_path(PyObject *obj)
{
    return PyUnicode_Check(obj) || PyBytes_Check(obj) ||
           PyObject_HasAttrString((PyObject *)Py_TYPE(obj), "__fspath__");
}

PyDoc_STRVAR(fc_hash_file__doc__,
"hash_file($module, name, path, *, threads=None, seed=None)\n--\n\n"
"Return the digest (bytes) of the file at path, read with the GIL\n"
"released.  A missing or unreadable file raises OSError naming it.\n"
"\n"
"  name: one of algorithms_available.\n"
"  path: str, bytes or os.PathLike; or a binary file object, as\n"
"    hashlib.file_digest() takes: read to its end with readinto() (an\n"
"    io.BytesIO is hashed whole through getbuffer()).\n"
"  threads: blake3 only (a tree hash): threads hashing the one file\n"
"    (None: the pool size for files of 1 MiB and more).  The other\n"
"    algorithms are sequential: threads > 1 raises ValueError.\n"
"  seed: xxHash only: the seed.");

static PyObject *
fc_hash_file(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
             PyObject *kwnames)
{
    static const char *const names[] = {"name", "path", "threads", "seed",
                                        NULL};
    fc_state *st = fc_get_state(module);
    PyObject *a[4], *result = NULL, *fspath = NULL, *encoded = NULL;
    unsigned char *buf = NULL;
    unsigned char out[FC_MAX_DIGEST];
    fc_hasher h;
    uint64_t seed;
    int alg, threads, fd = -1, err = 0, rc = 0, pollable = 0;

    memset(&h, 0, sizeof(h));
    if (fc_parse_args("hash_file", args, nargs, kwnames, names, 2, 2, a) < 0 ||
        (alg = fc_hash_lookup(st->hash, a[0])) < 0 ||
        fc_parse_threads(a[2], &threads) < 0 ||
        fc_hash_parse_seed(alg, a[3], &seed) < 0) {
        return NULL;
    }
    if (!fc_hash_algs[alg].b3 && threads > 1) {
        PyErr_Format(PyExc_ValueError,
                     "hash_file: %s is a sequential hash, threads=%d cannot "
                     "split one file (only blake3 can; use hash_files for "
                     "many files)", fc_hash_algs[alg].name, threads);
        return NULL;
    }
    if (!is_path(a[1])) {
        return hash_file_object(st, alg, seed, threads, a[1]);
    }
    if (convert_path(a[1], &fspath, &encoded) < 0) {
        return NULL;
    }
    fc_hasher_setup(&h, st->hash, alg, seed);
    buf = PyMem_RawMalloc(FILE_BUF);
    if (buf == NULL) {
        PyErr_NoMemory();
        goto exit;
    }
    if (fc_hasher_open(&h) < 0) {
        fc_hash_error("hash initialisation");
        goto exit;
    }
    const char *cpath = PyBytes_AS_STRING(encoded);
    for (;;) {
        /* open() may block (FIFOs, network mounts); cpath is held. */
        FC_RUN_OUTSIDE_GIL(1, fd = open_file(cpath, &err, 0, &pollable));
        if (fd >= 0 || err != EINTR) {
            break;
        }
        if (PyErr_CheckSignals() < 0) {
            goto exit;
        }
    }
    if (fd < 0) {
        errno = err;
        PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, fspath);
        goto exit;
    }
    if (fc_hash_algs[alg].b3 && threads != 1) {
        /* The file's size decides threads=None (a pipe's is unknown). */
        struct stat sb;
        Py_ssize_t size = -1;   /* not a regular file */
        if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
            (uint64_t)sb.st_size <= (uint64_t)PY_SSIZE_T_MAX) {
            size = (Py_ssize_t)sb.st_size;
        }
        threads = fc_blake3_threads(threads, size < 0 ? 0 : size);
        if (threads > 1) {
            rc = b3_hash_fd_parallel(h.b3, fd, size, threads, &err);
            if (rc == -2) {
                goto exit;
            }
        }
    }
    /* Read in slices, taking the GIL back between them to run signal
     * handlers, so Ctrl-C interrupts a large file promptly. */
    while (rc == 0) {
        Py_ssize_t nread = 0;
        /* Safe: buf and h are ours; encoded is held. */
        FC_RUN_OUTSIDE_GIL(1, rc = hash_fd(&h, fd, 0, buf, FILE_SLICE, &err,
                                           &nread));
        if (PyErr_CheckSignals() < 0) {
            goto exit;
        }
    }
    if (rc == -1) {
        errno = err;
        PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, fspath);
        goto exit;
    }
    if (rc == -2 || fc_hasher_final(&h, out) < 0) {
        fc_hash_error("digest");
        goto exit;
    }
    result = PyBytes_FromStringAndSize((const char *)out, fc_hasher_size(&h));
exit:
    if (fd >= 0) {
        close(fd);
    }
    fc_hasher_close(&h);
    PyMem_RawFree(buf);
    Py_XDECREF(encoded);
    Py_XDECREF(fspath);
    return result;
}

/* --- hash_files ---------------------------------------------------------- */

/* A group of consecutive files, hashed by one task at a time with one
 * buffer and one hasher.  A task reads at most FILE_SLICE * 2 bytes, then
 * returns leaving its place (an open fd) here; the caller runs rounds until
 * every group is done, so Ctrl-C is seen between rounds even when one file
 * is huge (or endless, like a pipe). */
typedef struct {
    fc_hasher h;
    unsigned char *buf;
    Py_ssize_t next;            /* next file to start or finish */
    Py_ssize_t end;
    int fd;                     /* file `next`, open, or -1 */
    int pollable;               /* fd is polled (not a regular file) */
    int ready;                  /* h and buf allocated */
} files_group;

typedef struct {
    fc_hasher proto;            /* algorithm, md, kernels, seed */
    const char *const *paths;   /* encoded paths, held by the caller */
    files_group *groups;
    const int64_t *pending;     /* this round's chunk i = groups[pending[i]] */
    unsigned char *out;
    int *errs;                  /* errno per file, 0 = fine, -1 = hash error */
    int size;
} files_job;

static void
files_task(void *arg, int64_t i)
{
    files_job *job = arg;
    files_group *g = &job->groups[job->pending[i]];
    Py_ssize_t budget = 2 * FILE_SLICE, nread = 0;
    if (!g->ready) {
        g->h = job->proto;
        g->h.ctx = NULL;
        g->h.xs = NULL;
        g->h.b3 = NULL;
        g->buf = PyMem_RawMalloc(FILE_BUF);
        if (g->buf == NULL || fc_hasher_open(&g->h) < 0) {
            for (; g->next < g->end; g->next++) {
                job->errs[g->next] = ENOMEM;
            }
            return;
        }
        g->ready = 1;
    }
    while (g->next < g->end && nread < budget) {
        Py_ssize_t k = g->next;
        int err = 0, rc;
        if (g->fd < 0) {
            if (fc_hasher_reset(&g->h) < 0) {
                job->errs[k] = -1;
                g->next++;
                continue;
            }
            g->fd = open_file(job->paths[k], &err, 1, &g->pollable);
            if (g->fd < 0) {
                job->errs[k] = err;
                g->next++;
                continue;
            }
        }
        rc = hash_fd(&g->h, g->fd, g->pollable, g->buf, budget - nread, &err,
                     &nread);
        if (rc == FD_PAUSE) {
            return;   /* slice used up, EINTR or cancelled: next round */
        }
        close(g->fd);
        g->fd = -1;
        if (rc == FD_ERROR) {
            job->errs[k] = err;
        }
        else if (rc == FD_HASH_ERROR ||
                 fc_hasher_final(&g->h, job->out + k * job->size) < 0) {
            job->errs[k] = -1;
        }
        g->next++;
    }
}

PyDoc_STRVAR(fc_hash_files__doc__,
"hash_files($module, name, paths, *, threads=None, seed=None, "
"errors='raise')\n--\n\n"
"Return the digests (list of bytes) of the files at paths, read and\n"
"hashed in parallel on the pool with the GIL released.\n"
"\n"
"  name: one of algorithms_available.\n"
"  paths: an iterable of str, bytes or os.PathLike.\n"
"  threads: threads to use (None: the pool size).\n"
"  seed: xxHash only: the seed.\n"
"  errors: 'raise': the first missing or unreadable file (in the order\n"
"    given) raises OSError naming it; 'return': its exception object\n"
"    takes its place in the list and the others are still hashed.");

/* errors=: NULL, None or "raise" -> 0; "return" -> 1. */
static int
parse_errors(PyObject *obj, int *ret)
{
    *ret = 0;
    if (obj == NULL || obj == Py_None) {
        return 0;
    }
    if (PyUnicode_Check(obj)) {
        if (PyUnicode_CompareWithASCIIString(obj, "raise") == 0) {
            return 0;
        }
        if (PyUnicode_CompareWithASCIIString(obj, "return") == 0) {
            *ret = 1;
            return 0;
        }
    }
    PyErr_Format(PyExc_ValueError,
                 "errors must be 'raise' or 'return', not %R", obj);
    return -1;
}

/* The exception for file k (errs[k] != 0) as an object, not raised. */
static PyObject *
file_error(int err, PyObject *fspath)
{
    PyObject *type, *value, *tb;
    if (err > 0) {
        errno = err;
        PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, fspath);
    }
    else {
        fc_hash_error("digest");
    }
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb != NULL) {
        PyException_SetTraceback(value, tb);
    }
    Py_XDECREF(type);
    Py_XDECREF(tb);
    return value;
}

static PyObject *
fc_hash_files(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
              PyObject *kwnames)
{
    static const char *const names[] = {"name", "paths", "threads", "seed",
                                        "errors", NULL};
    fc_state *st = fc_get_state(module);
    PyObject *a[5], *result = NULL, *list = NULL, *seq = NULL;
    PyObject **fspaths = NULL, **encoded = NULL;
    const char **cpaths = NULL;
    Py_ssize_t n = 0, converted = 0;
    int64_t ngroups = 0, *pending = NULL;
    files_job job;
    uint64_t seed;
    int alg, threads, ret_errors;

    memset(&job, 0, sizeof(job));
    if (fc_parse_args("hash_files", args, nargs, kwnames, names, 2, 2,
                      a) < 0 ||
        (alg = fc_hash_lookup(st->hash, a[0])) < 0 ||
        fc_parse_threads(a[2], &threads) < 0 ||
        fc_hash_parse_seed(alg, a[3], &seed) < 0 ||
        parse_errors(a[4], &ret_errors) < 0) {
        return NULL;
    }
    if (PyUnicode_Check(a[1]) || PyBytes_Check(a[1])) {
        PyErr_SetString(PyExc_TypeError,
                        "paths must be an iterable of paths, not a single "
                        "path");
        return NULL;
    }
    /* os.fspath() below may run Python code that changes a list of
     * paths, and without a GIL another thread may: read a snapshot. */
    seq = PyList_Check(a[1]) ? PyList_AsTuple(a[1])
                             : PySequence_Fast(a[1], "paths must be an iterable");
    if (seq == NULL) {
        return NULL;
    }
    n = PySequence_Fast_GET_SIZE(seq);
    size_t cap = n > 0 ? (size_t)n : 1;
    fspaths = PyMem_Calloc(cap, sizeof(PyObject *));
    encoded = PyMem_Calloc(cap, sizeof(PyObject *));
    cpaths = PyMem_Calloc(cap, sizeof(char *));
    job.errs = PyMem_Calloc(cap, sizeof(int));
    fc_hasher_setup(&job.proto, st->hash, alg, seed);
    job.size = fc_hasher_size(&job.proto);
    job.out = PyMem_Malloc(cap * (size_t)job.size);
    if (!fspaths || !encoded || !cpaths || !job.errs || !job.out) {
        PyErr_NoMemory();
        goto exit;
    }
    for (; converted < n; converted++) {
        Py_ssize_t k = converted;
        if (convert_path(PySequence_Fast_GET_ITEM(seq, k), &fspaths[k],
                         &encoded[k]) < 0) {
            goto exit;
        }
        cpaths[k] = PyBytes_AS_STRING(encoded[k]);
    }
    threads = fc_resolve_threads(threads, n, 2);
    if (threads > n) {
        threads = n > 0 ? (int)n : 1;
    }
    /* Groups of files: many per thread so the load balances. */
    ngroups = threads > 1 ? (int64_t)threads * 16 : 1;
    if (ngroups > n) {
        ngroups = n > 0 ? n : 1;
    }
    job.groups = PyMem_Calloc((size_t)ngroups, sizeof(files_group));
    pending = PyMem_Malloc((size_t)ngroups * sizeof(int64_t));
    if (job.groups == NULL || pending == NULL) {
        PyErr_NoMemory();
        goto exit;
    }
    for (int64_t g = 0; g < ngroups; g++) {
        job.groups[g].next = (Py_ssize_t)(g * n / ngroups);
        job.groups[g].end = (Py_ssize_t)((g + 1) * n / ngroups);
        job.groups[g].fd = -1;
    }
    job.paths = cpaths;
    job.pending = pending;
    for (;;) {
        int64_t npending = 0;
        for (int64_t g = 0; g < ngroups; g++) {
            if (job.groups[g].next < job.groups[g].end) {
                pending[npending++] = g;
            }
        }
        if (npending == 0) {
            break;
        }
        /* Safe without the GIL: the encoded paths are held in `encoded`;
         * each group is run by one task at a time and writes only its own
         * files' slots. */
        if (fc_run(files_task, &job, npending,
                   threads < npending ? threads : (int)npending, 1) < 0) {
            goto exit;
        }
        /* A round of one chunk runs inline without polling: check here. */
        if (PyErr_CheckSignals() < 0) {
            goto exit;
        }
    }
    for (Py_ssize_t k = 0; k < n && !ret_errors; k++) {
        if (job.errs[k] > 0) {
            errno = job.errs[k];
            PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, fspaths[k]);
            goto exit;
        }
        if (job.errs[k] < 0) {
            fc_hash_error("digest");
            goto exit;
        }
    }
    list = PyList_New(n);
    if (list == NULL) {
        goto exit;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *b = job.errs[k] != 0
            ? file_error(job.errs[k], fspaths[k])
            : PyBytes_FromStringAndSize((const char *)job.out + k * job.size,
                                        job.size);
        if (b == NULL) {
            goto exit;
        }
        PyList_SET_ITEM(list, k, b);
    }
    result = Py_NewRef(list);
exit:
    Py_XDECREF(list);
    for (Py_ssize_t k = 0; k < converted; k++) {
        Py_XDECREF(fspaths[k]);
        Py_XDECREF(encoded[k]);
    }
    PyMem_Free(fspaths);
    PyMem_Free(encoded);
    PyMem_Free(cpaths);
    if (job.groups != NULL) {
        for (int64_t g = 0; g < ngroups; g++) {
            if (job.groups[g].fd >= 0) {
                close(job.groups[g].fd);
            }
            fc_hasher_close(&job.groups[g].h);
            PyMem_RawFree(job.groups[g].buf);
        }
        PyMem_Free(job.groups);
    }
    PyMem_Free(pending);
    PyMem_Free(job.errs);
    PyMem_Free(job.out);
    Py_XDECREF(seq);
    return result;
}

/* --- the functions in the module ----------------------------------------- */

static PyMethodDef files_methods[] = {
    {"hash_file", FC_CFUNC(fc_hash_file), METH_FASTCALL | METH_KEYWORDS,
     fc_hash_file__doc__},
    {"hash_files", FC_CFUNC(fc_hash_files), METH_FASTCALL | METH_KEYWORDS,
     fc_hash_files__doc__},
    {NULL, NULL, 0, NULL},
};

static int
files_init(PyObject *m, fc_state *st)
{
    (void)st;
    return PyModule_AddFunctions(m, files_methods);
}

static int
files_info(fc_state *st, PyObject *d)
{
    PyObject *parallel = PyDict_GetItemString(d, "parallel");
    if (st->hash == NULL || parallel == NULL) {
        return 0;
    }
    return PyDict_SetItemString(parallel, "hash_files", Py_True);
}

const fc_area fc_area_hash_files = {
    "hash files", files_init, NULL, NULL, files_info,
};
