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


# --- sha256sum's and b3sum's other flags ------------------------------------------

def _need(*tools):
    for t in tools:
        if shutil.which(t) is None:
            pytest.skip(f"no {t}")


@pytest.mark.timeout(300)
@pytest.mark.parametrize("algo", ["sha256", "md5"])
@pytest.mark.parametrize("flags", [["--tag"], ["-b"], ["--binary", "--tag"],
                                   ["-t"], ["--text"], ["-z"],
                                   ["--zero", "--tag"], ["-z", "-b"]])
def test_output_flags_identical(algo, flags, tree):
    """--tag, -z, -b, -t: byte for byte what coreutils writes, names with
    spaces, backslashes and newlines included."""
    tool = TOOLS[algo]
    _need(tool)
    cwd, names = tree
    a = ours(["-a", algo, *flags, *names], cwd)
    b = theirs(tool, [*flags, *names], cwd)
    assert a.returncode == b.returncode == 0, a.stderr
    assert a.stdout == b.stdout


@pytest.mark.timeout(300)
def test_sha256sum_checks_our_manifests(tree):
    """sha256sum -c accepts fastconc hash's plain and --tag lists whole;
    it reads one line of a NUL-terminated list (coreutils 9.1 refuses
    -c -z), so -z is checked one entry at a time and, for names without a
    newline, with the NULs made newlines."""
    _need("sha256sum")
    cwd, names = tree
    for flags in ([], ["--tag"], ["-b"]):
        (cwd / "LIST").write_bytes(ours([*flags, *names], cwd).stdout)
        b = theirs("sha256sum", ["-c", "LIST"], cwd)
        assert b.returncode == 0, b.stderr
        assert b.stdout.count(b": OK\n") == len(names)
    for name in (n for n in names if "\n" not in n):
        (cwd / "ONE").write_bytes(ours(["-z", name], cwd).stdout)
        b = theirs("sha256sum", ["-c", "ONE"], cwd)
        assert b.returncode == 0 and b.stdout.endswith(b": OK\n"), name
    plain = [n for n in names if "\n" not in n and "\\" not in n]
    zlist = ours(["-z", *plain], cwd).stdout
    assert zlist.count(b"\0") == len(plain) and b"\n" not in zlist
    (cwd / "ZL").write_bytes(zlist.replace(b"\0", b"\n"))
    b = theirs("sha256sum", ["-c", "ZL"], cwd)
    assert b.returncode == 0 and b.stdout.count(b": OK\n") == len(plain)


@pytest.mark.timeout(300)
def test_b3sum_checks_our_manifests(tree):
    _need("b3sum")
    cwd, names = tree
    listing = ours(["-a", "blake3", *names], cwd).stdout
    assert listing == theirs("b3sum", names, cwd).stdout
    (cwd / "LIST").write_bytes(listing)
    b = theirs("b3sum", ["-c", "LIST"], cwd)
    assert b.returncode == 0, b.stderr
    assert b.stdout.count(b": OK\n") == len(names)
    # b3sum (1.x) has no --tag or -z; each is read back by fastconc.
    for flags in (["--tag"], ["-z"], ["-z", "--tag"]):
        (cwd / "L2").write_bytes(ours(["-a", "blake3", *flags, *names],
                                      cwd).stdout)
        a = ours(["-a", "blake3", "-c", "L2"], cwd)
        assert a.returncode == 0, a.stderr
        assert a.stdout == b.stdout


