"""The benchmark command: it runs, its JSON is complete, its plot is a PNG,
and piped output is plain text.  The full ``--quick`` run is marked
``bench`` (deselect with ``-m 'not bench'``); the pieces are tested fast."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zlib

import pytest

import fastconc
from fastconc.bench import corpus, kernels, timing

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _run_bench(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep
               + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "fastconc", "bench", *args],
                          cwd=ROOT, env=env, capture_output=True,
                          timeout=timeout)


def _check_gil_rows(data: dict, names: list[str]) -> None:
    rows = data["gil_table"]
    built = {k.name for k in kernels.all_kernels() if k.fastconc.fn is not None}
    for name in names:
        if name not in built:
            continue
        for gil in ("held", "released"):
            mine = [r for r in rows if r["kernel"] == name
                    and r["impl"] == "fastconc" and r["gil"] == gil]
            assert len(mine) == 1, (name, gil)
            row = mine[0]
            for t in data["config"]["thread_counts"]:
                samples = row["threads"][str(t)]["samples"]
                assert len(samples) == data["config"]["repeat"]
                assert all(s > 0 for s in samples)
                assert row["throughput"][str(t)] > 0


@pytest.mark.bench
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_bench_quick_json_plot(tmp_path):
    pytest.importorskip("matplotlib")
    out_json = tmp_path / "bench.json"
    out_png = tmp_path / "bench.png"
    # Two repeats of 4 MiB: every section and quick kernel, in about 30 s
    # instead of the two minutes of the default --quick run.
    proc = _run_bench("--quick", "--repeat", "2", "--size", "4M",
                      "--json", str(out_json), "--plot", str(out_png))
    assert proc.returncode == 0, proc.stderr.decode()
    stdout = proc.stdout.decode()
    # piped: plain Markdown, no progress bar or colour escape codes
    assert "\x1b" not in stdout and "\r" not in stdout
    assert "| kernel | implementation | GIL |" in stdout
    data = json.loads(out_json.read_text())
    assert data["machine"]["python"] == sys.version.split()[0]
    _check_gil_rows(data, [k.name for k in kernels.all_kernels() if k.quick])
    for section in ("large", "small_items", "executor", "countdown",
                    "freethreading", "convoy", "memory"):
        assert data[section], section
    png = out_png.read_bytes()
    assert png.startswith(PNG_MAGIC) and b"IEND" in png[-16:]
    assert len(png) < 150_000


@pytest.mark.timeout(300)
def test_bench_only_checksums(tmp_path):
    """A short run of two kernels: same checks, no plot library needed."""
    out_json = tmp_path / "b.json"
    proc = _run_bench("--quick", "--only", "crc32,adler32,convoy",
                      "--repeat", "2", "--size", "4M", "--json", str(out_json))
    assert proc.returncode == 0, proc.stderr.decode()
    assert "\x1b" not in proc.stdout.decode()
    data = json.loads(out_json.read_text())
    assert {r["kernel"] for r in data["gil_table"]} == {"crc32", "adler32"}
    _check_gil_rows(data, ["crc32", "adler32"])
    # the native control beside the table, before and after it
    try:
        import numpy  # noqa: F401
    except ImportError:
        pass
    else:
        ctl = data["gil_control"]
        assert set(ctl) == {"before", "after"}
        for res in ctl.values():
            assert set(res) == {"vector/1", "vector/2", "scalar/1",
                                "scalar/2"}
            assert all(len(v["samples"]) == 2 for v in res.values())
        assert "What this machine gave 2 threads" in proc.stdout.decode()
    # the stdlib peer sits in the same table, with its own speed-up
    assert any(r["impl"] == "zlib.crc32" and r["speedup"]["2"] > 0
               for r in data["gil_table"])
    cv = data["convoy"]
    assert cv["switch_interval"] == pytest.approx(sys.getswitchinterval())
    assert cv["held"]["call_seconds"] > 0 and cv["released"]["runs"]


def test_freethreading_section_rows():
    """The pure-Python-on-threads table: every row at 1 and 2 threads, and
    the interpreter named as it is (free-threaded or not, GIL on or off)."""
    import sysconfig

    from fastconc.bench import freethreading

    res = freethreading.run(20_000, 3000, 300, 2, 1)
    it = res["interpreter"]
    assert it["free_threaded"] == bool(
        sysconfig.get_config_var("Py_GIL_DISABLED"))
    assert it["gil_enabled"] == getattr(sys, "_is_gil_enabled",
                                        lambda: True)()
    assert ("GIL disabled" in it["label"]) == (it["free_threaded"]
                                               and not it["gil_enabled"])
    rows = {r["impl"]: r for r in res["rows"]}
    assert set(rows) == {"Python countdown", "plain loop",
                         "fastconc.parallel_map",
                         "fastconc.ThreadPoolExecutor.map",
                         "stdlib ThreadPoolExecutor.map"}
    assert rows["stdlib ThreadPoolExecutor.map"]["items"] == 300
    for name, r in rows.items():
        assert r["per_item_one"] > 0
        if name == "plain loop":
            assert r["speedup"] is None
        else:
            assert r["per_item_many"] > 0 and r["speedup"] > 0
    text = freethreading.markdown(res)
    assert "speed-up 2 threads vs 1" in text and "parallel_map" in text


def test_bench_rejects_unknown_kernel():
    proc = _run_bench("--only", "nosuchkernel")
    assert proc.returncode == 2
    assert b"crc32" in proc.stderr  # the valid names are listed


def test_corpus_is_real_and_not_repeated():
    data, info = corpus.build_corpus(8 << 20)
    assert len(data) == 8 << 20
    assert info["bytes_by_kind"]["python sources"] > 0
    assert info["bytes_by_kind"]["binaries"] > 0
    # a repeated string would compress to almost nothing
    ratio = len(zlib.compress(data, 1)) / len(data)
    assert 0.1 < ratio < 0.9
    # no 1 MiB chunk equals another
    pieces = corpus.chunks(data, 1 << 20)
    assert len(set(pieces)) == len(pieces)


def test_interleaved_order_and_samples():
    order = []
    res = timing.interleaved({"a": lambda: order.append("a"),
                              "b": lambda: order.append("b")}, 5)
    assert order == ["a", "b", "b", "a", "a", "b", "b", "a", "a", "b"]
    assert all(len(s.times) == 5 and s.best <= s.median
               for s in res.values())


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 6])
def test_rotated_order_puts_each_after_every_other(k):
    names = [chr(97 + i) for i in range(k)]
    nrows = k if k % 2 == 0 else 2 * k
    order = list(timing.rotated(names, nrows))
    rounds = [order[i:i + k] for i in range(0, len(order), k)]
    assert len(rounds) == nrows
    assert all(sorted(r) == names for r in rounds)      # each once a round
    pairs = {p for r in rounds for p in zip(r, r[1:])}
    assert pairs == {(x, y) for x in names for y in names if x != y}


def test_run_threads_runs_every_share():
    seen = []
    elapsed = timing.run_threads([lambda i=i: seen.append(i)
                                  for i in range(4)])
    assert sorted(seen) == [0, 1, 2, 3] and elapsed >= 0


def test_kernel_table_marks_missing_honestly():
    for k in kernels.all_kernels():
        assert k.fastconc.is_fastconc and k.fastconc.label == "fastconc"
        if k.fastconc.fn is None:
            assert k.fastconc.note == "not built"
        for p in k.peers:
            assert p.kind in ("stdlib", "peer")
            if not p.single and p.threads_fn is None:
                assert p.note == "not installed"
    names = [k.name for k in kernels.all_kernels()]
    assert {"crc32", "crc32c", "adler32", "sha256", "xxh3_64",
            "zstd-3 compress", "gzip-6 compress"} <= set(names)
    assert [k.name for k in kernels.select(kernels.all_kernels(), "zstd")] == [
        "zstd-3 compress", "zstd decompress"]


def test_checksum_kernels_agree_with_peers():
    """The kernels compute what their peers compute (so the race is fair)."""
    data = os.urandom(1 << 16)
    for k in kernels.all_kernels():
        if k.family != "checksum" or k.fastconc.fn is None:
            continue
        want = k.fastconc.fn(data, True, 1)
        assert k.fastconc.fn(data, False, 1) == want
        for p in k.peers:
            if p.single:
                assert p.call(len(data))(data) == want, (k.name, p.label)


def test_decompression_rows_all_decode_the_chunk():
    """Every decompression row, fastconc's and each installed peer's, in the
    GIL table (1 MiB chunks) and the large-buffer table (more than 1 MiB:
    a decoder told the output size up front, such as libdeflate's, must be
    told the right one), gives back the data its input was made from."""
    from fastconc.bench import gil_table, large

    raw = corpus.build_corpus(3 << 20)[0]
    chunk = raw[:gil_table.CHUNK]
    for k in kernels.all_kernels():
        if k.prepare is None:
            continue
        try:
            small, big = k.prepare(chunk), k.prepare(raw)
        except Exception:  # noqa: BLE001 - no compressor: the bench skips it
            continue
        rows, _ = gil_table.variants(k, gil_table.CHUNK)
        assert rows, k.name
        for v in rows:
            assert bytes(v.fn(small)) == chunk, (k.name, v.label, v.gil)
        skipped: list = []
        for c in large.contenders(k, big, 2, raw, len(raw), skipped):
            out = c.run()
            if isinstance(out, (bytes, bytearray, memoryview)):
                assert bytes(out) == raw, (k.name, c.key)
        assert not skipped, skipped


def test_fastconc_has_checksums():
    assert callable(fastconc.crc32)


@pytest.mark.timeout(120)
def test_progress_bar_only_on_a_terminal():
    """On a terminal (stdout and stderr a tty) rich draws a bar."""
    pytest.importorskip("rich")
    pty = pytest.importorskip("pty")
    master, slave = pty.openpty()
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep
               + os.environ.get("PYTHONPATH", ""), TERM="xterm",
               COLUMNS="100")
    proc = subprocess.Popen(
        [sys.executable, "-m", "fastconc", "bench", "--quick", "--only",
         "crc32", "--repeat", "1", "--size", "2M"],
        cwd=ROOT, env=env, stdout=slave, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=60) == 0
    out = b"".join(chunks)
    assert b"| crc32 |" in out
    assert b"\x1b[" in out  # the bar's cursor and colour codes


@pytest.mark.timeout(120)
def test_plot_without_matplotlib_says_so(tmp_path):
    out_png = tmp_path / "p.png"
    code = ("import sys; sys.modules['matplotlib'] = None\n"
            "from fastconc.cli import main\n"
            "sys.exit(main(sys.argv[1:]))\n")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep
               + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(
        [sys.executable, "-c", code, "bench", "--quick", "--only", "crc32",
         "--repeat", "1", "--size", "2M", "--plot", str(out_png)],
        cwd=ROOT, env=env, capture_output=True, timeout=100)
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"matplotlib is not installed" in proc.stderr
    assert not out_png.exists()
    assert b"| crc32 |" in proc.stdout


def test_update_readme_rewrites_only_the_marked_section(tmp_path):
    from fastconc.bench import END, START, update_readme

    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{START}\nold table\n{END}\noutro\n")
    (tmp_path / "docs").mkdir()
    update_readme(str(readme), "# fastconc bench\n\n## The GIL table\n\n| a |",
                  str(tmp_path / "docs" / "bench.png"))
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("\noutro\n")
    assert "old table" not in text
    assert "![held vs released, per kernel](docs/bench.png)" in text
    assert "#### The GIL table" in text and "| a |" in text


def test_gil_table_shares_are_alike(monkeypatch):
    """Every thread of a pass goes through the same chunks, and every pass
    of an implementation does the same total work, whatever the thread
    count: a thread dealt the harder chunks would understate the speed-up."""
    import threading
    from collections import Counter, defaultdict

    from fastconc.bench import gil_table

    seen: dict[tuple[int, int], list[int]] = defaultdict(list)
    released: dict[int, bool] = {}      # pass -> which implementation
    npass = [0]
    run_parked = timing.run_parked

    def fc(item, release_gil, threads):
        seen[npass[0], threading.get_ident()].append(item)
        released[npass[0]] = release_gil

    def counted(work):
        npass[0] += 1
        return run_parked(work)

    monkeypatch.setattr(timing, "run_parked", counted)
    k = kernels.Kernel(name="fake", family="checksum",
                       impls=[kernels.Impl("fastconc", "fastconc",
                                           "fastconc", fc)])
    inputs = list(range(10))
    rows, skipped = gil_table.measure_kernel(k, inputs, 1, [1, 2, 3], 1,
                                             1e-3)
    assert not skipped and [r["gil"] for r in rows] == ["held", "released"]
    seen.pop((0, threading.get_ident()))        # the calibration calls
    by_pass: dict[int, list[list[int]]] = defaultdict(list)
    for (p, _), items in seen.items():
        by_pass[p].append(items)
    assert sorted(by_pass) == list(range(1, 7))  # 2 impls x 3 counts
    # each implementation ran once at each thread count
    assert sorted((released[p], len(lists)) for p, lists in by_pass.items()) \
        == [(r, t) for r in (False, True) for t in (1, 2, 3)]
    for p, lists in by_pass.items():
        row = rows[released[p]]
        assert all(lst == lists[0] for lst in lists)      # alike shares
        total = Counter(x for lst in lists for x in lst)
        assert sum(total.values()) == row["calls"]        # same total
        assert len(set(total.values())) == 1     # each chunk as often
        # a checksum goes round a few cache-resident chunks, spread out
        assert 1 < len(total) <= gil_table.CACHED_CHUNKS
        assert max(total) >= len(inputs) // 2


def test_measure_is_the_one_runner():
    """measure(): interleaved rounds in the rotated() order, a failing
    warm-up skipped with its reason, self-timed samples and their records
    kept, and two contenders of one name refused."""
    order: list[str] = []
    skipped: list[dict[str, str]] = []

    def boom() -> None:
        raise RuntimeError("no such API")

    res = timing.measure([
        timing.Contender("a", lambda: order.append("a")),
        timing.Contender("x", boom, meta={"kernel": "k", "impl": "peer x"},
                         warm_up=True),
        timing.Contender("b", lambda: (order.append("b"), (2.5, "rec"))[1],
                         self_timed=True),
        timing.Contender("c", lambda: order.append("c"), warm_up=True),
    ], 4, skipped=skipped)
    assert list(res) == ["a", "b", "c"]
    assert order[:1] == ["c"]                   # c's warm-up call
    rounds = [order[1 + i:4 + i] for i in range(0, 12, 3)]
    assert rounds == [list(r) for r in zip(*[iter(
        timing.rotated(["a", "b", "c"], 4))] * 3)]
    assert res["b"].times == [2.5] * 4 and res["b"].records == ["rec"] * 4
    assert all(len(s.times) == 4 and s.best >= 0 for s in res.values())
    assert skipped == [{"kernel": "k", "impl": "peer x",
                        "reason": "failed: RuntimeError: no such API"}]
    with pytest.raises(RuntimeError):
        timing.measure([timing.Contender("x", boom, warm_up=True)], 1)
    with pytest.raises(ValueError):
        timing.measure([timing.Contender("a", int),
                        timing.Contender("a", int)], 1)
    ticks = []
    timing.measure([timing.Contender("t", int)], 3, timer=lambda: 7.0,
                   tick=lambda: ticks.append(1))
    assert ticks == [1, 1, 1]


def test_table_columns_and_groups():
    """A table is its list of columns: a new column is one more entry; a
    group column is printed only where its group changes."""
    from fastconc.bench.report import Column, table

    rows = [{"k": "crc32", "i": "fastconc", "v": 1},
            {"k": "crc32", "i": "zlib", "v": 2},
            {"k": "sha256", "i": "fastconc", "v": 3}]
    cols = [Column("kernel", "l", lambda r: r["k"], group=True),
            Column("implementation", "l", lambda r: r["i"]),
            Column("value", "r", lambda r: str(r["v"]))]
    assert table(cols, rows).splitlines() == [
        "| kernel | implementation | value |", "|:--|:--|--:|",
        "| crc32 | fastconc | 1 |", "|  | zlib | 2 |",
        "| sha256 | fastconc | 3 |"]


def test_every_section_is_listed_and_callable():
    """--only names and the report's sections are one list."""
    from fastconc import bench

    assert tuple(name for name, _, _ in bench._sections()) == bench.SECTIONS
    for _, units, section in bench._sections():
        assert callable(units) and callable(section)


def test_run_parked_reuses_warm_threads():
    """The GIL table's Python threads are started once and parked between
    passes (as the native pool's are): the same threads every pass, each
    callable on its own thread, and a callable's exception re-raised on the
    caller."""
    import threading

    idents: list[list[int]] = []
    for _ in range(3):
        got: list[int] = []
        lock = threading.Lock()

        def note(got: list[int] = got, lock: threading.Lock = lock) -> None:
            with lock:
                got.append(threading.get_ident())
        assert timing.run_parked([note, note]) >= 0
        idents.append(sorted(got))
    assert len(set(idents[0])) == 2
    assert threading.get_ident() not in idents[0]
    assert idents[0] == idents[1] == idents[2]

    def boom() -> None:
        raise KeyError("from a parked thread")
    with pytest.raises(KeyError, match="parked"):
        timing.run_parked([boom, lambda: None])
    # the group still works after a failed pass
    assert timing.run_parked([lambda: None, lambda: None]) >= 0
