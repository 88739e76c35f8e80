"""fastconc.distributed on a real LocalCluster (2 worker processes on
loopback, started and closed here)."""
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import textwrap
import threading
import time

import pytest

import fastconc

distributed = pytest.importorskip("distributed")
fcd = pytest.importorskip("fastconc.distributed")

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1,
            host="127.0.0.1", dashboard_address=None,
            silence_logs=40) as lc, distributed.Client(lc) as client:
        yield lc, client


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Real files of mixed sizes: stdlib sources, an interpreter library
    cut to several sizes, one empty file, names with spaces."""
    root = tmp_path_factory.mktemp("files")
    stdlib = sysconfig.get_paths()["stdlib"]
    paths = []
    for i, name in enumerate(sorted(os.listdir(stdlib))):
        if name.endswith(".py") and len(paths) < 40:
            dst = root / f"src {i}.py"
            shutil.copyfile(os.path.join(stdlib, name), dst)
            paths.append(str(dst))
    with open(sys.executable, "rb") as f:
        binary = f.read()
    for k, size in enumerate((1, 4096, 1 << 20, 3 << 20)):
        dst = root / f"bin{k}.dat"
        dst.write_bytes((binary * (size // max(len(binary), 1) + 1))[:size])
        paths.append(str(dst))
    empty = root / "empty"
    empty.write_bytes(b"")
    paths.append(str(empty))
    return paths


def _sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).digest()


def test_hash_files_matches_local(cluster, files):
    _, client = cluster
    got = fcd.hash_files("sha256", files, client=client,
                         batch_bytes=1 << 20)
    assert got == [_sha256(p) for p in files]
    assert got == fastconc.hash_files("sha256", files)


def test_hash_files_missing_file_names_file_and_worker(cluster, files,
                                                       tmp_path):
    _, client = cluster
    missing = str(tmp_path / "no such file")
    with pytest.raises(FileNotFoundError) as info:
        fcd.hash_files("sha256", files[:3] + [missing], client=client)
    assert info.value.filename == missing
    assert "worker" in str(info.value)


def test_unknown_algorithm(cluster, files):
    _, client = cluster
    with pytest.raises(ValueError, match="sha256"):
        fcd.hash_files("nope", files, client=client)


@pytest.mark.parametrize("codec", ["gzip", "zstd", "lz4"])
def test_compress_then_decompress_files(cluster, files, tmp_path, codec):
    _, client = cluster
    work = tmp_path / "w"
    work.mkdir()
    src = []
    for p in files:
        dst = work / os.path.basename(p)
        shutil.copyfile(p, dst)
        src.append(str(dst))
    originals = {p: open(p, "rb").read() for p in src}
    outs = fcd.compress_files(src, codec, client=client,
                              batch_bytes=2 << 20)
    assert outs == [p + fcd.SUFFIXES[codec] for p in src]
    for p, out in zip(src, outs):
        with open(out, "rb") as f:
            assert fastconc.decompress(f.read()) == originals[p]
        assert os.path.exists(p)        # inputs kept by default
        os.unlink(p)
    back = fcd.decompress_files(outs, client=client)
    assert back == src
    for p, out in zip(src, outs):
        with open(p, "rb") as f:
            assert f.read() == originals[p]
        assert os.path.exists(out)


def test_killed_worker_batches_are_rerun(cluster, files, tmp_path):
    lc, client = cluster
    # Enough small batches that the run is still going when a worker dies.
    many = files * 6
    expected = [_sha256(p) for p in many]
    pids = client.run(os.getpid)
    victim = sorted(pids.values())[0]
    result = {}

    def run():
        result["v"] = fcd.hash_files("sha256", many, client=client,
                                     batch_bytes=1)

    t = threading.Thread(target=run)
    t.start()
    time.sleep(0.2)
    os.kill(victim, signal.SIGKILL)
    t.join(240)
    assert not t.is_alive()
    assert result["v"] == expected
    client.wait_for_workers(2, timeout=120)


def _copies(files, where):
    where.mkdir()
    out = []
    for p in files[:12]:
        dst = where / os.path.basename(p)
        shutil.copyfile(p, dst)
        out.append(str(dst))
    return out


def test_one_argument_convention(cluster, files, tmp_path):
    """client= by keyword everywhere (the current client by default);
    outputs never overwritten without force=True; inputs kept unless
    remove=True -- as the command line does."""
    _, client = cluster
    src = _copies(files, tmp_path / "w")
    # The client is a keyword only, and defaults to the current one.
    with pytest.raises(TypeError):
        fcd.hash_files("sha256", src, client)
    with pytest.raises(TypeError):
        fcd.compress_files(src, "zstd", None, client)
    with pytest.raises(TypeError):
        fcd.decompress_files(src, None, client)
    assert fcd.hash_files("sha256", src) == [_sha256(p) for p in src]

    # An existing output is refused before any work, and left as it was.
    taken = src[3] + ".zst"
    with open(taken, "wb") as f:
        f.write(b"mine")
    with pytest.raises(FileExistsError) as info:
        fcd.compress_files(src, "zstd", client=client)
    assert info.value.filename == taken and "force=True" in str(info.value)
    assert not os.path.exists(src[0] + ".zst")
    with open(taken, "rb") as f:
        assert f.read() == b"mine"
    outs = fcd.compress_files(src, "zstd", client=client, force=True)
    with open(taken, "rb") as f:
        assert fastconc.decompress(f.read()) == open(src[3], "rb").read()
    assert all(os.path.exists(p) for p in src)          # kept

    # Decompressing onto the existing inputs is refused the same way.
    originals = {p: open(p, "rb").read() for p in src}
    with pytest.raises(FileExistsError):
        fcd.decompress_files(outs, client=client)
    # remove=True: outputs replace inputs once complete.
    for p in src:
        os.unlink(p)
    back = fcd.decompress_files(outs, client=client, remove=True)
    assert back == src
    assert not any(os.path.exists(o) for o in outs)
    for p in src:
        assert open(p, "rb").read() == originals[p]
    outs = fcd.compress_files(src, "gzip", 6, client=client, remove=True)
    assert not any(os.path.exists(p) for p in src)
    assert [fastconc.decompress(open(o, "rb").read()) for o in outs] == \
        [originals[p] for p in src]


def test_argument_errors(cluster, files, tmp_path):
    _, client = cluster
    src = _copies(files, tmp_path / "a")
    for bad in ("zstd\x00junk", "nope"):
        with pytest.raises(ValueError):
            fcd.compress_files(src, bad, client=client)
        with pytest.raises(ValueError):
            fcd.decompress_files([p + ".zst" for p in src], bad,
                                 client=client)
    with pytest.raises(TypeError):
        fcd.compress_files(src, None, client=client)
    with pytest.raises(ValueError, match="suffix"):
        fcd.compress_files(src, "zstd", client=client, suffix="")
    with pytest.raises(ValueError, match="both"):
        fcd.decompress_files([str(tmp_path / "x.gz"),
                              str(tmp_path / "x.zst")], client=client)
    with pytest.raises(ValueError, match="batch_bytes"):
        fcd.hash_files("sha256", src, client=client, batch_bytes=0)


def test_output_that_appears_during_the_run_is_not_replaced(tmp_path):
    # The worker's side, run here: the output appears after the check.
    src = tmp_path / "in"
    src.write_bytes(b"data" * 1000)
    dst = tmp_path / "in.zst"
    dst.write_bytes(b"someone else's")
    with pytest.raises(FileExistsError):
        fcd._compress_one(str(src), str(dst), "zstd", None, False, True)
    assert dst.read_bytes() == b"someone else's"
    assert src.exists()                 # not removed: nothing was written
    assert sorted(os.listdir(tmp_path)) == ["in", "in.zst"]   # no tmp left
    fcd._compress_one(str(src), str(dst), "zstd", None, True, False)
    assert fastconc.decompress(dst.read_bytes()) == b"data" * 1000


def test_executor_helpers_accept_dask_executor(cluster, files):
    _, client = cluster
    with client.get_executor() as ex:
        got = fastconc.hash_files("sha256", files, executor=ex)
    assert got == [_sha256(p) for p in files]


def test_import_without_dask_says_which_extra():
    code = textwrap.dedent("""
        import sys
        sys.modules["distributed"] = None      # as if not installed
        import fastconc
        assert fastconc.crc32(b"123456789") == 0xCBF43926
        try:
            import fastconc.distributed
        except ImportError as exc:
            assert "fastconc[distributed]" in str(exc), exc
            print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, timeout=60)
    assert out.stdout.strip() == "ok", out.stderr


@pytest.mark.slow
def test_bench_distributed_reports_both_cluster_sizes(tmp_path):
    out_json = tmp_path / "d.json"
    out = subprocess.run(
        [sys.executable, "-m", "fastconc", "bench", "--distributed", "2",
         "--size", "8M", "--repeat", "2", "--json", str(out_json)],
        capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr
    assert "| 1 |" in out.stdout and "| 2 |" in out.stdout
    import json
    rows = json.loads(out_json.read_text())["distributed"]["rows"]
    assert [r["workers"] for r in rows] == [1, 2]
    assert all(r["hash_seconds"] > 0 and r["compress_seconds"] > 0
               for r in rows)