@pytest.mark.timeout(300)
def test_we_check_their_manifests(tree):
    """fastconc hash -c on sha256sum's plain, --tag and -z lists, on
    b3sum's, and on xxhsum's BSD lines."""
    _need("sha256sum")
    cwd, names = tree
    for flags in ([], ["--tag"], ["-b"], ["-z"], ["-z", "--tag"]):
        (cwd / "LIST").write_bytes(theirs("sha256sum", [*flags, *names],
                                          cwd).stdout)
        a = ours(["-c", "LIST"], cwd)
        assert a.returncode == 0, (flags, a.stderr)
        assert a.stdout.count(b": OK\n") == len(names)
        if "-z" not in flags:
            assert a.stdout == theirs("sha256sum", ["-c", "LIST"],
                                      cwd).stdout
    if shutil.which("b3sum"):
        (cwd / "B3").write_bytes(theirs("b3sum", names, cwd).stdout)
        a = ours(["-a", "blake3", "-c", "B3"], cwd)
        assert (a.returncode, a.stdout) == (
            0, theirs("b3sum", ["-c", "B3"], cwd).stdout)
    if shutil.which("xxhsum"):
        plain = [n for n in names if "\n" not in n and "\\" not in n]
        for algo, h in (("xxh64", "-H1"), ("xxh32", "-H0"),
                        ("xxh3_128", "-H2"), ("xxh3_64", "-H3")):
            tagged = theirs("xxhsum", [h, "--tag", *plain], cwd).stdout
            assert tagged == ours(["-a", algo, "--tag", *plain], cwd).stdout
            (cwd / "XX").write_bytes(tagged)
            a = ours(["-a", algo, "-c", "XX"], cwd)
            assert a.returncode == 0 and a.stdout.count(b": OK") == \
                len(plain)


def test_check_crlf_lists(tmp_path):
    """#24 item 7: a list with CRLF line endings (written on Windows) made
    -c look for 'name\\r'; GNU sha256sum accepts such lists."""
    _need("sha256sum")
    for name in ("a.txt", "b c.txt"):
        (tmp_path / name).write_bytes(name.encode() * 100)
    lf = theirs("sha256sum", ["a.txt", "b c.txt"], tmp_path).stdout
    tag = theirs("sha256sum", ["--tag", "a.txt", "b c.txt"],
                 tmp_path).stdout
    for text in (lf, tag):
        (tmp_path / "CRLF").write_bytes(text.replace(b"\n", b"\r\n"))
        a = ours(["-c", "CRLF"], tmp_path)
        b = theirs("sha256sum", ["-c", "CRLF"], tmp_path)
        assert a.returncode == b.returncode == 0, a.stderr
        assert a.stdout == b.stdout == b"a.txt: OK\nb c.txt: OK\n"


@pytest.fixture
def check_tree(tmp_path):
    """Files, and a list with good lines, a bad checksum, a missing file
    and an improperly formatted line."""
    for name in ("good1", "good2", "changed"):
        (tmp_path / name).write_bytes(name.encode() * 1000)
    sums = theirs("sha256sum", ["good1", "good2", "changed"],
                  tmp_path).stdout
    (tmp_path / "changed").write_bytes(b"other")
    missing = sums.split(b"\n")[0].replace(b"good1", b"missing")
    (tmp_path / "LIST").write_bytes(sums + b"junk line\n" + missing + b"\n")
    (tmp_path / "ONLYMISSING").write_bytes(missing + b"\n")
    (tmp_path / "GOODANDMISSING").write_bytes(
        sums.split(b"\n")[0] + b"\n" + missing + b"\n")
    return tmp_path


@pytest.mark.parametrize("flags", [
    [], ["--quiet"], ["--status"], ["-w"], ["--warn"], ["--strict"],
    ["--ignore-missing"], ["--ignore-missing", "--strict"],
    ["--warn", "--quiet"], ["--quiet", "--warn"], ["--status", "-w"],
    ["--status", "--strict"],
])
@pytest.mark.parametrize("listing", ["LIST", "ONLYMISSING",
                                     "GOODANDMISSING", "-"])
def test_check_options_like_coreutils(check_tree, flags, listing):
    _need("sha256sum")
    stdin = (check_tree / "LIST").read_bytes() if listing == "-" else b""
    a = ours(["-c", *flags, listing], check_tree, stdin)
    b = theirs("sha256sum", ["-c", *flags, listing], check_tree, stdin)
    assert a.returncode == b.returncode
    assert a.stdout == b.stdout
    assert a.stderr.replace(b"fastconc hash:", b"sha256sum:") == b.stderr


