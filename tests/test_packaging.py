"""Packaging pieces that need no wheel build: one version everywhere, and
setup.py's library look-up, which names every missing library in one
message with one install command.  The wheel itself (auditwheel, hidden
system libraries, the sdist, the oldest setuptools) is checked by
tests/packaging/check_wheel.sh (`make test-wheel`)."""
import importlib.metadata
import os
import pathlib
import re
import runpy
import shutil
import subprocess
import sys

import pytest
import setuptools

import fastconc
import fastconc._version

ROOT = pathlib.Path(__file__).resolve().parent.parent
# pkg-config name -> Debian package, as the README and the Makefile name them
REQUIRED = {"libcrypto": "libssl-dev", "zlib": "zlib1g-dev",
            "libzstd": "libzstd-dev", "liblz4": "liblz4-dev",
            "libxxhash": "libxxhash-dev"}
OPTIONAL = {"libisal": "libisal-dev", "libdeflate": "libdeflate-dev"}
ALL = {**REQUIRED, **OPTIONAL}

needs_pkg_config = pytest.mark.skipif(shutil.which("pkg-config") is None,
                                      reason="pkg-config not installed")


# --- one version -----------------------------------------------------------

def test_one_version_everywhere():
    v = fastconc._version.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+([a-z]+\d+)?", v), v
    assert fastconc.__version__ == v
    assert fastconc._core.__version__ == v, "stale build: rebuild the module"
    assert fastconc.info()["version"] == v


def test_version_defined_once():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^dynamic = \["version"\]', pyproject, re.M)
    assert not re.search(r'^version = "', pyproject, re.M)
    assert 'attr = "fastconc._version.__version__"' in pyproject
    for path in (ROOT / "src").rglob("*.[ch]"):
        assert not re.search(r'#\s*define\s+FC_VERSION\s+"', path.read_text()), path


def test_installed_metadata_agrees():
    try:
        meta = importlib.metadata.version("fastconc")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("fastconc is not installed (only built in place)")
    assert meta == fastconc.__version__


def test_cli_version():
    out = subprocess.run([sys.executable, "-m", "fastconc", "--version"],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"fastconc {fastconc.__version__}"


# --- the library look-up in setup.py ---------------------------------------

@pytest.fixture
def setup_py(monkeypatch):
    """setup.py's namespace, with setup() itself a no-op."""
    monkeypatch.setattr(setuptools, "setup", lambda **kw: None)
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("PKG_CONFIG_PATH", raising=False)
    monkeypatch.delenv("FASTCONC_REQUIRE_ALL", raising=False)
    return runpy.run_path(str(ROOT / "setup.py"))


def pc_dir(tmp_path, names):
    """A folder holding the .pc files of these libraries only."""
    d = tmp_path / "pc"
    d.mkdir()
    for name in names:
        src = subprocess.run(["pkg-config", "--variable=pcfiledir", name],
                             capture_output=True, text=True, check=True)
        os.symlink(os.path.join(src.stdout.strip(), name + ".pc"),
                   d / (name + ".pc"))
    return d


def fails_naming(setup_py, capsys, missing, pkg_config=True):
    with pytest.raises(SystemExit) as exc:
        setup_py["find_libraries"]()
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert err.count("fastconc build error") == 1, err
    apt = [line for line in err.splitlines() if "apt-get install" in line]
    assert len(apt) == 1, err
    want = ["pkg-config"] if not pkg_config else []
    want += [ALL[n] for n in ALL if n in missing]
    assert apt[0].split("apt-get install", 1)[1].split() == want, err
    for name in ALL:
        named = re.search(rf"^\s+{name}\s+\(package {ALL[name]}\b", err, re.M)
        assert bool(named) == (name in missing), (name, err)
    return err


@needs_pkg_config
def test_nothing_found_names_all_seven(setup_py, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PKG_CONFIG_LIBDIR", str(pc_dir(tmp_path, [])))
    fails_naming(setup_py, capsys, set(ALL))


@needs_pkg_config
def test_some_found_names_the_others(setup_py, tmp_path, monkeypatch, capsys):
    have = ["zlib", "libzstd", "libisal"]
    monkeypatch.setenv("PKG_CONFIG_LIBDIR", str(pc_dir(tmp_path, have)))
    fails_naming(setup_py, capsys, set(ALL) - set(have))


@needs_pkg_config
def test_optional_missing_warns_or_fails(setup_py, tmp_path, monkeypatch,
                                         capsys):
    monkeypatch.setenv("PKG_CONFIG_LIBDIR", str(pc_dir(tmp_path, REQUIRED)))
    cflags, libs, macros = setup_py["find_libraries"]()
    assert macros == []
    assert {"-lcrypto", "-lz", "-lzstd", "-llz4", "-lxxhash"} <= set(libs)
    err = capsys.readouterr().err
    assert "building without" in err and "libisal-dev libdeflate-dev" in err
    monkeypatch.setenv("FASTCONC_REQUIRE_ALL", "1")
    fails_naming(setup_py, capsys, set(OPTIONAL))


def test_no_pkg_config(setup_py, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    err = fails_naming(setup_py, capsys, set(ALL), pkg_config=False)
    assert "pkg-config is not installed" in err


@needs_pkg_config
def test_everything_found(setup_py, capsys):
    cflags, libs, macros = setup_py["find_libraries"]()
    assert sorted(macros) == [("FC_HAVE_ISAL", "1"), ("FC_HAVE_LIBDEFLATE", "1")]
    assert {"-lcrypto", "-lz", "-lzstd", "-llz4", "-lxxhash", "-lisal",
            "-ldeflate"} <= set(libs)
    assert capsys.readouterr().err == ""
