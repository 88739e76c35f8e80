"""hash_file()/hash_files(): equal to hashlib over the file contents, in
parallel, on executors, and the usual OSError naming the file."""
import errno
import hashlib
import multiprocessing
import os
import pathlib
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest

import fastconc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def files(tmp_path, rng):
    out = []
    for i, n in enumerate([0, 1, 4095, 65536, 300_000, 1 << 20, 3 << 20]):
        p = tmp_path / f"file {i}.bin"
        p.write_bytes(rng.randbytes(n))
        out.append(p)
    for i in range(150):
        p = tmp_path / f"small{i}"
        p.write_bytes(rng.randbytes(rng.randrange(0, 70000)))
        out.append(p)
    return out


@pytest.mark.parametrize("name", ["sha256", "md5", "sha3_256", "xxh3_64",
                                  "xxh32"])
def test_hash_file_and_files(name, files):
    xxhash = pytest.importorskip("xxhash")

    def ref(p):
        data = p.read_bytes()
        if name.startswith("xxh"):
            return getattr(xxhash, name)(data).digest()
        return hashlib.new(name, data).digest()

    want = [ref(p) for p in files]
    assert [fastconc.hash_file(name, p) for p in files] == want
    assert fastconc.hash_file(name, str(files[3])) == want[3]
    assert fastconc.hash_file(name, os.fsencode(files[3])) == want[3]
    for threads in [None, 1, 2, 5]:
        assert fastconc.hash_files(name, files, threads=threads) == want
    assert fastconc.hash_files(name, map(str, files)) == want
    assert fastconc.hash_files(name, files, progress=True) == want
    assert fastconc.hash_files(name, []) == []


def test_executors(files):
    want = [hashlib.sha256(p.read_bytes()).digest() for p in files]
    with ThreadPoolExecutor(3) as ex:
        assert fastconc.hash_files("sha256", files, executor=ex) == want
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=spawn) as ex:
        assert fastconc.hash_files("sha256", [str(p) for p in files],
                                   executor=ex) == want
    with pytest.raises(TypeError):
        fastconc.hash_files("sha256", files, executor=object())


def test_missing_and_unreadable(tmp_path, files):
    missing = tmp_path / "does not exist"
    with pytest.raises(FileNotFoundError) as ei:
        fastconc.hash_file("sha256", missing)
    assert ei.value.filename == str(missing)
    assert ei.value.errno == errno.ENOENT
    with pytest.raises(FileNotFoundError) as ei:
        fastconc.hash_files("sha256", files[:5] + [missing] + files[5:])
    assert ei.value.filename == str(missing)
    with pytest.raises(IsADirectoryError) as ei:
        fastconc.hash_file("sha256", tmp_path)
    assert ei.value.filename == str(tmp_path)
    with pytest.raises(IsADirectoryError):
        fastconc.hash_files("sha256", [files[0], tmp_path])
    with ThreadPoolExecutor(2) as ex, pytest.raises(FileNotFoundError):
        fastconc.hash_files("sha256", files + [missing], executor=ex)
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.write_bytes(b"x")
        locked.chmod(0)
        with pytest.raises(PermissionError):
            fastconc.hash_file("sha256", locked)


def test_pathlike_and_bad_types(files):
    class P:
        def __fspath__(self):
            return str(files[2])

    assert fastconc.hash_file("sha1", P()) == \
        hashlib.sha1(files[2].read_bytes()).digest()
    with pytest.raises(TypeError):
        fastconc.hash_file("sha1", 3)
    with pytest.raises(TypeError):
        fastconc.hash_files("sha1", str(files[0]))
    with pytest.raises(TypeError):
        fastconc.hash_files("sha1", [files[0], 3])
    with pytest.raises(ValueError, match="available"):
        fastconc.hash_files("nope", files)
    with pytest.raises(ValueError):
        fastconc.hash_file("sha1", "a\0b")


def test_special_file_reads_to_eof(tmp_path):
    r, w = os.pipe()
    os.write(w, b"hello")
    os.close(w)
    try:
        path = pathlib.Path(f"/proc/self/fd/{r}")
        if not path.exists():
            pytest.skip("no /proc")
        assert fastconc.hash_file("sha256", path) == \
            hashlib.sha256(b"hello").digest()
    finally:
        os.close(r)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("call", [
    "fastconc.hash_file('sha256', '/dev/zero')",
    "fastconc.hash_files('sha256', ['/dev/zero'])",
    "fastconc.hash_files('xxh3_64', [__file__] * 50 + ['/dev/zero'] * 3, threads=2)",
])
def test_ctrl_c_on_endless_file(call, ctrl_c):
    # /dev/zero never ends: only Ctrl-C stops the call, promptly and with
    # KeyboardInterrupt, and the pool still works afterwards.
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    ctrl_c(call, timeout=50, max_latency=5, after="""
        import hashlib
        assert fastconc.hash_files("sha256", [__file__], threads=2) == \\
            [hashlib.sha256(open(__file__, "rb").read()).digest()]
    """)


def test_file_larger_than_a_round(tmp_path, rng):
    # A group reads at most 32 MiB per round, then resumes its open file in
    # the next round: the digest must not notice.
    big = tmp_path / "big"
    big.write_bytes(os.urandom((40 << 20) + 7))
    small = [tmp_path / f"s{i}" for i in range(5)]
    for p in small:
        p.write_bytes(rng.randbytes(1000))
    paths = [small[0], big, *small[1:], big]
    want = [hashlib.sha256(p.read_bytes()).digest() for p in paths]
    for threads in (1, 2, 3):
        assert fastconc.hash_files("sha256", paths, threads=threads) == want
    assert fastconc.hash_file("sha256", big) == want[1]


