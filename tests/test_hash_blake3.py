"""BLAKE3 through the hashing API: algorithms_available, new, digest,
hash_many, hash_file (one file on several threads), hash_files (pool and
executor), and ``fastconc hash -a blake3`` against the b3sum tool.  Every
digest is checked against the blake3 package from PyPI (the reference
implementation's bindings) and against fastconc.blake3."""
import os
import pathlib
import shutil
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import fastconc

blake3_ref = pytest.importorskip("blake3").blake3

ROOT = pathlib.Path(fastconc.__file__).resolve().parent.parent
THREADS = [None, 1, 2, 3, 4]
# Around block (64) and chunk (1024) boundaries, subtree sizes, the 1 MiB
# where threads=None goes parallel, and a few MiB.
SIZES = [0, 1, 63, 64, 65, 1023, 1024, 1025, 2048, 2049, 16 * 1024 + 1,
         100_000, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 << 20]


def ref(data):
    return blake3_ref(data).digest()


@pytest.fixture(scope="module")
def blobs():
    rnd = __import__("random").Random(31337)
    return [rnd.randbytes(n) for n in SIZES]


def test_available_and_names():
    assert "blake3" in fastconc.algorithms_available
    assert "blake3" in fastconc._core.algorithms_available
    h = fastconc.new("blake3")
    assert h.name == "blake3"
    assert h.digest_size == 32
    assert h.block_size == 64
    assert h.digest() == ref(b"")
    assert fastconc.new("BLAKE3", b"abc").digest() == ref(b"abc")


def test_seed_is_refused():
    for call in (lambda: fastconc.new("blake3", b"x", seed=1),
                 lambda: fastconc.digest("blake3", b"x", seed=1),
                 lambda: fastconc.hash_many("blake3", [b"x"], seed=1)):
        with pytest.raises(TypeError, match="blake3 does not take a seed"):
            call()


def test_unknown_name_lists_blake3():
    with pytest.raises(ValueError, match="blake3"):
        fastconc.digest("blake4", b"")


