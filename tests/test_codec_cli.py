"""``fastconc compress`` / ``fastconc decompress``: the flags of gzip and
zstd, checked against the real tools.

- Outputs are read back by ``gzip -t``, ``zstd -t``, ``lz4 -t`` and
  ``gzip -l`` (threads 1 and 2; one call and streamed).
- Each flag runs with gzip or zstd on the same file in a twin folder:
  same exit status (gzip's 2 for a skipped file is our 1), same files
  afterwards, same bytes where the format fixes them.
- ``-o`` onto a character device, a FIFO and a symbolic link leaves each
  what it was; failures leave neither a partial output nor a missing
  input.
"""
import gzip
import os
import re
import shutil
import stat
import subprocess
import sys
import threading

import pytest
from test_codec_stream import sample, stream_compress

import fastconc
from fastconc import _cli_codec, cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUFFIX = {"gzip": ".gz", "zstd": ".zst", "lz4": ".lz4", "zlib": ".zz",
          "deflate": ".deflate"}
TOOL_DECODE = {"gzip": ["gzip", "-dc"], "zstd": ["zstd", "-dcq"],
               "lz4": ["lz4", "-dcq"], "zlib": ["pigz", "-dzc"]}
TOOL_TEST = {"gzip": ["gzip", "-t"], "zstd": ["zstd", "-tq"],
             "lz4": ["lz4", "-tq"]}
# gzip exits 2 for a file it skips with a warning (hard link, existing
# output, unknown suffix, directory); fastconc exits 1 for every refusal.
STATUS = {0: 0, 1: 1, 2: 1}


def need(*tools):
    for t in tools:
        if shutil.which(t) is None:
            pytest.skip(f"{t} not installed")


def tool(*cmd, data=None, cwd=None):
    need(cmd[0])
    return subprocess.run(list(cmd), input=data, capture_output=True,
                          check=True, cwd=cwd, timeout=120).stdout


def run(cmd, cwd=None, data=None):
    need(cmd[0])
    return subprocess.run(list(cmd), input=data, capture_output=True,
                          cwd=cwd, timeout=120, check=False)


def fc(*argv, data=None, cwd=None):
    """The command in a child (for stdin/stdout and exit codes)."""
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-m", "fastconc", *argv],
                          input=data, capture_output=True, env=env, cwd=cwd,
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


# --- round trips and the real tools ------------------------------------------

@pytest.mark.parametrize("codec", ["zstd", "gzip", "lz4", "zlib", "deflate"])
def test_round_trip(src, codec):
    path, data = src
    assert cli.main(["compress", "-q", f"--format={codec}", str(path)]) == 0
    out = path.with_name(path.name + SUFFIX[codec])
    assert listing(path.parent) == [out.name]          # input removed
    if codec in TOOL_DECODE and shutil.which(TOOL_DECODE[codec][0]):
        assert tool(*TOOL_DECODE[codec], str(out)) == data
    assert os.stat(out).st_mtime == 1_000_000_000      # times kept
    # No --format: from the magic bytes, or for raw deflate the suffix.
    assert cli.main(["decompress", "-q", str(out)]) == 0
    assert listing(path.parent) == [path.name]
    assert path.read_bytes() == data


def test_codec_alias_and_default(src):
    path, data = src
    assert cli.main(["compress", "-q", "-k", str(path)]) == 0
    assert tool("zstd", "-dcq", str(path) + ".zst") == data   # default
    assert cli.main(["compress", "-q", "-k", "--codec", "lz4",
                     str(path)]) == 0
    assert tool("lz4", "-dcq", str(path) + ".lz4") == data


@pytest.mark.parametrize("codec", ["gzip", "zstd", "lz4"])
@pytest.mark.parametrize("threads", ["1", "2"])
@pytest.mark.parametrize("path_kind", ["oneshot", "streamed", "stdin"])
def test_tools_test_our_output(tmp_path, monkeypatch, codec, threads,
                               path_kind):
    """gzip -t, zstd -t, lz4 -t accept what the command writes: a regular
    file in one fastconc.compress call, or streamed through fastconc.open
    (large files; forced here), or from stdin."""
    need(TOOL_TEST[codec][0])
    data = sample(9 << 20, 7)
    path = tmp_path / "in.bin"
    path.write_bytes(data)
    out = tmp_path / ("in.bin" + SUFFIX[codec])
    if path_kind == "stdin":
        r = fc("compress", f"--format={codec}", "-T", threads, data=data)
        assert r.returncode == 0, r.stderr
        out.write_bytes(r.stdout)
    else:
        if path_kind == "streamed":
            monkeypatch.setattr(_cli_codec, "ONESHOT_MAX", 0)
        assert cli.main(["compress", "-q", "-k", f"--format={codec}",
                         "-T", threads, str(path)]) == 0
    run_ok = run([*TOOL_TEST[codec], str(out)])
    assert run_ok.returncode == 0, run_ok.stderr
    assert tool(*TOOL_DECODE[codec], str(out)) == data


def _gzip_l_size(path):
    line = tool("gzip", "-l", str(path)).decode().splitlines()[1]
    return int(line.split()[1])


@pytest.mark.parametrize("threads", ["1", "2"])
@pytest.mark.parametrize("size", [300_000, 8 << 20])
def test_gzip_l_reads_our_output(tmp_path, threads, size):
    """gzip -l reads one member's ISIZE from the last 4 bytes: right only
    when the file is one gzip member."""
    need("gzip")
    data = sample(size, 8)
    path = tmp_path / "g.bin"
    path.write_bytes(data)
    assert cli.main(["compress", "-q", "-k", "--format=gzip", "-T",
                     threads, str(path)]) == 0
    assert _gzip_l_size(tmp_path / "g.bin.gz") == size


