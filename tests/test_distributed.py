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
    got = fcd.hash_files("sha256", files, client, batch_bytes=1 << 20)
    assert got == [_sha256(p) for p in files]
    assert got == fastconc.hash_files("sha256", files)


def test_hash_files_missing_file_names_file_and_worker(cluster, files,
                                                       tmp_path):
    _, client = cluster
    missing = str(tmp_path / "no such file")
    with pytest.raises(FileNotFoundError) as info:
        fcd.hash_files("sha256", files[:3] + [missing], client)
    assert info.value.filename == missing
    assert "worker" in str(info.value)


def test_unknown_algorithm(cluster, files):
    _, client = cluster
    with pytest.raises(ValueError, match="sha256"):
        fcd.hash_files("nope", files, client)


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
    outs = fcd.compress_files(src, codec, None, client,
                              batch_bytes=2 << 20)
    assert outs == [p + fcd.SUFFIXES[codec] for p in src]
    for p, out in zip(src, outs):
        with open(out, "rb") as f:
            assert fastconc.decompress(f.read()) == originals[p]
        os.unlink(p)
    back = fcd.decompress_files(outs, client)
    assert back == src
    for p in src:
        with open(p, "rb") as f:
            assert f.read() == originals[p]


def test_killed_worker_batches_are_rerun(cluster, files, tmp_path):
    lc, client = cluster
    # Enough small batches that the run is still going when a worker dies.
    many = files * 6
    expected = [_sha256(p) for p in many]
    pids = client.run(os.getpid)
    victim = sorted(pids.values())[0]
    result = {}

    def run():
        result["v"] = fcd.hash_files("sha256", many, client, batch_bytes=1)

    t = threading.Thread(target=run)
    t.start()
    time.sleep(0.2)
    os.kill(victim, signal.SIGKILL)
    t.join(240)
    assert not t.is_alive()
    assert result["v"] == expected
    client.wait_for_workers(2, timeout=120)


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
