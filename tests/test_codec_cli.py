"""``fastconc compress`` / ``fastconc decompress``.

Outputs are checked with the gzip, zstd and lz4 commands; failures must
leave the input in place and no partial (or temporary) output.
"""
import gzip
import os
import shutil
import subprocess
import sys

import pytest
from test_codec_stream import sample, stream_compress

from fastconc import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUFFIX = {"gzip": ".gz", "zstd": ".zst", "lz4": ".lz4", "zlib": ".zz",
          "deflate": ".deflate"}
TOOL_DECODE = {"gzip": ["gzip", "-dc"], "zstd": ["zstd", "-dcq"],
               "lz4": ["lz4", "-dcq"], "zlib": ["pigz", "-dzc"]}


def tool(*cmd, data=None):
    if shutil.which(cmd[0]) is None:
        pytest.skip(f"{cmd[0]} not installed")
    return subprocess.run(list(cmd), input=data, capture_output=True,
                          check=True).stdout


def fc(*argv, data=None):
    """Run the command in a child (for stdin/stdout and exit codes)."""
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-m", "fastconc", *argv],
                          input=data, capture_output=True, env=env,
                          timeout=120, check=False)


def listing(path):
    return sorted(p.name for p in path.iterdir())


@pytest.fixture
def src(tmp_path):
    data = sample(1_500_000, 1)
    p = tmp_path / "data.txt"
    p.write_bytes(data)
    os.utime(p, (1_000_000_000, 1_000_000_000))
    return p, data


@pytest.mark.parametrize("codec", ["zstd", "gzip", "lz4", "zlib"])
def test_compress_decompress_round_trip(src, codec):
    path, data = src
    assert cli.main(["compress", "-q", "-c", codec, str(path)]) == 0
    out = path.with_name(path.name + SUFFIX[codec])
    assert listing(path.parent) == [out.name]          # input removed
    assert tool(*TOOL_DECODE[codec], str(out)) == data
    assert os.stat(out).st_mtime == 1_000_000_000      # times kept
    assert cli.main(["decompress", "-q", str(out)]) == 0
    assert listing(path.parent) == [path.name]
    assert path.read_bytes() == data


def test_default_codec_is_zstd_and_keep(src):
    path, data = src
    assert cli.main(["compress", "-q", "-k", str(path)]) == 0
    assert listing(path.parent) == ["data.txt", "data.txt.zst"]
    assert tool("zstd", "-dcq", str(path) + ".zst") == data


@pytest.mark.parametrize("codec", ["zstd", "gzip", "lz4"])
@pytest.mark.parametrize("threads", ["1", "3"])
def test_levels_and_threads(src, codec, threads):
    path, data = src
    assert cli.main(["compress", "-q", "-k", "-c", codec, "-l", "1", "-T",
                     threads, str(path)]) == 0
    assert tool(*TOOL_DECODE[codec], str(path) + SUFFIX[codec]) == data


def test_bad_level(src, capsys):
    path, _ = src
    assert cli.main(["compress", "-q", "-c", "gzip", "-l", "99",
                     str(path)]) == 1
    assert "level" in capsys.readouterr().err
    assert listing(path.parent) == ["data.txt"]


def test_output_option(src, tmp_path):
    path, data = src
    target = tmp_path / "elsewhere.gz"
    assert cli.main(["compress", "-q", "-c", "gzip", "-o", str(target),
                     str(path)]) == 0
    assert gzip.decompress(target.read_bytes()) == data
    back = tmp_path / "back.bin"
    assert cli.main(["decompress", "-q", "-o", str(back), str(target)]) == 0
    assert back.read_bytes() == data
    assert not target.exists()
    assert cli.main(["decompress", "-q", "-o", str(back), "a", "b"]) == 1


def test_existing_output_needs_force(src, capsys):
    path, data = src
    out = path.with_name(path.name + ".zst")
    out.write_bytes(b"precious")
    assert cli.main(["compress", "-q", str(path)]) == 1
    assert "exists" in capsys.readouterr().err
    assert out.read_bytes() == b"precious" and path.exists()
    assert cli.main(["compress", "-q", "-f", str(path)]) == 0
    assert tool("zstd", "-dcq", str(out)) == data


def test_suffix_rules(tmp_path, capsys):
    p = tmp_path / "x.gz"
    p.write_bytes(gzip.compress(b"abc"))
    assert cli.main(["compress", "-q", "-c", "gzip", str(p)]) == 1
    assert "suffix" in capsys.readouterr().err
    q = tmp_path / "noext"
    q.write_bytes(gzip.compress(b"abc"))
    assert cli.main(["decompress", "-q", str(q)]) == 1
    assert "suffix" in capsys.readouterr().err
    t = tmp_path / "a.tgz"
    t.write_bytes(gzip.compress(b"tar"))
    assert cli.main(["decompress", "-q", str(t)]) == 0
    assert (tmp_path / "a.tar").read_bytes() == b"tar"


def test_missing_and_directory(tmp_path, capsys):
    assert cli.main(["compress", "-q", str(tmp_path / "nope")]) == 1
    err = capsys.readouterr().err
    assert "nope" in err
    assert cli.main(["compress", "-q", str(tmp_path)]) == 1
    assert "directory" in capsys.readouterr().err


def test_several_files_one_failing(tmp_path):
    good = tmp_path / "good.txt"
    good.write_bytes(b"good data" * 1000)
    assert cli.main(["compress", "-q", str(good),
                     str(tmp_path / "missing.txt")]) == 1
    assert listing(tmp_path) == ["good.txt.zst"]


# --- failures never lose data ------------------------------------------------