@pytest.mark.parametrize("threads", ["1", "2"])
@pytest.mark.parametrize("oneshot", [True, False])
def test_gzip_cli_output_has_a_verified_index(tmp_path, monkeypatch,
                                              threads, oneshot):
    """A regular file's size is known before the header is written: one-
    shot and streamed (files over ONESHOT_MAX) outputs carry the block
    index, which holds (fastconc.open seeks through it), and read whole
    with gzip -l / -t."""
    need("gzip")
    if not oneshot:
        monkeypatch.setattr(_cli_codec, "ONESHOT_MAX", 0)
    data = sample(5 << 20, 12)
    path = tmp_path / "s.bin"
    path.write_bytes(data)
    assert cli.main(["compress", "-q", "-k", "--format=gzip", "-T",
                     threads, str(path)]) == 0
    blob = (tmp_path / "s.bin.gz").read_bytes()
    assert blob[3] & 4 and blob[12:14] == b"FP" and blob[17] == 1
    assert fastconc._core._gzip_index_ok(blob)
    assert _gzip_l_size(tmp_path / "s.bin.gz") == len(data)
    run_ok = run(["gzip", "-t", str(tmp_path / "s.bin.gz")])
    assert run_ok.returncode == 0
    for t in (1, 2):
        assert fastconc.decompress(blob, threads=t) == data
    # Bytes the same for every thread count.
    other = "2" if threads == "1" else "1"
    assert cli.main(["compress", "-q", "-f", "-k", "--format=gzip", "-T",
                     other, str(path)]) == 0
    assert (tmp_path / "s.bin.gz").read_bytes() == blob


@pytest.mark.parametrize("threads", ["1", "2"])
def test_our_list_is_exact_on_our_output(tmp_path, capsys, threads):
    """-l decodes, so it is right for any number of members."""
    data = sample(8 << 20, 8)
    path = tmp_path / "g.bin"
    path.write_bytes(data)
    assert cli.main(["compress", "-q", "--format=gzip", "-T", threads,
                     str(path)]) == 0
    packed = tmp_path / "g.bin.gz"
    capsys.readouterr()
    assert cli.main(["decompress", "-l", str(packed)]) == 0
    row = capsys.readouterr().out.splitlines()[1].split()
    assert row[:2] == [str(packed.stat().st_size), str(len(data))]
    assert row[3] == str(tmp_path / "g.bin")


def test_list_same_as_gzip_l(tmp_path):
    """On gzip's and pigz's own (one-member) files, -l prints what gzip -l
    prints, with -q and for several files (totals) too."""
    need("gzip", "pigz")
    (tmp_path / "a.txt").write_bytes(sample(700_000, 9))
    (tmp_path / "b.txt").write_bytes(b"tiny\n")
    (tmp_path / "e").write_bytes(b"")
    tool("gzip", "-k", "a.txt", "e", cwd=tmp_path)
    tool("pigz", "-k", "-9", "b.txt", cwd=tmp_path)
    os.rename(tmp_path / "b.txt.gz", tmp_path / "b.tgz")
    for args in (["a.txt.gz"], ["a.txt.gz", "b.tgz", "e.gz"],
                 ["-q", "a.txt.gz", "e.gz"]):
        theirs = run(["gzip", "-l", *args], cwd=tmp_path)
        ours = fc("decompress", "-l", *args, cwd=tmp_path)
        assert ours.returncode == theirs.returncode == 0, ours.stderr
        assert ours.stdout == theirs.stdout
    # From stdin; and a file that is not gzip.
    blob = (tmp_path / "a.txt.gz").read_bytes()
    assert fc("decompress", "-l", data=blob).stdout == \
        run(["gzip", "-l"], data=blob).stdout
    theirs = run(["gzip", "-l", "a.txt"], cwd=tmp_path)
    ours = fc("decompress", "-l", "a.txt", cwd=tmp_path)
    assert ours.returncode == theirs.returncode == 1
    assert ours.stdout == theirs.stdout == b""
    assert listing(tmp_path) == ["a.txt", "a.txt.gz", "b.tgz", "b.txt", "e",
                                 "e.gz"]


def test_list_same_as_zstd_l(tmp_path):
    need("zstd")
    (tmp_path / "a").write_bytes(sample(3_000_000, 10))
    (tmp_path / "b").write_bytes(b"hi\n")
    tool("zstd", "-q", "a", "b", cwd=tmp_path)
    tool("zstd", "-q", "--no-check", "b", "-o", "nc.zst", cwd=tmp_path)
    # Skippable frames (magic 0x184D2A50..5F) before and between frames.
    skip = (0x184D2A53).to_bytes(4, "little") + (5).to_bytes(4, "little") \
        + b"12345"
    b_zst = (tmp_path / "b.zst").read_bytes()
    (tmp_path / "sk.zst").write_bytes(skip + b_zst + skip + b_zst)
    for args in (["a.zst"], ["a.zst", "b.zst"], ["a.zst", "nc.zst"],
                 ["sk.zst", "nc.zst"]):
        theirs = run(["zstd", "-l", *args], cwd=tmp_path)
        ours = fc("decompress", "-l", *args, cwd=tmp_path)
        assert ours.returncode == theirs.returncode == 0, ours.stderr
        assert ours.stdout == theirs.stdout
    # A frame written from a pipe does not record its size: zstd -l
    # leaves the column blank, fastconc (which decodes) fills it.
    (tmp_path / "p.zst").write_bytes(tool("zstd", "-cq", data=b"x" * 900))
    theirs = run(["zstd", "-l", "p.zst"], cwd=tmp_path).stdout.decode()
    ours = fc("decompress", "-l", "p.zst", cwd=tmp_path).stdout.decode()
    assert "   B  " not in theirs.splitlines()[1][24:]
    assert ours.splitlines()[1].split()[4:6] == ["900", "B"]