@pytest.mark.timeout(120)
def test_digest_and_new(blobs, simd_level):
    for data in blobs:
        want = ref(data)
        assert fastconc.blake3(data).digest() == want
        assert fastconc.digest("blake3", data) == want
        assert fastconc.digest("blake3", data, release_gil=False) == want
        assert fastconc.digest("blake3", memoryview(bytearray(data))) == want
        h = fastconc.new("blake3", data)
        assert h.digest() == want
        assert h.hexdigest() == blake3_ref(data).hexdigest()
        h2 = fastconc.new("blake3")
        h2.update(data[:len(data) // 3])
        h3 = h2.copy()
        h3.update(data[len(data) // 3:])
        assert h3.digest() == want


@pytest.mark.timeout(120)
def test_digest_large_goes_through_tasks():
    # Past the 16 MiB one-shot limit: subtree tasks, with and without GIL.
    data = os.urandom((17 << 20) + 12345)
    want = ref(data)
    assert fastconc.digest("blake3", data) == want
    assert fastconc.digest("blake3", data, release_gil=False) == want


@pytest.mark.timeout(180)
@pytest.mark.parametrize("threads", THREADS)
def test_hash_many(blobs, threads, rng):
    items = list(blobs)
    rng.shuffle(items)
    items += [rng.randbytes(rng.randrange(0, 5000)) for _ in range(200)]
    items.append(bytearray(b"mutable"))
    items.append(memoryview(b"0123456789abcdef")[3:11])
    want = [ref(bytes(x)) for x in items]
    assert fastconc.hash_many("blake3", items, threads=threads) == want
    assert [fastconc.blake3(x).digest() for x in items] == want


def test_hash_many_every_simd_level(blobs, simd_level):
    assert fastconc.hash_many("blake3", blobs, threads=2) == \
        [ref(x) for x in blobs]


@pytest.fixture(scope="module")
def files(tmp_path_factory, blobs):
    d = tmp_path_factory.mktemp("b3files")
    paths = []
    for i, data in enumerate(blobs):
        p = d / f"f{i}"
        p.write_bytes(data)
        paths.append(p)
    big = d / "big"
    # Several read slices for every threads= value, and an odd length.
    big.write_bytes(os.urandom((40 << 20) + 777))
    return paths, big


@pytest.mark.timeout(180)
@pytest.mark.parametrize("threads", THREADS)
def test_hash_file(files, blobs, threads):
    paths, big = files
    for p, data in zip(paths, blobs):
        assert fastconc.hash_file("blake3", p, threads=threads) == ref(data)
    assert fastconc.hash_file("blake3", str(big), threads=threads) == \
        ref(big.read_bytes())


@pytest.mark.timeout(180)
@pytest.mark.parametrize("size", [(4 << 20) - 1, 4 << 20, (4 << 20) + 1,
                                  16 << 20, (16 << 20) + 1,
                                  (48 << 20) + 1023])
def test_hash_file_slice_edges(tmp_path, size):
    # Read slices are 4 MiB (threads <= 2) or threads * 2 MiB, read ahead
    # in 1 MiB pieces: exact multiples, one byte either side.
    data = os.urandom(size)
    p = tmp_path / "f"
    p.write_bytes(data)
    want = ref(data)
    for threads in (2, 3, 8):
        assert fastconc.hash_file("blake3", p, threads=threads) == want


def test_hash_file_parallel_every_simd_level(files, simd_level):
    _, big = files
    assert fastconc.hash_file("blake3", big, threads=3) == \
        ref(big.read_bytes())


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
@pytest.mark.timeout(60)
def test_hash_file_pipe_threads(tmp_path):
    # A FIFO has no size: threads=4 still splits what is read.
    data = os.urandom((5 << 20) + 3)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    def writer():
        with open(fifo, "wb") as f:
            f.write(data)

    t = threading.Thread(target=writer)
    t.start()
    try:
        assert fastconc.hash_file("blake3", fifo, threads=4) == ref(data)
    finally:
        t.join()


def test_hash_file_errors(tmp_path, files):
    with pytest.raises(FileNotFoundError) as ei:
        fastconc.hash_file("blake3", tmp_path / "missing", threads=4)
    assert ei.value.filename == str(tmp_path / "missing")
    with pytest.raises(IsADirectoryError):
        fastconc.hash_file("blake3", tmp_path, threads=2)
    # A sequential hash cannot split one file: refused, not ignored.
    with pytest.raises(ValueError, match="sequential"):
        fastconc.hash_file("sha256", files[1], threads=2)
    assert fastconc.hash_file("sha256", files[1], threads=1) == \
        __import__("hashlib").sha256(files[1].read_bytes()).digest()
    with pytest.raises(ValueError):
        fastconc.hash_file("blake3", files[1], threads=0)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.timeout(60)
def test_hash_file_parallel_interrupt(tmp_path, ctrl_c):
    # Ctrl-C during a parallel hash_file raises KeyboardInterrupt promptly
    # and leaves the module usable.
    big = tmp_path / "big"
    big.write_bytes(b"\x5a" * (64 << 20))
    ctrl_c("""
               for _ in range(50):
                   fastconc.hash_file("blake3", big, threads=2)
           """, delay=0.2, timeout=50, setup=f"""
               big = {str(big)!r}
               old = fastconc._core._get_simd_level()
               fastconc._core._set_simd_level("portable")
           """, after=f"""
               fastconc._core._set_simd_level(old)
               assert fastconc.hash_file("blake3", big, threads=2) == \\
                   {ref(big.read_bytes())!r}
           """)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("threads", THREADS)
def test_hash_files(files, blobs, threads):
    paths, big = files
    allp = paths + [big]
    want = [ref(x) for x in blobs] + [ref(big.read_bytes())]
    assert fastconc.hash_files("blake3", allp, threads=threads) == want


@pytest.mark.timeout(180)
def test_hash_files_executor(files, blobs):
    paths, _ = files
    want = [ref(x) for x in blobs]
    many = paths * 20    # several batches of 64
    with ThreadPoolExecutor(3) as ex:
        assert fastconc.hash_files("blake3", many, executor=ex) == want * 20
    with fastconc.ThreadPoolExecutor(2) as ex:
        assert fastconc.hash_files("blake3", paths, executor=ex) == want


# --- the command line --------------------------------------------------------

def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def ours(args, cwd, stdin=b""):
    return subprocess.run([sys.executable, "-m", "fastconc", "hash", *args],
                          cwd=cwd, input=stdin, capture_output=True,
                          env=_env(), timeout=120, check=False)


def b3sum_format(names, cwd):
    """What b3sum 1.x prints: `<hex>  <name>`; a name with a backslash or
    newline escaped (\\\\, \\n) behind a leading backslash."""
    out = b""
    for n in names:
        hexd = blake3_ref((cwd / n).read_bytes()).hexdigest()
        if "\\" in n or "\n" in n:
            esc = n.replace("\\", "\\\\").replace("\n", "\\n")
            out += os.fsencode(f"\\{hexd}  {esc}\n")
        else:
            out += os.fsencode(f"{hexd}  {n}\n")
    return out


@pytest.fixture
def tree(tmp_path, rng):
    names = ["plain", "with space", " lead", "back\\slash", "new\nline",
             "cr\rname", "star*", "ünïcode", "empty", "big.bin"]
    for n in names:
        size = 0 if n == "empty" else 3 << 20 if n == "big.bin" else \
            rng.randrange(1, 100_000)
        (tmp_path / n).write_bytes(rng.randbytes(size))
    return tmp_path, names


@pytest.mark.timeout(300)
def test_cli_output(tree):
    cwd, names = tree
    want = b3sum_format(names, cwd)
    for extra in ([], ["-T", "1"], ["-T", "3"]):
        a = ours(["-a", "blake3", *extra, *names], cwd)
        assert a.returncode == 0, a.stderr
        assert a.stdout == want
    if shutil.which("b3sum"):
        b = subprocess.run(["b3sum", *names], cwd=cwd, capture_output=True,
                           timeout=120, check=False)
        assert b.returncode == 0
        assert a.stdout == b.stdout
    # standard input
    data = (cwd / "plain").read_bytes()
    a = ours(["-a", "blake3"], cwd, stdin=data)
    assert a.stdout == f"{blake3_ref(data).hexdigest()}  -\n".encode()


@pytest.mark.timeout(300)
def test_cli_check(tree):
    cwd, names = tree
    (cwd / "sums").write_bytes(b3sum_format(names, cwd))
    a = ours(["-a", "blake3", "-c", "sums"], cwd)
    assert a.returncode == 0, a.stderr
    assert a.stdout.count(b": OK\n") == len(names)
    assert b"\\back\\\\slash: OK\n" in a.stdout    # escaped as b3sum does
    # Tamper with one file: FAILED for it, exit status 1.
    (cwd / "plain").write_bytes(b"changed")
    a = ours(["-a", "blake3", "-c", "sums"], cwd)
    assert a.returncode == 1
    assert b"plain: FAILED\n" in a.stdout
    assert b"did NOT match" in a.stderr
    if shutil.which("b3sum"):
        b = subprocess.run(["b3sum", "-c", "sums"], cwd=cwd,
                           capture_output=True, timeout=120, check=False)
        assert b.returncode == 1
        # Per-file lines agree with b3sum's (names escaped the same way).
        assert sorted(a.stdout.splitlines()) == sorted(b.stdout.splitlines())
        # And b3sum checks our listing.
        (cwd / "ours").write_bytes(ours(["-a", "blake3", *names],
                                        cwd).stdout)
        b = subprocess.run(["b3sum", "-c", "ours"], cwd=cwd,
                           capture_output=True, timeout=120, check=False)
        assert b.returncode == 0, b.stderr
    # A missing file: FAILED open or read, exit status 1.
    (cwd / "empty").unlink()
    a = ours(["-a", "blake3", "-c", "sums"], cwd)
    assert a.returncode == 1
    assert b"empty: FAILED open or read\n" in a.stdout


def test_cli_lists_blake3(tmp_path):
    a = ours(["--help"], tmp_path)
    assert b"blake3" in a.stdout