@pytest.mark.timeout(60)
def test_ctrl_c_while_opening_a_fifo(tmp_path, ctrl_c):
    # open() of a FIFO without a writer blocks; Ctrl-C must still work.
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    ctrl_c(f"fastconc.hash_file('sha256', {str(fifo)!r})", timeout=50)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("call", [
    "fastconc.hash_files('sha256', [fifo])",
    "fastconc.hash_files('sha256', [fifo], threads=2)",
    "fastconc.hash_files('sha256', [__file__] * 20 + [fifo] * 3, threads=2)",
    "fastconc.hash_files('blake3', [fifo], executor=ex)",
])
def test_ctrl_c_hash_files_on_a_fifo(call, tmp_path, ctrl_c):
    # Issue 24.1: a pool thread blocked in open() of a FIFO without a
    # writer kept the call (and Ctrl-C) waiting for ever.  Now it must end
    # with KeyboardInterrupt, leave nothing running, and the pool works.
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    ctrl_c(call, timeout=50, check_idle=True, max_latency=2, setup=f"""
        import concurrent.futures
        fifo = {str(fifo)!r}
        ex = concurrent.futures.ThreadPoolExecutor(1)
        """, after="""
        import hashlib
        assert fastconc.hash_files("sha256", [__file__], threads=2) == \\
            [hashlib.sha256(open(__file__, "rb").read()).digest()]
        """)


@pytest.mark.timeout(60)
def test_ctrl_c_cli_hash_on_a_fifo(tmp_path):
    # `fastconc hash FIFO` ignored SIGINT for 10 minutes (issue 24.1).
    import signal
    import subprocess
    import sys
    import time
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    proc = subprocess.Popen([sys.executable, "-m", "fastconc", "hash",
                             str(fifo)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=ROOT,
                            env=dict(os.environ, PYTHONPATH=ROOT))
    time.sleep(1.5)     # the interpreter starts, then blocks on the FIFO
    assert proc.poll() is None, proc.communicate()
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode != 0
    assert time.monotonic() - t0 < 20
    assert b"KeyboardInterrupt" in err or proc.returncode in (130, -2), err


@pytest.mark.parametrize("threads", [1, 2])
def test_fifo_with_a_writer(tmp_path, threads):
    # Through the pool a FIFO is read non-blocking and polled: a writer that
    # connects late, writes in pieces and closes gives the right digest.
    import threading
    import time
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    data = os.urandom(1 << 20)

    def writer():
        time.sleep(0.2)
        with open(fifo, "wb", buffering=0) as f:
            for i in range(0, len(data), 100_000):
                f.write(data[i:i + 100_000])
                time.sleep(0.01)

    t = threading.Thread(target=writer)
    t.start()
    got = fastconc.hash_files("sha256", [__file__, fifo], threads=threads)
    t.join()
    assert got[1] == hashlib.sha256(data).digest()


@pytest.mark.parametrize("name", ["sha256", "xxh3_128", "blake3"])
def test_hash_file_takes_a_file_object(name, tmp_path, rng):
    # as hashlib.file_digest: readinto() to the end, or a BytesIO whole
    import io
    data = rng.randbytes(3_000_017)
    p = tmp_path / "f"
    p.write_bytes(data)
    want = fastconc.digest(name, data)
    assert fastconc.hash_file(name, io.BytesIO(data)) == want
    with open(p, "rb") as f:
        assert fastconc.hash_file(name, f) == want
        assert f.read() == b""      # read to its end
    with open(p, "rb", buffering=0) as f:
        f.read(17)
        assert fastconc.hash_file(name, f) == fastconc.digest(name, data[17:])
    if name == "blake3":
        with open(p, "rb") as f:
            assert fastconc.hash_file(name, f, threads=2) == want
    if sys.version_info >= (3, 11):
        with open(p, "rb") as f:
            ctor = getattr(fastconc, name)
            assert hashlib.file_digest(f, ctor).digest() == want


def test_hash_file_object_errors(tmp_path):
    import io
    with pytest.raises(ValueError, match="binary reading mode"):
        fastconc.hash_file("sha256", io.StringIO("text"))
    with open(tmp_path / "w", "wb") as f:
        with pytest.raises(ValueError, match="binary reading mode"):
            fastconc.hash_file("sha256", f)
    with pytest.raises(TypeError):
        fastconc.hash_file("sha256", 12)

    class Broken(io.RawIOBase):
        def readable(self):
            return True

        def readinto(self, b):
            raise OSError(5, "device on fire")

    with pytest.raises(OSError, match="on fire"):
        fastconc.hash_file("sha256", Broken())


@pytest.mark.parametrize("use_executor", [False, True])
def test_hash_files_errors_return(tmp_path, use_executor):
    import concurrent.futures
    good = tmp_path / "good"
    good.write_bytes(b"abc")
    paths = [good, tmp_path / "missing", tmp_path, good]
    with pytest.raises(FileNotFoundError):
        fastconc.hash_files("sha256", paths)
    with concurrent.futures.ThreadPoolExecutor(2) as ex:
        got = fastconc.hash_files("sha256", paths, errors="return",
                                  executor=ex if use_executor else None)
    want = hashlib.sha256(b"abc").digest()
    assert got[0] == got[3] == want
    assert isinstance(got[1], FileNotFoundError)
    assert got[1].filename == str(paths[1])
    assert isinstance(got[2], IsADirectoryError)
    assert fastconc.hash_files("sha256", [good], errors="raise") == [want]
    with pytest.raises(ValueError, match="errors"):
        fastconc.hash_files("sha256", [good], errors="ignore")