def test_we_decompress_tool_output(tmp_path):
    data = sample(1_000_000, 5)
    for cmd, suffix in [(["gzip", "-c"], ".gz"), (["pigz", "-c"], ".gz"),
                        (["zstd", "-cq", "-T2"], ".zst"),
                        (["lz4", "-cq"], ".lz4"), (["pigz", "-cz"], ".zz")]:
        p = tmp_path / ("t" + suffix)
        p.write_bytes(tool(*cmd, data=data))
        assert cli.main(["decompress", "-q", str(p)]) == 0
        assert (tmp_path / "t").read_bytes() == data
        (tmp_path / "t").unlink()


# --- each flag against gzip / zstd ------------------------------------------------

DATA = sample(400_000, 11)


def _decoded(path):
    """A compressed file's content as the reference tool reads it (a
    damaged one as it is)."""
    blob = path.read_bytes()
    for magic, cmd in ((b"\x1f\x8b", ["gzip", "-dc"]),
                       (b"\x28\xb5\x2f\xfd", ["zstd", "-dcq"])):
        if blob.startswith(magic):
            r = run(cmd, data=blob)
            return (cmd[0], r.stdout) if r.returncode == 0 else ("bad", blob)
    return ("raw", blob)


def tree(d):
    """Each entry's name, kind and content (compressed files decoded)."""
    out = {}
    for p in sorted(d.iterdir()):
        if p.is_symlink():
            out[p.name] = ("link", os.readlink(p))
        elif p.is_dir():
            out[p.name] = ("dir",)
        else:
            st = p.stat()
            out[p.name] = ("file", st.st_nlink, _decoded(p))
    return out