@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty"])
@pytest.mark.parametrize("codec", ["gzip", "zstd", "lz4"])
def test_failing_decompress_keeps_input_no_output(tmp_path, damage, codec,
                                                  capsys):
    data = sample(3_000_000, 2)
    blob = bytearray(stream_compress(data, codec))
    if damage == "truncate":
        blob = blob[:len(blob) * 2 // 3]
    elif damage == "flip":
        blob[len(blob) // 2] ^= 0x40
    elif damage == "garbage":
        blob += b"trailing garbage"
    else:
        blob = b""
    path = tmp_path / ("in" + SUFFIX[codec])
    path.write_bytes(bytes(blob))
    assert cli.main(["decompress", "-q", str(path)]) == 1
    err = capsys.readouterr().err
    assert str(path) in err
    # The input is untouched, and neither the output nor a temporary
    # file exists.
    assert listing(tmp_path) == [path.name]
    assert path.read_bytes() == bytes(blob)


def test_failing_decompress_keeps_existing_output(tmp_path):
    path = tmp_path / "in.zst"
    path.write_bytes(stream_compress(b"x" * 100_000, "zstd")[:-10])
    out = tmp_path / "in"
    out.write_bytes(b"old")
    assert cli.main(["decompress", "-q", "-f", str(path)]) == 1
    assert out.read_bytes() == b"old"
    assert listing(tmp_path) == ["in", "in.zst"]


def test_interrupted_compress_leaves_nothing(tmp_path, monkeypatch):
    from fastconc import _cli_codec

    path = tmp_path / "big.txt"
    path.write_bytes(sample(3 << 20, 3))

    calls = []
    real = _cli_codec._CountingReader.read

    def read(self, n=-1):
        calls.append(n)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, n)

    monkeypatch.setattr(_cli_codec._CountingReader, "read", read)
    assert cli.main(["compress", "-q", str(path)]) == 130
    assert listing(tmp_path) == ["big.txt"]


# --- stdin / stdout ----------------------------------------------------------

@pytest.mark.parametrize("codec", ["zstd", "gzip", "lz4"])
def test_stdin_to_stdout(codec):
    data = sample(800_000, 4)
    r = fc("compress", "-c", codec, "-", data=data)
    assert r.returncode == 0, r.stderr
    assert tool(*TOOL_DECODE[codec], data=r.stdout) == data
    r = fc("decompress", data=r.stdout)         # no FILE: stdin
    assert r.returncode == 0, r.stderr
    assert r.stdout == data


def test_output_to_stdout_keeps_input(src):
    path, data = src
    r = fc("compress", "-c", "gzip", "-o", "-", str(path))
    assert r.returncode == 0 and gzip.decompress(r.stdout) == data
    assert path.exists()


def test_stdin_errors_exit_1():
    r = fc("decompress", "-", data=b"not compressed at all")
    assert r.returncode == 1
    assert b"(stdin)" in r.stderr and b"magic" in r.stderr
    r = fc("decompress", data=gzip.compress(b"abc" * 1000)[:-5])
    assert r.returncode == 1 and b"truncated" in r.stderr


def test_we_decompress_tool_output(tmp_path):
    data = sample(1_000_000, 5)
    for cmd, suffix in [(["gzip", "-c"], ".gz"), (["pigz", "-c"], ".gz"),
                        (["zstd", "-cq", "-T2"], ".zst"),
                        (["lz4", "-cq"], ".lz4")]:
        p = tmp_path / ("t" + suffix)
        p.write_bytes(tool(*cmd, data=data))
        assert cli.main(["decompress", "-q", str(p)]) == 0
        assert (tmp_path / "t").read_bytes() == data
        (tmp_path / "t").unlink()


def test_help_lists_options():
    r = fc("compress", "--help")
    assert r.returncode == 0
    for opt in (b"-c", b"-l", b"-T", b"-k", b"-o", b"-f"):
        assert opt in r.stdout


@pytest.mark.parametrize("codec", ["gzip", "zstd", "lz4"])
def test_parallel_decompress_option(tmp_path, codec):
    data = sample(6 << 20, 6)
    path = tmp_path / "p.bin"
    path.write_bytes(data)
    assert cli.main(["compress", "-q", "-c", codec, "-T", "3",
                     str(path)]) == 0
    packed = path.with_name("p.bin" + SUFFIX[codec])
    assert tool(*TOOL_DECODE[codec], str(packed)) == data
    assert cli.main(["decompress", "-q", "-T", "2", str(packed)]) == 0
    assert path.read_bytes() == data and not packed.exists()
    # From stdin too, and a damaged file fails cleanly.
    r = fc("decompress", "-T", "2", data=stream_compress(data, codec))
    assert r.returncode == 0 and r.stdout == data
    bad = tmp_path / ("bad" + SUFFIX[codec])
    bad.write_bytes(stream_compress(data, codec)[:-100])
    assert cli.main(["decompress", "-q", "-T", "2", str(bad)]) == 1
    assert bad.exists() and not (tmp_path / "bad").exists()


def test_progress_bar_only_on_a_terminal(src, monkeypatch, capsysbinary):
    """With stderr a terminal a bar is drawn there (tqdm or rich), never on
    stdout, and the output is unchanged; piped, nothing is drawn."""
    from fastconc import _cli_codec

    path, data = src
    big = path.with_name("big.bin")
    big.write_bytes(data * 8)                 # above PROGRESS_MIN
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert cli.main(["compress", "-k", "-c", "gzip", "-o", "-",
                     str(big)]) == 0
    out = capsysbinary.readouterr()
    assert gzip.decompress(out.out) == data * 8
    calls = []
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    update = _cli_codec._progress(1 << 30, "x", quiet=False)
    update(5)
    calls.append(update)
    assert capsysbinary.readouterr().err == b""
    assert _cli_codec._progress(1 << 30, "x", quiet=True)(1) is None
