"""hash_file()/hash_files(): equal to hashlib over the file contents, in
parallel, on executors, and the usual OSError naming the file."""
import errno
import hashlib
import multiprocessing
import os
import pathlib
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest

import fastconc


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
