"""fastconc hash: byte-identical output to coreutils sha256sum / md5sum,
and -c agreeing with them on good and tampered files."""
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

import fastconc

ROOT = pathlib.Path(fastconc.__file__).resolve().parent.parent
TOOLS = {"sha256": "sha256sum", "md5": "md5sum", "sha1": "sha1sum",
         "sha512": "sha512sum"}


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def ours(args, cwd, stdin=b""):
    return subprocess.run([sys.executable, "-m", "fastconc", "hash", *args],
                          cwd=cwd, input=stdin, capture_output=True,
                          env=_env(), timeout=120, check=False)


def theirs(tool, args, cwd, stdin=b""):
    return subprocess.run([tool, *args], cwd=cwd, input=stdin,
                          capture_output=True, timeout=120, check=False)


@pytest.fixture
def tree(tmp_path, rng):
    names = ["plain", "with space", "two  spaces", " lead", "trail ",
             "back\\slash", "new\nline", "star*", "ünïcode", "empty",
             "big.bin"]
    for n in names:
        size = 0 if n == "empty" else 3 << 20 if n == "big.bin" else \
            rng.randrange(1, 100_000)
        (tmp_path / n).write_bytes(rng.randbytes(size))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "inner file").write_bytes(b"inner")
    return tmp_path, names + ["sub/inner file"]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("algo", sorted(TOOLS))
def test_output_identical(algo, tree):
    tool = TOOLS[algo]
    if shutil.which(tool) is None:
        pytest.skip(f"no {tool}")
    cwd, names = tree
    b = theirs(tool, names, cwd)
    assert b.returncode == 0
    for extra in ([], ["-T", "1"], ["-T", "3"]):
        a = ours(["-a", algo, *extra, *names], cwd)
        assert a.returncode == 0, a.stderr
        assert a.stdout == b.stdout


@pytest.mark.timeout(300)
@pytest.mark.parametrize("algo", ["sha256", "md5"])
def test_stdin_and_missing(algo, tree):
    tool = TOOLS[algo]
    if shutil.which(tool) is None:
        pytest.skip(f"no {tool}")
    cwd, _ = tree
    data = b"from stdin\n" * 1000
    for args in ([], ["-"], ["plain", "-", "empty"]):
        a, b = ours(["-a", algo, *args], cwd, data), theirs(tool, args, cwd,
                                                             data)
        assert (a.returncode, a.stdout) == (b.returncode, b.stdout)
    args = ["plain", "missing file", "empty", "sub"]
    a, b = ours(["-a", algo, *args], cwd), theirs(tool, args, cwd)
    assert a.returncode == b.returncode == 1
    assert a.stdout == b.stdout
    assert b"missing file: No such file or directory" in a.stderr
    assert b"sub: Is a directory" in a.stderr


@pytest.mark.timeout(300)
@pytest.mark.parametrize("algo", ["sha256", "md5"])
def test_check_agrees(algo, tree):
    tool = TOOLS[algo]
    if shutil.which(tool) is None:
        pytest.skip(f"no {tool}")
    cwd, names = tree
    sums = theirs(tool, names, cwd).stdout
    (cwd / "SUMS").write_bytes(sums)
    (cwd / "OURS").write_bytes(ours(["-a", algo, *names], cwd).stdout)
    for listing in ("SUMS", "OURS"):
        a = ours(["-a", algo, "-c", listing], cwd)
        b = theirs(tool, ["-c", listing], cwd)
        assert a.returncode == b.returncode == 0, a.stderr
        assert a.stdout == b.stdout
    # From stdin.
    a = ours(["-a", algo, "-c"], cwd, sums)
    b = theirs(tool, ["-c"], cwd, sums)
    assert (a.returncode, a.stdout) == (b.returncode, b.stdout) == (0, b.stdout)
    # Tamper: change a byte, delete a file, add a junk line, BSD tag line.
    p = cwd / "with space"
    data = bytearray(p.read_bytes())
    data[0] ^= 1
    p.write_bytes(bytes(data))
    (cwd / "plain").unlink()
    tag = theirs(tool, ["--tag", "empty"], cwd).stdout
    (cwd / "BAD").write_bytes(sums + b"not a checksum line\n" + tag)
    a = ours(["-a", algo, "-c", "BAD"], cwd)
    b = theirs(tool, ["-c", "BAD"], cwd)
    assert a.returncode == b.returncode == 1
    assert a.stdout == b.stdout
    assert b"with space: FAILED\n" in a.stdout
    assert b"plain: FAILED open or read\n" in a.stdout
    for warning in (b"1 line is improperly formatted",
                    b"1 listed file could not be read",
                    b"1 computed checksum did NOT match"):
        assert warning in a.stderr
    # Nothing valid at all.
    a = ours(["-a", algo, "-c"], cwd, b"junk\n")
    b = theirs(tool, ["-c"], cwd, b"junk\n")
    assert a.returncode == b.returncode == 1
    assert b"no properly formatted" in a.stderr


def test_unknown_algorithm(tmp_path):
    r = ours(["-a", "sha257", "x"], tmp_path)
    assert r.returncode == 2
    assert b"sha256" in r.stderr