def _setup(d, kind):
    (d / "data.txt").write_bytes(DATA)
    if kind in ("gz", "gz+out", "badgz", "gz-noext"):
        blob = gzip.compress(DATA, mtime=0)
        if kind == "badgz":
            blob = blob[:-9] + bytes([blob[-9] ^ 1]) + blob[-8:]
        (d / "data.txt").unlink()
        name = "data.bin" if kind == "gz-noext" else "data.txt.gz"
        (d / name).write_bytes(blob)
        if kind == "gz+out":
            (d / "data.txt").write_bytes(b"old contents\n")
    elif kind in ("zst", "zst+out", "badzst"):
        blob = ZST
        if kind == "badzst":
            blob = blob[:len(blob) // 2] + bytes([blob[len(blob) // 2] ^ 1]) \
                + blob[len(blob) // 2 + 1:]
        (d / "data.txt").unlink()
        (d / "data.txt.zst").write_bytes(blob)
        if kind == "zst+out":
            (d / "data.txt").write_bytes(b"old contents\n")
    elif kind == "out":
        (d / "data.txt.gz").write_bytes(b"precious")
        (d / "data.txt.zst").write_bytes(b"precious")
    elif kind == "hardlink":
        os.link(d / "data.txt", d / "other.txt")
    elif kind == "symlink":
        os.rename(d / "data.txt", d / "target.txt")
        os.symlink("target.txt", d / "data.txt")
    elif kind == "dir":
        (d / "sub").mkdir()


ZST = None


@pytest.fixture(autouse=False)
def zst_blob():
    global ZST
    need("zstd")
    if ZST is None:
        ZST = tool("zstd", "-cq", data=DATA)
    return ZST


# (setup, tool command, our arguments, how to compare stdout)
GZIP_CASES = [
    ("plain", ["gzip", "data.txt"], ["compress", "--format=gzip", "data.txt"],
     None),
    ("plain", ["gzip", "-k", "data.txt"],
     ["compress", "--format=gzip", "-k", "data.txt"], None),
    ("plain", ["gzip", "-c", "data.txt"],
     ["compress", "--format=gzip", "-c", "data.txt"], "decoded"),
    ("plain", ["gzip", "--stdout", "-1", "data.txt"],
     ["compress", "--format=gzip", "--stdout", "-1", "data.txt"], "decoded"),
    ("plain", ["gzip", "-9", "-k", "data.txt"],
     ["compress", "--format=gzip", "-9", "-k", "data.txt"], None),
    ("plain", ["gzip", "--fast", "data.txt"],
     ["compress", "--format=gzip", "--fast", "data.txt"], None),
    ("plain", ["gzip", "--best", "data.txt"],
     ["compress", "--format=gzip", "--best", "data.txt"], None),
    ("plain", ["gzip", "-S", ".foo", "data.txt"],
     ["compress", "--format=gzip", "-S", ".foo", "data.txt"], None),
    ("plain", ["gzip", "-q", "missing.txt"],
     ["compress", "-q", "missing.txt"], None),
    ("plain", ["gzip", "-f", "-k", "data.txt"],
     ["compress", "--format=gzip", "-f", "-k", "data.txt"], None),
    ("out", ["gzip", "data.txt"], ["compress", "--format=gzip", "data.txt"],
     None),
    ("out", ["gzip", "-f", "data.txt"],
     ["compress", "--format=gzip", "-f", "data.txt"], None),
    ("gz", ["gzip", "data.txt.gz"],
     ["compress", "--format=gzip", "data.txt.gz"], None),
    ("dir", ["gzip", "sub"], ["compress", "sub"], None),
    ("hardlink", ["gzip", "data.txt"],
     ["compress", "--format=gzip", "data.txt"], None),
    ("hardlink", ["gzip", "-k", "data.txt"],
     ["compress", "--format=gzip", "-k", "data.txt"], None),
    ("hardlink", ["gzip", "-f", "data.txt"],
     ["compress", "--format=gzip", "-f", "data.txt"], None),
    ("hardlink", ["gzip", "-c", "data.txt"],
     ["compress", "--format=gzip", "-c", "data.txt"], "decoded"),
    ("symlink", ["gzip", "data.txt"],
     ["compress", "--format=gzip", "data.txt"], None),
    ("symlink", ["gzip", "-f", "data.txt"],
     ["compress", "--format=gzip", "-f", "data.txt"], None),
    ("symlink", ["gzip", "-c", "data.txt"],
     ["compress", "--format=gzip", "-c", "data.txt"], "decoded"),
    ("gz", ["gzip", "-d", "data.txt.gz"], ["decompress", "data.txt.gz"],
     None),
    ("gz", ["gzip", "-d", "data.txt.gz"],
     ["compress", "-d", "data.txt.gz"], None),
    ("gz", ["gzip", "--decompress", "-k", "data.txt.gz"],
     ["decompress", "--decompress", "-k", "data.txt.gz"], None),
    ("gz", ["gzip", "-dc", "data.txt.gz"], ["decompress", "-c",
                                            "data.txt.gz"], "equal"),
    ("gz", ["gzip", "-t", "data.txt.gz"], ["decompress", "-t",
                                           "data.txt.gz"], "equal"),
    ("gz", ["gzip", "-t", "data.txt.gz"], ["compress", "-t",
                                           "data.txt.gz"], "equal"),
    ("badgz", ["gzip", "-t", "data.txt.gz"], ["decompress", "--test",
                                              "data.txt.gz"], "equal"),
    ("badgz", ["gzip", "-d", "data.txt.gz"], ["decompress", "data.txt.gz"],
     None),
    ("gz", ["gzip", "-l", "data.txt.gz"], ["decompress", "-l",
                                           "data.txt.gz"], "equal"),
    ("gz", ["gzip", "--list", "data.txt.gz"], ["decompress", "--list",
                                               "data.txt.gz"], "equal"),
    ("gz+out", ["gzip", "-d", "data.txt.gz"], ["decompress", "data.txt.gz"],
     None),
    ("gz+out", ["gzip", "-df", "data.txt.gz"],
     ["decompress", "-f", "data.txt.gz"], None),
    ("gz+out", ["gzip", "--force", "-dk", "data.txt.gz"],
     ["decompress", "--force", "-k", "data.txt.gz"], None),
    ("gz-noext", ["gzip", "-d", "data.bin"], ["decompress", "data.bin"],
     None),
    ("gz-noext", ["gzip", "-dc", "data.bin"], ["decompress", "-c",
                                               "data.bin"], "equal"),
    ("gz", ["gzip", "-d", "-S", ".gz", "data.txt.gz"],
     ["decompress", "-S", ".gz", "data.txt.gz"], None),
    ("gz", ["gzip", "-d", "-q", "data.txt.gz"],
     ["decompress", "-q", "data.txt.gz"], "equal"),
]

ZSTD_CASES = [
    ("plain", ["zstd", "-q", "--rm", "data.txt"],
     ["compress", "--rm", "data.txt"], None),
    ("plain", ["zstd", "-q", "-k", "data.txt"], ["compress", "-k",
                                                "data.txt"], None),
    ("plain", ["zstd", "-q", "--keep", "-19", "data.txt"],
     ["compress", "--keep", "-19", "data.txt"], None),
    ("plain", ["zstd", "-q", "-k", "--ultra", "-22", "data.txt"],
     ["compress", "-k", "--ultra", "-22", "data.txt"], None),
    ("plain", ["zstd", "-q", "-k", "--fast=3", "data.txt"],
     ["compress", "-k", "--fast=3", "data.txt"], None),
    ("plain", ["zstd", "-q", "-k", "-T0", "data.txt"],
     ["compress", "-k", "-T0", "data.txt"], None),
    ("plain", ["zstd", "-q", "-k", "--threads=2", "data.txt"],
     ["compress", "-k", "--threads=2", "data.txt"], None),
    ("plain", ["zstd", "-q", "-k", "--format=gzip", "data.txt"],
     ["compress", "-k", "--format=gzip", "data.txt"], None),
    ("plain", ["zstd", "-q", "-o", "out.zst", "data.txt"],
     ["compress", "-k", "-o", "out.zst", "data.txt"], None),
    ("plain", ["zstd", "-q", "--rm", "-o", "out.zst", "data.txt"],
     ["compress", "-o", "out.zst", "data.txt"], None),
    ("plain", ["zstd", "-q", "-c", "--rm", "data.txt"],
     ["compress", "-c", "--rm", "data.txt"], "decoded"),
    ("plain", ["zstd", "-q", "data.txt", "-c"],
     ["compress", "data.txt", "-c"], "decoded"),
    ("out", ["zstd", "-q", "-k", "data.txt"], ["compress", "-k", "data.txt"],
     None),
    ("out", ["zstd", "-q", "-k", "-f", "data.txt"],
     ["compress", "-k", "-f", "data.txt"], None),
    ("symlink", ["zstd", "-q", "data.txt"], ["compress", "-k", "data.txt"],
     None),
    ("zst", ["zstd", "-q", "-d", "--rm", "data.txt.zst"],
     ["decompress", "data.txt.zst"], None),
    ("zst", ["zstd", "-q", "-d", "data.txt.zst"],
     ["decompress", "-k", "data.txt.zst"], None),
    ("zst", ["zstd", "-q", "-dc", "data.txt.zst"],
     ["decompress", "-c", "data.txt.zst"], "equal"),
    ("zst", ["zstd", "-q", "-d", "-o", "x", "data.txt.zst"],
     ["decompress", "-k", "-o", "x", "data.txt.zst"], None),
    ("zst", ["zstd", "-q", "-t", "data.txt.zst"],
     ["decompress", "-t", "data.txt.zst"], "equal"),
    ("badzst", ["zstd", "-q", "-t", "data.txt.zst"],
     ["decompress", "-t", "data.txt.zst"], "equal"),
    ("badzst", ["zstd", "-q", "-d", "--rm", "data.txt.zst"],
     ["decompress", "data.txt.zst"], None),
    ("zst+out", ["zstd", "-q", "-d", "data.txt.zst"],
     ["decompress", "-k", "data.txt.zst"], None),
    ("zst+out", ["zstd", "-q", "-d", "-f", "data.txt.zst"],
     ["decompress", "-k", "-f", "data.txt.zst"], None),
]


def _compare(tmp_path, setup, theirs, ours, how, stdin=None):
    a, b = tmp_path / "theirs", tmp_path / "ours"
    a.mkdir()
    b.mkdir()
    _setup(a, setup)
    _setup(b, setup)
    rt = run(theirs, cwd=a, data=stdin)
    ro = fc(*ours, cwd=b, data=stdin)
    assert ro.returncode == STATUS[rt.returncode], (rt.stderr, ro.stderr)
    assert tree(b) == tree(a)
    if how == "equal":
        assert ro.stdout == rt.stdout
    elif how == "decoded":
        assert _decoded_bytes(ro.stdout) == _decoded_bytes(rt.stdout) \
            == DATA
    return rt, ro


def _decoded_bytes(blob):
    if blob[:2] == b"\x1f\x8b":
        return tool("gzip", "-dc", data=blob)
    return tool("zstd", "-dcq", data=blob)


@pytest.mark.parametrize("setup,theirs,ours,how", GZIP_CASES,
                         ids=[" ".join(c[1]) + f" [{c[0]}]"
                              for c in GZIP_CASES])
def test_flag_like_gzip(tmp_path, setup, theirs, ours, how):
    need("gzip")
    _compare(tmp_path, setup, theirs, ours, how)


@pytest.mark.parametrize("setup,theirs,ours,how", ZSTD_CASES,
                         ids=[" ".join(c[1]) + f" [{c[0]}]"
                              for c in ZSTD_CASES])
def test_flag_like_zstd(tmp_path, zst_blob, setup, theirs, ours, how):
    need("zstd")
    _compare(tmp_path, setup, theirs, ours, how)


def test_stdin_like_gzip_and_zstd(tmp_path):
    """No FILE (or '-'): stdin to stdout, both ways."""
    need("gzip", "zstd")
    blob = gzip.compress(DATA)
    for theirs, ours in ((["gzip", "-d"], ["decompress"]),
                         (["gzip", "-d", "-"], ["decompress", "-"]),
                         (["gzip", "-dc"], ["compress", "-dc"])):
        rt, ro = run(theirs, data=blob), fc(*ours, data=blob)
        assert (ro.returncode, ro.stdout) == (rt.returncode, rt.stdout)
    rt, ro = run(["zstd", "-q"], data=DATA), fc("compress", data=DATA)
    assert ro.returncode == rt.returncode == 0
    assert tool("zstd", "-dcq", data=ro.stdout) == DATA
    rt = run(["gzip", "-d"], data=b"not compressed")
    ro = fc("decompress", data=b"not compressed")
    assert ro.returncode == rt.returncode == 1
    rt = run(["gzip", "-d"], data=blob[:-5])
    ro = fc("decompress", data=blob[:-5])
    assert ro.returncode == rt.returncode == 1
    assert b"unexpected end of file" in ro.stderr


def test_verbose_like_gzip(tmp_path):
    need("gzip")
    for theirs, ours in ((["gzip", "-v", "-k", "data.txt"],
                          ["compress", "--format=gzip", "-v", "-k",
                           "data.txt"]),
                         (["gzip", "-v", "data.txt"],
                          ["compress", "--format=gzip", "-v", "data.txt"])):
        d1, d2 = tmp_path / "t", tmp_path / "o"
        for d in (d1, d2):
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir()
            _setup(d, "plain")
        rt, ro = run(theirs, cwd=d1), fc(*ours, cwd=d2)
        shape = re.compile(rb"data.txt:\s+[ \d.]+% -- (created|replaced "
                           rb"with) data.txt.gz\n")
        assert shape.fullmatch(rt.stderr) and shape.fullmatch(ro.stderr)
        assert shape.fullmatch(rt.stderr).group(1) == \
            shape.fullmatch(ro.stderr).group(1)
    _setup(d2, "gz")
    rt = run(["gzip", "-tv", "data.txt.gz"], cwd=d2)
    ro = fc("decompress", "-tv", "data.txt.gz", cwd=d2)
    assert ro.stderr == rt.stderr == b"data.txt.gz:\t OK\n"


# --- levels, threads, usage errors ------------------------------------------------

@pytest.mark.parametrize("codec,good,bad", [
    ("gzip", [["-1"], ["-9"], ["--fast"], ["--best"], ["--level", "5"]],
     [["-10"], ["-19"], ["--fast=2"], ["--level", "0"]]),
    ("zlib", [["-1"], ["-9"]], [["-12"]]),
    ("deflate", [["-4"]], [["-11"]]),
    ("zstd", [["-1"], ["-19"], ["--fast"], ["--fast=5"], ["--best"]],
     [["-20"], ["-22"], ["--level", "23"]]),
    ("lz4", [["-1"], ["-12"], ["--best"], ["--fast"]],
     [["-13"], ["--fast=3"]]),
])
def test_levels(src, codec, good, bad, capsys):
    """Each format's levels work; a level it lacks is a usage error with
    the subcommand's usage, never clamped."""
    from fastconc import decompress

    path, data = src
    packed = path.parent / (path.name + SUFFIX[codec])
    for args in good:
        assert cli.main(["compress", "-q", "-k", "-f", f"--format={codec}",
                         *args, str(path)]) == 0, args
        assert decompress(packed.read_bytes(), codec) == data
    packed.unlink()
    for args in bad:
        with pytest.raises(SystemExit) as exc:
            cli.main(["compress", "-q", "-k", f"--format={codec}", *args,
                      str(path)])
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert "usage: fastconc compress" in err and "level" in err, args
    assert listing(path.parent) == ["data.txt"]


def test_ultra_levels(src):
    """zstd -20 .. -22 need --ultra (zstd clamps to 19 with a warning;
    fastconc refuses), and work with it."""
    path, data = src
    r = fc("compress", "-k", "-22", str(path))
    assert r.returncode == 2 and b"--ultra" in r.stderr
    assert cli.main(["compress", "-q", "-k", "--ultra", "-20",
                     str(path)]) == 0
    assert tool("zstd", "-dcq", str(path) + ".zst") == data


def test_combined_short_flags(src):
    path, data = src
    r = fc("compress", "--format=gzip", "-9kc", str(path))
    assert r.returncode == 0 and gzip.decompress(r.stdout) == data
    r = fc("compress", "-dc", data=gzip.compress(data))
    assert r.returncode == 0 and r.stdout == data
    assert path.exists()


def test_subcommand_usage_errors():
    for sub, args in (("compress", ["--bogus"]), ("decompress", ["-Z"]),
                      ("compress", ["-T", "x"]), ("hash", ["--bogus"]),
                      ("compress", ["-T", "-1"]),
                      ("compress", ["-o", "x", "a", "b"]),
                      ("compress", ["-c", "-o", "x", "a"]),
                      ("decompress", ["-t", "-l", "a"]),
                      ("compress", ["-S", "", "a"])):
        r = fc(sub, *args)
        assert r.returncode == 2, (sub, args, r.stderr)
        assert r.stderr.startswith(f"usage: fastconc {sub} ".encode()), \
            r.stderr


def test_version_on_each_subcommand():
    import fastconc
    for sub in ("compress", "decompress", "hash"):
        for flag in ("--version", "-V"):
            r = fc(sub, flag)
            assert r.returncode == 0
            assert r.stdout.decode().strip() == \
                f"fastconc {sub} (fastconc) {fastconc.__version__}"


HELP_FLAGS = ["-c", "--stdout", "-d", "--decompress", "-t", "--test", "-k",
              "--keep", "--rm", "-f", "--force", "-o", "--fast", "--best",
              "--ultra", "-T", "--threads", "--format", "--codec", "-l",
              "--list", "-S", "--suffix", "-q", "-v", "--version", "-1",
              "-19", "--level"]


@pytest.mark.parametrize("sub", ["compress", "decompress"])
def test_help_and_readme_list_every_flag(sub):
    r = fc(sub, "--help")
    assert r.returncode == 0
    text = r.stdout.decode()
    for opt in HELP_FLAGS:
        assert re.search(rf"(^|[\s,\[(]){re.escape(opt)}\b", text), opt
    assert "removed" in text and "gzip" in text    # the default, said
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    section = readme[readme.index("### The command line"):]
    for opt in HELP_FLAGS:
        assert f"`{opt}" in section or f" {opt}" in section, opt


# --- -o onto things that are not regular files ---------------------------------

def _packed(tmp_path, data):
    p = tmp_path / "in.zst"
    p.write_bytes(stream_compress(data, "zstd"))
    return p


def test_output_to_character_device(tmp_path):
    dev = tmp_path / "null"
    try:
        os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except (PermissionError, OSError) as exc:
        pytest.skip(f"mknod: {exc}")
    data = sample(500_000, 12)
    packed = _packed(tmp_path, data)
    for argv in (["decompress", "-o", str(dev), str(packed)],
                 ["decompress", "-f", "-o", str(dev), str(packed)],
                 ["compress", "-f", "-o", str(dev), str(packed)]):
        assert cli.main(argv) == 0, argv
        assert stat.S_ISCHR(os.lstat(dev).st_mode)
        assert os.lstat(dev).st_rdev == os.makedev(1, 3)
        # Writing to a device keeps the input (nothing regular was made).
        assert packed.exists()
    assert listing(tmp_path) == ["in.zst", "null"]
    # --rm removes the input even so, as zstd --rm does.
    assert cli.main(["decompress", "--rm", "-o", str(dev),
                     str(packed)]) == 0
    assert listing(tmp_path) == ["null"]


def test_output_to_fifo(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    data = sample(3_000_000, 13)
    packed = _packed(tmp_path, data)
    got = []

    def reader():
        with open(fifo, "rb") as f:
            got.append(f.read())

    t = threading.Thread(target=reader)
    t.start()
    try:
        assert cli.main(["decompress", "-q", "-f", "-o", str(fifo),
                         str(packed)]) == 0
    finally:
        t.join(30)
    assert got == [data]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert listing(tmp_path) == ["in.zst", "pipe"]


def test_output_to_symlink(tmp_path, capsys):
    data = sample(700_000, 14)
    packed = _packed(tmp_path, data)
    target = tmp_path / "target.bin"
    target.write_bytes(b"old")
    link = tmp_path / "link.bin"
    link.symlink_to("target.bin")
    # Without -f: refused, as any existing output.
    assert cli.main(["decompress", "-q", "-k", "-o", str(link),
                     str(packed)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert target.read_bytes() == b"old"
    assert cli.main(["decompress", "-q", "-k", "-f", "-o", str(link),
                     str(packed)]) == 0
    assert link.is_symlink() and os.readlink(link) == "target.bin"
    assert target.read_bytes() == data
    # A dangling link: -f creates its target.
    link2 = tmp_path / "dangling"
    link2.symlink_to("new.bin")
    assert cli.main(["compress", "-q", "-k", "-f", "--format=gzip", "-o",
                     str(link2), str(target)]) == 0
    assert link2.is_symlink()
    assert gzip.decompress((tmp_path / "new.bin").read_bytes()) == data


def test_output_to_stdout_is_written_through(src):
    path, data = src
    r = fc("compress", "--format=gzip", "-o", "-", str(path))
    assert r.returncode == 0 and gzip.decompress(r.stdout) == data
    assert path.exists()


# --- #24 item 3: raw deflate from its suffix, messages -------------------------------

def test_deflate_read_back_by_suffix(tmp_path):
    """#24 item 3: `compress --format deflate f` then `decompress
    f.deflate` worked only with --format."""
    data = sample(300_000, 15)
    path = tmp_path / "f"
    path.write_bytes(data)
    # (--codec: the spelling the old command also had.)
    assert cli.main(["compress", "-q", "--codec", "deflate",
                     str(path)]) == 0
    assert cli.main(["decompress", "-q", str(tmp_path / "f.deflate")]) == 0
    assert path.read_bytes() == data
    assert listing(tmp_path) == ["f"]
    # From stdin there is no suffix: the message says how to name it.
    r = fc("decompress", data=__import__("fastconc").compress(data,
                                                               "deflate"))
    assert r.returncode == 1 and b"--format=deflate" in r.stderr


def test_error_names_the_file_once(tmp_path):
    """#24 item 3: the message printed the name twice and spoke of a
    'member/frame' for any codec."""
    data = sample(300_000, 16)
    for codec in ("gzip", "zlib", "deflate", "zstd"):
        blob = bytearray(stream_compress(data, codec))
        if codec == "deflate":
            del blob[len(blob) // 2:]   # raw deflate has no check to fail
        else:
            blob[len(blob) // 2] ^= 0x55
        p = tmp_path / ("bad" + SUFFIX[codec])
        p.write_bytes(bytes(blob))
        r = fc("decompress", str(p))
        assert r.returncode == 1
        err = r.stderr.decode()
        assert err.count(str(p)) == 1 and err.count("bad") == 1, err
        assert "member/frame" not in err and "frame" not in err \
            and "member" not in err, err
        assert err.startswith(f"fastconc: {p}: {codec}: ")
        assert listing(tmp_path) == [p.name]
        p.unlink()


def test_error_in_a_later_member_says_where(tmp_path):
    one = stream_compress(sample(200_000, 17), "gzip")
    bad = bytearray(one)
    bad[len(bad) // 2] ^= 0x55
    p = tmp_path / "two.gz"
    p.write_bytes(one + bytes(bad))
    r = fc("decompress", str(p))
    assert r.returncode == 1
    assert f"gzip member that starts at byte {len(one)}".encode() in r.stderr
    p.write_bytes(one + one[:-20])
    r = fc("decompress", "-t", str(p))
    assert r.returncode == 1
    assert b"unexpected end of file" in r.stderr
    assert f"member that starts at byte {len(one)}".encode() in r.stderr
    p.write_bytes(one + b"\0" * 100)            # gzip's padding is fine
    assert fc("decompress", "-t", str(p)).returncode == 0
    p.write_bytes(one + b"garbage!")
    r = fc("decompress", "-t", str(p))
    assert r.returncode == 1
    assert f"trailing garbage at byte {len(one)}".encode() in r.stderr


# --- #24 item 8: links --------------------------------------------------------------------

@pytest.mark.parametrize("command", ["compress", "decompress"])
def test_links_refused_without_force(tmp_path, capsys, command):
    """#24 item 8: a symlinked or hard-linked input was compressed and the
    link removed; gzip refuses both without -f."""
    data = sample(100_000, 18)
    name = "t.txt" if command == "compress" else "t.txt.gz"
    target = tmp_path / name
    target.write_bytes(data if command == "compress"
                       else gzip.compress(data))
    sym = tmp_path / ("s" + name[1:])
    sym.symlink_to(name)
    hard = tmp_path / ("h" + name[1:])
    os.link(target, hard)
    before = listing(tmp_path)
    assert cli.main([command, "-q", str(sym)]) == 1
    assert "is not a directory or a regular file" in capsys.readouterr().err
    assert cli.main([command, "-q", "-k", str(hard)]) == 1
    assert "has 1 other link -- file ignored" in capsys.readouterr().err
    assert listing(tmp_path) == before
    # With -f: processed; the link (not its target) goes, as with gzip -f.
    assert cli.main([command, "-q", "-f", str(sym)]) == 0
    assert not sym.exists() and not sym.is_symlink()
    assert target.exists()
    assert cli.main([command, "-q", "-f", str(hard)]) == 0
    assert not hard.exists() and target.exists()
    assert os.stat(target).st_nlink == 1


def test_fifo_input_needs_stdout_or_o(tmp_path):
    fifo = tmp_path / "p"
    os.mkfifo(fifo)
    r = fc("compress", str(fifo))
    assert r.returncode == 1
    assert b"is not a directory or a regular file" in r.stderr


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
    assert err.count(str(path)) == 1
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


@pytest.mark.parametrize("where", ["oneshot", "streamed"])
def test_interrupted_compress_leaves_nothing(tmp_path, monkeypatch, where):
    from fastconc import _cli_codec

    path = tmp_path / "big.txt"
    path.write_bytes(sample(3 << 20, 3))
    (tmp_path / "big.txt.zst").write_bytes(b"old")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    if where == "oneshot":
        monkeypatch.setattr(_cli_codec, "fc_compress", interrupted)
    else:
        monkeypatch.setattr(_cli_codec, "ONESHOT_MAX", 0)
        monkeypatch.setattr(_cli_codec.Progress, "update",
                            lambda self, n: interrupted())
    assert cli.main(["compress", "-q", "-f", str(path)]) == 130
    assert listing(tmp_path) == ["big.txt", "big.txt.zst"]
    assert (tmp_path / "big.txt.zst").read_bytes() == b"old"


def test_several_files_one_failing(tmp_path):
    good = tmp_path / "good.txt"
    good.write_bytes(b"good data" * 1000)
    assert cli.main(["compress", "-q", str(good),
                     str(tmp_path / "missing.txt")]) == 1
    assert listing(tmp_path) == ["good.txt.zst"]


def test_new_output_from_stdin_gets_umask_mode(tmp_path):
    out = tmp_path / "o.gz"
    r = fc("compress", "--format=gzip", "-o", str(out), data=b"abc" * 100)
    assert r.returncode == 0
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~mask


# --- decompress -T, progress --------------------------------------------------------

@pytest.mark.parametrize("codec", ["gzip", "zstd", "lz4"])
def test_parallel_decompress_option(tmp_path, codec):
    data = sample(6 << 20, 6)
    path = tmp_path / "p.bin"
    path.write_bytes(data)
    assert cli.main(["compress", "-q", f"--format={codec}", "-T", "3",
                     str(path)]) == 0
    packed = path.with_name("p.bin" + SUFFIX[codec])
    assert tool(*TOOL_DECODE[codec], str(packed)) == data
    assert cli.main(["decompress", "-q", "-T", "2", str(packed)]) == 0
    assert path.read_bytes() == data and not packed.exists()
    r = fc("decompress", "-T", "0", data=stream_compress(data, codec))
    assert r.returncode == 0 and r.stdout == data
    bad = tmp_path / ("bad" + SUFFIX[codec])
    bad.write_bytes(stream_compress(data, codec)[:-100])
    assert cli.main(["decompress", "-q", "-T", "2", str(bad)]) == 1
    assert bad.exists() and not (tmp_path / "bad").exists()


def test_progress_bar_only_on_a_terminal(src, monkeypatch, capsysbinary):
    """With stderr a terminal a bar is drawn there (tqdm or rich), never on
    stdout, and the output is unchanged; piped, nothing is drawn."""
    from fastconc import _cli_common

    path, data = src
    big = path.with_name("big.bin")
    big.write_bytes(data * 8)                 # above PROGRESS_MIN
    monkeypatch.setattr(_cli_codec, "ONESHOT_MAX", 0)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    drawn = []
    real_init = _cli_common.Progress.__init__

    def spy(self, total, desc, quiet, unit="B"):
        real_init(self, total, desc, quiet, unit)
        drawn.append(self.active)

    monkeypatch.setattr(_cli_common.Progress, "__init__", spy)
    assert cli.main(["compress", "-k", "--format=gzip", "-o", "-",
                     str(big)]) == 0
    out = capsysbinary.readouterr()
    assert gzip.decompress(out.out) == data * 8
    try:
        import rich  # noqa: F401
        assert drawn == [True]
    except ImportError:
        pass
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    drawn.clear()
    assert cli.main(["compress", "-k", "--format=gzip", "-o", "-",
                     str(big)]) == 0
    assert drawn == [False]
    assert capsysbinary.readouterr().err == b""
