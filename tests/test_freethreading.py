"""Stress: one object of each kind shared by 8 threads, results checked.

These run on every build; they matter most on a free-threaded CPython
(3.13t, PYTHON_GIL=0), where nothing but fastconc's own locks stands
between the threads (issue 27).  Every thread starts at a Barrier so that
the calls really overlap, and every result is checked against a reference
computed sequentially (hashlib, zlib, the stdlib codecs) or against
self-describing data.
"""
import gzip
import hashlib
import itertools
import os
import subprocess
import sys
import sysconfig
import threading
import time
import zlib
from concurrent.futures import CancelledError

import pytest

import fastconc

THREADS = 8
FREE_THREADED = sysconfig.get_config_var("Py_GIL_DISABLED") == 1
GIL_ENABLED = getattr(sys, "_is_gil_enabled", lambda: True)()


def run_threads(target, n=THREADS, timeout=120):
    """Run target(i, barrier) on n threads that start together; re-raise
    the first exception of any of them."""
    barrier = threading.Barrier(n)
    errors = []

    def wrap(i):
        try:
            target(i, barrier)
        except BaseException as e:     # reported below, with its thread
            errors.append((i, e))
            barrier.abort()

    ts = [threading.Thread(target=wrap, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    deadline = time.monotonic() + timeout
    for t in ts:
        t.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in ts), "threads hung"
    real = [e for e in errors if not isinstance(e[1],
                                                threading.BrokenBarrierError)]
    if real:
        raise real[0][1]
    if errors:
        raise errors[0][1]


def random_bytes(n, seed):
    """n incompressible bytes, deterministic (SHA-256 in counter mode), so
    that any piece of 32 bytes or more is found at one offset only."""
    out = bytearray()
    for i in itertools.count():
        if len(out) >= n:
            break
        out += hashlib.sha256(b"%d:%d" % (seed, i)).digest()
    return bytes(out[:n])


def check_pieces_tile(pieces, data):
    """pieces were read by several threads from one sequential reader:
    each is a contiguous part of data and, together, they cover it once."""
    assert sum(len(p) for p in pieces) == len(data)
    taken = []
    for p in pieces:
        if len(p) >= 32:
            at = data.find(p)
            assert at >= 0, "a piece that is not in the data"
            taken.append((at, at + len(p)))
        else:
            assert p in data
    taken.sort()
    for (_, end), (start, _) in zip(taken, taken[1:]):
        assert end <= start, "two reads returned overlapping data"


# --- import -----------------------------------------------------------------

@pytest.mark.skipif(not FREE_THREADED, reason="needs a free-threaded build")
def test_import_leaves_gil_disabled():
    """CPython turns the GIL back on, with a RuntimeWarning, when it imports
    an extension that does not declare Py_MOD_GIL_NOT_USED."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_GIL"}
    code = ("import sys, fastconc, fastconc._core; "
            "print(sys._is_gil_enabled())")
    out = subprocess.run([sys.executable, "-W", "error::RuntimeWarning",
                          "-c", code], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


# --- hash objects ------------------------------------------------------------

def _hash_ref(name):
    if name in hashlib.algorithms_available and not name.startswith("xxh"):
        return hashlib.new(name)
    return fastconc.new(name)       # used by one thread: the reference


@pytest.mark.timeout(180)
@pytest.mark.parametrize("name", ["sha256", "md5", "blake2b", "xxh3_64",
                                  "xxh64", "blake3"])
@pytest.mark.parametrize("chunk_size", [100, 70_000])
def test_hash_object_shared(name, chunk_size):
    """8 threads update one hash object with the same chunk and take
    digests and copies meanwhile.  Whatever the interleaving, every digest
    seen must be that of chunk * k for some k (a torn state gives none), a
    copy must go on from where it was taken, and the end is chunk * 8n."""
    chunk = random_bytes(chunk_size, chunk_size)
    n = 60 if chunk_size < 4096 else 12
    ref = _hash_ref(name)
    table = {ref.digest(): 0}
    for k in range(1, THREADS * n + 1):
        ref.update(chunk)
        table[ref.digest()] = k
    assert len(table) == THREADS * n + 1
    shared = fastconc.new(name)

    def work(i, barrier):
        barrier.wait()
        for j in range(n):
            shared.update(chunk)
            if (i + j) % 3 == 0:
                assert shared.digest() in table
            if (i + j) % 4 == 1:
                assert bytes.fromhex(shared.hexdigest()) in table
            if (i + j) % 5 == 2:
                c = shared.copy()
                k = table[c.digest()]
                if k < THREADS * n:
                    c.update(chunk)
                    assert table[c.digest()] == k + 1

    run_threads(work)
    assert table[shared.digest()] == THREADS * n


# --- Compressor / Decompressor -------------------------------------------------

RECORD = 512


def record(thread, seq):
    """A record that says who wrote it: 512 bytes, mostly compressible."""
    head = b"%02d:%06d:" % (thread, seq)
    body = hashlib.sha256(head).digest() * 4 + head * 40
    return (head + body)[:RECORD].ljust(RECORD, b".")


def split_records(data):
    assert len(data) % RECORD == 0
    recs = [data[i:i + RECORD] for i in range(0, len(data), RECORD)]
    for r in recs:
        t, s = int(r[:2]), int(r[3:9])
        assert r == record(t, s), "a corrupted record"
    return recs


@pytest.mark.timeout(300)
@pytest.mark.parametrize("codec,threads", [
    *((c, 1) for c in fastconc.codecs_available), ("zstd", 2)])
def test_compressor_shared(codec, threads):
    """8 threads feed records to one Compressor; between rounds one of them
    (the Barrier's action) flushes a block.  Each compress() call must be
    applied whole, so a round decodes to its records in some order.  The
    pieces a round returned are put back in the one order in which the
    stream decodes; a torn call leaves none."""
    per_round = 4
    rounds = 12
    c = fastconc.Compressor(codec, None, threads=threads)
    stream = []                 # the compressed stream, in order
    round_pieces = []
    lock = threading.Lock()
    expected = []               # records of each round

    def flush_block():
        with lock:
            pieces = [p for p in round_pieces if p]
            round_pieces.clear()
        blk = c.flush("block")
        stream.append((pieces, blk))

    barrier = threading.Barrier(THREADS, action=flush_block)

    def work(i, _start):
        for r in range(rounds):
            for j in range(per_round):
                out = c.compress(record(i, r * per_round + j))
                with lock:
                    round_pieces.append(out)
            barrier.wait()

    for r in range(rounds):
        expected.append(sorted(record(i, r * per_round + j)
                               for i in range(THREADS)
                               for j in range(per_round)))
    run_threads(work)
    tail = c.flush()

    done = b""
    decoded = 0
    for r, (pieces, blk) in enumerate(stream):
        assert len(pieces) <= 6, "too many pieces to order"
        for order in itertools.permutations(pieces):
            cand = done + b"".join(order) + blk
            try:
                out = fastconc.Decompressor(codec).decompress(cand)
            except fastconc.DecompressionError:
                continue
            if (len(out) == (r + 1) * THREADS * per_round * RECORD
                    and sorted(split_records(out[decoded:]))
                    == expected[r]):
                done = cand
                decoded = len(out)
                break
        else:
            pytest.fail(f"round {r}: no order of its pieces decodes")
    whole = done + tail
    out = fastconc.decompress(whole, codec)
    assert len(out) == rounds * THREADS * per_round * RECORD
    split_records(out)
    if codec == "gzip":
        assert gzip.decompress(whole) == out
    elif codec == "zlib":
        assert zlib.decompress(whole) == out


@pytest.mark.timeout(180)
@pytest.mark.parametrize("codec", fastconc.codecs_available)
def test_decompressor_shared(codec):
    """One Decompressor holds a whole stream; 8 threads drain it with
    decompress(b'', max_length) and read its properties meanwhile.  Each
    call returns the next contiguous part: together they are the data."""
    data = random_bytes(3 << 20, 7)
    d = fastconc.Decompressor(codec)
    # one stream (fastconc.compress with threads > 1 writes several gzip
    # members, and a Decompressor stops at the end of one)
    blob = (gzip.compress(data, 1) if codec == "gzip"
            else fastconc.compress(data, codec, 1, threads=1))
    first = d.decompress(blob, 4096)
    pieces = [first]
    lock = threading.Lock()

    def work(i, barrier):
        sizes = itertools.cycle([4096, 1, 65536, 777, 20000 + i])
        barrier.wait()
        while True:
            assert isinstance(d.needs_input, bool)
            assert isinstance(d.unused_data, bytes)
            if d.eof:
                break
            try:
                out = d.decompress(b"", next(sizes))
            except EOFError:
                break       # another thread took the last bytes
            with lock:
                pieces.append(out)

    run_threads(work)
    assert d.eof
    check_pieces_tile([p for p in pieces if p], data)


# --- fastconc.open ---------------------------------------------------------------

@pytest.mark.timeout(180)
@pytest.mark.parametrize("codec", ["gzip", "zstd", "lz4"])
def test_compressed_file_read_shared(tmp_path, codec):
    """8 threads read one CompressedFile (and ask tell()) at once: each
    read is a contiguous part of the data and together they cover it.
    (CompressedFile cannot seek: read only.)  Half the threads use read(),
    half readinto(): io.BufferedReader alone loses data when both are used
    at once from several threads, even with the GIL (its fast paths run
    outside its lock)."""
    data = random_bytes(4 << 20, 11)
    path = tmp_path / f"f.{codec}"
    with fastconc.open(path, "wb", codec=codec) as f:
        f.write(data)
    pieces = []
    lock = threading.Lock()
    with fastconc.open(path, "rb") as f:
        def work(i, barrier):
            sizes = itertools.cycle([1, 4096, 100_000, 333 + i, 65536])
            barrier.wait()
            while True:
                assert 0 <= f.tell() <= len(data)
                if i % 2:
                    out = f.read(next(sizes))
                else:
                    buf = bytearray(next(sizes))
                    out = bytes(buf[:f.readinto(buf)])
                if not out:
                    break
                with lock:
                    pieces.append(out)

        run_threads(work)
        assert f.read() == b""
    check_pieces_tile(pieces, data)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("codec,threads", [("gzip", 1), ("zstd", 1),
                                           ("lz4", 1), ("zstd", 2),
                                           ("gzip", 2)])
def test_compressed_file_write_shared(tmp_path, codec, threads):
    """8 threads write records to one CompressedFile (flushing now and
    then): the file holds every record once, each one whole."""
    path = tmp_path / f"w.{codec}"
    n = 200
    with fastconc.open(path, "wb", codec=codec, threads=threads) as f:
        def work(i, barrier):
            barrier.wait()
            for j in range(n):
                assert f.write(record(i, j)) == RECORD
                if j % 50 == 49:
                    f.flush()

        run_threads(work)
        assert f.tell() == THREADS * n * RECORD
    with fastconc.open(path, "rb") as f:
        got = f.read()
    assert sorted(split_records(got)) == sorted(
        record(i, j) for i in range(THREADS) for j in range(n))
    if codec == "gzip":
        assert gzip.decompress(path.read_bytes()) == got


def _close_while_others_write(path, delay):
    """One round: thread 0 closes the file after `delay` s while 3 others
    write, flush, tell and fileno; returns the unexpected exceptions."""
    f = fastconc.open(path, "wb")
    unexpected = []

    def work(i, barrier):
        barrier.wait()
        if i == 0:
            time.sleep(delay)
            f.close()
            return
        for j in range(200):
            try:
                f.write(record(i, j))
                f.flush()
                f.tell()
                f.fileno()
            except ValueError:          # closed: the expected refusal
                return
            except Exception as e:      # noqa: BLE001 - the failure
                unexpected.append(e)
                return

    run_threads(work, n=4)
    return unexpected


@pytest.mark.timeout(120)
def test_compressed_file_close_while_others_flush(tmp_path):
    """One thread closes a CompressedFile that others keep writing to and
    flushing: a call that comes too late raises ValueError (closed file),
    never an AttributeError from the half-closed object, and the file
    holds whole records."""
    for rnd in range(40):
        path = tmp_path / f"c{rnd}.zst"
        assert _close_while_others_write(path, 0.001 * (rnd % 4)) == []
        with fastconc.open(path, "rb") as g:
            got = g.read()
        assert all(len(r) == RECORD for r in split_records(got))


# --- module settings while calls run ----------------------------------------------

@pytest.mark.timeout(180)
def test_set_threads_and_threshold_while_calls_run():
    """Two threads change the pool size and GIL_THRESHOLD while six others
    checksum, hash and compress with threads=None: every result is right
    and the settings end as last set."""
    data = random_bytes(3 << 20, 3)
    crc, sha = zlib.crc32(data), hashlib.sha256(data).digest()
    old_threads, old_thr = fastconc.get_threads(), fastconc.GIL_THRESHOLD
    stop = threading.Event()

    def work(i, barrier):
        barrier.wait()
        if i == 0:
            for k in itertools.islice(itertools.cycle([1, 2, 3, 8, 2]), 300):
                fastconc.set_threads(k)
                assert 1 <= fastconc.get_threads() <= 8
            stop.set()
        elif i == 1:
            while not stop.is_set():
                for v in (0, 1 << 30, 2048, 100):
                    fastconc.GIL_THRESHOLD = v
        else:
            while not stop.is_set():
                assert fastconc.crc32(data) == crc
                assert fastconc.sha256(data).digest() == sha
                assert fastconc.digest("sha256", data) == sha
                blob = fastconc.compress(data[: 1 << 20], "zstd", 1)
                assert fastconc.decompress(blob, "zstd") == data[: 1 << 20]

    try:
        run_threads(work)
    finally:
        fastconc.set_threads(old_threads)
        fastconc.GIL_THRESHOLD = old_thr
    assert fastconc.get_threads() == old_threads


@pytest.mark.timeout(180)
def test_parallel_map_from_eight_threads():
    """parallel_map called by 8 threads at once with a pure-Python
    function: each gets its own results, in order."""
    def work(i, barrier):
        barrier.wait()
        for rnd in range(5):
            items = list(range(i * 1000, i * 1000 + 3000 + rnd))
            got = fastconc.parallel_map(lambda x: x * x + i, items,
                                        threads=2)
            assert list(got) == [x * x + i for x in items]

    run_threads(work)


@pytest.mark.timeout(180)
def test_simd_level_switch_while_calls_run():
    """One thread switches the SIMD level (every level the CPU has) while
    the others checksum, hash (xxHash, BLAKE3, SHA-256 pairs) and compress:
    each call uses whole kernels of one level or another, so every result
    is right."""
    levels = fastconc._core._simd_levels()
    old = fastconc._core._get_simd_level()
    data = random_bytes(1 << 20, 5)
    small = [data[k:k + 64] for k in range(0, 64 * 64, 64)]
    crc, crcc = zlib.crc32(data), fastconc.crc32c(data)
    adler = zlib.adler32(data)
    x3, b3 = fastconc.digest("xxh3_64", data), fastconc.digest("blake3", data)
    shas = [hashlib.sha256(s).digest() for s in small]
    stop = threading.Event()

    def work(i, barrier):
        barrier.wait()
        if i == 0:
            try:
                for level in itertools.islice(itertools.cycle(levels),
                                              2000):
                    fastconc._core._set_simd_level(level)
                    assert fastconc._core._get_simd_level() in levels
            finally:
                stop.set()
            return
        while not stop.is_set():
            assert fastconc.crc32(data, threads=1) == crc
            assert fastconc.crc32c(data, threads=2) == crcc
            assert fastconc.adler32(data) == adler
            assert fastconc.digest("xxh3_64", data) == x3
            assert fastconc.blake3(data).digest() == b3
            assert fastconc.hash_many("sha256", small) == shas
            blob = fastconc.compress(data, "gzip", 1)
            assert fastconc.decompress(blob, "gzip") == data

    try:
        run_threads(work)
    finally:
        fastconc._core._set_simd_level(old)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("call",
                         ["compress_many", "decompress_many", "hash_many"])
def test_many_calls_on_a_list_others_change(call):
    """compress_many / decompress_many / hash_many read a list that other threads keep
    changing (items replaced by new objects, the list resized and
    rebuilt): each call works on one consistent view of it, every output
    is the round trip of one of the values, and nothing crashes (on a
    free-threaded build, reading the caller's list in place read freed
    items)."""
    values = [bytes([65 + k]) * (300 + 37 * k) for k in range(20)]
    blobs = {fastconc.compress(v, "lz4"): v for v in values}
    source = list(blobs) if call == "decompress_many" else values
    digests = {hashlib.sha256(v).digest() for v in values}
    shared = [source[k % 20] for k in range(200)]
    stop = threading.Event()

    def fresh(v):
        return bytes(bytearray(v))      # a new object, not v itself

    def work(i, barrier):
        barrier.wait()
        if i < 3:
            k = i
            for _ in range(20_000):
                k = (k * 1103515245 + 12345) & 0x7FFFFFFF
                try:
                    shared[k % 150] = fresh(source[k % 20])
                except IndexError:      # another writer shrank it
                    pass
                if i == 0:
                    shared.append(fresh(source[k % 7]))
                    shared.pop()
                if k % 64 == 0:
                    shared[:] = [fresh(v) for v in source * 10]
            stop.set()
            return
        while not stop.is_set():
            if call == "compress_many":
                for blob in fastconc.compress_many(shared, "lz4"):
                    assert fastconc.decompress(blob, "lz4") in values
            elif call == "hash_many":
                for d in fastconc.hash_many("sha256", shared):
                    assert d in digests
            else:
                for out in fastconc.decompress_many(shared, "lz4"):
                    assert out in values

    run_threads(work)


@pytest.mark.timeout(120)
def test_parallel_map_iterator_shared():
    """8 threads take results from one parallel_map iterator: each result
    is taken exactly once; a next() that comes while the window runs
    raises ValueError ("already executing"), as a generator would."""
    n = 50_000
    it = fastconc.parallel_map(lambda x: x * 2, range(n), threads=2)
    taken = [[] for _ in range(THREADS)]
    busy = []

    def work(i, barrier):
        barrier.wait()
        mine = taken[i]
        while True:
            try:
                mine.append(next(it))
            except StopIteration:
                return
            except ValueError as e:
                busy.append(str(e))

    run_threads(work)
    got = sorted(itertools.chain.from_iterable(taken))
    assert got == [x * 2 for x in range(n)]
    assert all("already executing" in m for m in busy)
    for mine in taken:
        assert mine == sorted(mine)     # in order, as handed out


# --- the executor -------------------------------------------------------------------

@pytest.mark.timeout(120)
@pytest.mark.parametrize("buffersize", [None, 16])
def test_executor_shutdown_during_map(buffersize):
    """6 threads iterate map() on one executor while another shuts it down
    (cancelling queued work): every map yields a correct prefix, then ends
    or raises CancelledError (or, refilling its window after the shutdown,
    RuntimeError); nothing hangs and the workers all exit."""
    ex = fastconc.ThreadPoolExecutor(4)
    n = 20_000
    got = {}
    under_way = threading.Semaphore(0)     # one release per map at 100

    def work(i, barrier):
        barrier.wait()
        if i == THREADS - 1:
            # shut down once every map is under way
            for _ in range(THREADS - 2):
                under_way.acquire(timeout=60)
            ex.shutdown(wait=True, cancel_futures=True)
            return
        if i == THREADS - 2:
            # submit() racing with shutdown: accepted and run, accepted and
            # then cancelled by the shutdown, or refused
            for k in range(n):
                try:
                    assert ex.submit(pow, k, 2).result(60) == k * k
                except (CancelledError, RuntimeError):
                    break
            return
        out = []
        try:
            for r in ex.map(lambda x: x + i, range(n),
                            buffersize=buffersize):
                out.append(r)
                if len(out) == 100:
                    under_way.release()
        except (CancelledError, RuntimeError):
            pass
        got[i] = out

    run_threads(work)
    assert len(got) == THREADS - 2
    for i, out in got.items():
        assert len(out) >= 100
        assert out == list(range(i, i + len(out)))
    assert all(not t.is_alive() for t in ex._threads)
    with pytest.raises(RuntimeError):
        ex.submit(pow, 2, 2)


@pytest.mark.timeout(120)
def test_executor_submit_from_eight_threads():
    """8 threads submit to one executor at once; every future gets its own
    result and the pool stays within max_workers."""
    with fastconc.ThreadPoolExecutor(3) as ex:
        def work(i, barrier):
            barrier.wait()
            futs = [ex.submit(divmod, i * 100_000 + k, 7)
                    for k in range(3000)]
            for k, f in enumerate(futs):
                assert f.result(60) == divmod(i * 100_000 + k, 7)

        run_threads(work)
        assert len(ex._threads) <= 3