@pytest.mark.parametrize("flags", [
    ["-c", "--tag"], ["-c", "-b"], ["-c", "-t"], ["-c", "--zero"],
    ["--quiet"], ["--status"], ["--strict"], ["-w"], ["--ignore-missing"],
])
def test_usage_errors_like_coreutils(tmp_path, flags):
    """Refused as coreutils refuses them; exit status 2 (argparse) where
    coreutils uses 1, with this subcommand's usage."""
    _need("sha256sum")
    (tmp_path / "f").write_bytes(b"x")
    a = ours([*flags, "f"], tmp_path)
    b = theirs("sha256sum", [*flags, "f"], tmp_path)
    assert b.returncode == 1 and a.returncode == 2
    assert a.stdout == b.stdout == b""
    assert a.stderr.startswith(b"usage: fastconc hash ")


@pytest.mark.parametrize("length", [1, 16, 31, 32, 33, 64, 100])
def test_blake3_length(tmp_path, length):
    """b3sum's -l N; the list reads back with -c (b3sum -c reads only
    32-byte lines)."""
    _need("b3sum")
    for name in ("a", "b b"):
        (tmp_path / name).write_bytes(name.encode() * 50_000)
    args = ["-l", str(length), "a", "b b"]
    a = ours(["-a", "blake3", *args], tmp_path)
    assert a.returncode == 0, a.stderr
    assert a.stdout == theirs("b3sum", args, tmp_path).stdout
    (tmp_path / "L").write_bytes(a.stdout)
    c = ours(["-a", "blake3", "-c", "L"], tmp_path)
    assert (c.returncode, c.stdout) == (0, b"a: OK\nb b: OK\n")
    (tmp_path / "a").write_bytes(b"changed")
    c = ours(["-a", "blake3", "-c", "L"], tmp_path)
    assert c.returncode == 1 and b"a: FAILED\n" in c.stdout


def test_length_only_for_blake3(tmp_path):
    (tmp_path / "f").write_bytes(b"x")
    for args in (["-l", "16", "f"], ["-a", "sha512", "--length", "8", "f"],
                 ["-a", "blake3", "-l", "0", "f"],
                 ["-a", "blake3", "-c", "-l", "16", "f"]):
        r = ours(args, tmp_path)
        assert r.returncode == 2 and b"usage: fastconc hash" in r.stderr
        assert r.stdout == b""


def test_hash_version():
    r = ours(["--version"], ROOT)
    assert r.returncode == 0
    assert r.stdout == f"fastconc hash (fastconc) {fastconc.__version__}\n" \
        .encode()


def test_threads_zero_is_all(tree):
    cwd, names = tree
    a = ours(["-T", "0", *names], cwd)
    assert a.returncode == 0
    assert a.stdout == ours(names, cwd).stdout


def test_progress_on_a_terminal_only(tmp_path, monkeypatch, capsysbinary):
    """A bar on stderr for long work when it is a terminal, none when
    piped; the digests are the same either way."""
    import hashlib

    from fastconc import _cli_common, cli

    big = tmp_path / "big"
    big.write_bytes(os.urandom(1 << 20) * 10)        # above PROGRESS_MIN
    small = tmp_path / "small"
    small.write_bytes(b"small")
    want = (f"{hashlib.sha256(big.read_bytes()).hexdigest()}  {big}\n"
            f"{hashlib.sha256(b'small').hexdigest()}  {small}\n").encode()
    drawn = []
    real_init = _cli_common.Progress.__init__

    def spy(self, total, desc, quiet, unit="B"):
        real_init(self, total, desc, quiet, unit)
        drawn.append((total, self.active))

    monkeypatch.setattr(_cli_common.Progress, "__init__", spy)
    from fastconc import _cli_hash
    monkeypatch.setattr(_cli_hash, "BATCH_BYTES", 1 << 20)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert cli.main(["hash", str(big), str(small)]) == 0
    assert capsysbinary.readouterr().out == want
    try:
        import rich  # noqa: F401
        assert drawn == [(10 << 20 | 5, True)]
    except ImportError:
        pass
    drawn.clear()
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    assert cli.main(["hash", str(big), str(small)]) == 0
    out = capsysbinary.readouterr()
    assert out.out == want and out.err == b""
    assert all(not active for _, active in drawn)
