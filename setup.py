"""Build fastconc._core from src/, linking system libraries found by pkg-config.

Kernels for one instruction set live in files named ``*_<isa>.c`` and are
compiled with that instruction set's flags only; the rest of the module is
compiled for the baseline, and the running CPU picks the kernels.

The libraries are looked up when the extension is built (not when this file
is imported), and a missing one stops the build with one message that names
all of them; the version comes from fastconc/_version.py.  Metadata lives in
pyproject.toml.
"""
import os
import platform
import re
import shutil
import subprocess
import sys
from glob import glob

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

# pkg-config name -> Debian/Ubuntu package that provides it
REQUIRED = {
    "libcrypto": "libssl-dev",
    "zlib": "zlib1g-dev",
    "libzstd": "libzstd-dev",
    "liblz4": "liblz4-dev",
    "libxxhash": "libxxhash-dev",
}
# The faster gzip/zlib/deflate backends: the module builds without them.
# FASTCONC_REQUIRE_ALL=1 (make wheel) makes them required, so that a wheel
# for distribution never lacks them silently.
OPTIONAL = {
    "libisal": ("libisal-dev", "FC_HAVE_ISAL"),
    "libdeflate": ("libdeflate-dev", "FC_HAVE_LIBDEFLATE"),
}

# file suffix -> compiler flags for that instruction set
ISA_FLAGS = {
    "sse42": ["-msse4.2", "-mpclmul"],
    "avx2": ["-mavx2", "-mbmi2"],
    "vpclmul": ["-mavx2", "-mbmi2", "-mpclmul", "-mvpclmulqdq"],
    "avx512": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx2", "-mbmi2"],
    "shani": ["-msha", "-msse4.1", "-mssse3"],
    "avx512vp": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx2", "-mbmi2",
                 "-mpclmul", "-mvpclmulqdq"],
    "avx512vnni": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512vnni",
                   "-mavx2", "-mbmi2"],
}


def fail(msg):
    sys.stderr.write(f"fastconc build error: {msg}\n")
    sys.exit(1)


def read_version():
    """The one version string, from fastconc/_version.py (which imports
    nothing); the C build gets it as FC_VERSION."""
    with open(os.path.join("fastconc", "_version.py"), encoding="utf-8") as f:
        m = re.search(r'^__version__ = "([0-9A-Za-z.+!-]+)"$', f.read(), re.M)
    if m is None:
        fail('fastconc/_version.py has no line __version__ = "..."')
    return m.group(1)


def pkg_config(name, *flags):
    out = subprocess.run(["pkg-config", *flags, name], capture_output=True,
                         text=True)
    if out.returncode != 0:
        return None
    return out.stdout.split()


def missing_message(missing, optional_missing, have_pkg_config):
    """One message naming every missing library (pkg-config name and Debian
    package) and one command that installs them all."""
    debs = [REQUIRED.get(n) or OPTIONAL[n][0]
            for n in [*missing, *optional_missing]]
    if have_pkg_config:
        head = (f"pkg-config did not find {len(debs)} of the libraries "
                f"fastconc links:")
    else:
        head = ("pkg-config is not installed; fastconc finds these "
                "libraries with it:")
        debs.insert(0, "pkg-config")
    lines = [head]
    for name in missing:
        lines.append(f"    {name:<11} (package {REQUIRED[name]})")
    for name in optional_missing:
        lines.append(f"    {name:<11} (package {OPTIONAL[name][0]}; "
                     f"optional, the faster gzip/zlib/deflate backend)")
    lines.append("On Debian or Ubuntu, install them all with:")
    lines.append("    sudo apt-get install " + " ".join(debs))
    lines.append("Elsewhere install the packages that provide these "
                 "pkg-config names (or add their .pc folder to "
                 "PKG_CONFIG_PATH).")
    return "\n".join(lines)


def find_libraries():
    """cflags, link flags and macros for every library, or one error that
    names all the missing ones."""
    require_all = os.environ.get("FASTCONC_REQUIRE_ALL") == "1"
    if shutil.which("pkg-config") is None:
        fail(missing_message(list(REQUIRED), list(OPTIONAL), False))
    cflags, libs, macros, found = [], [], [], {}
    missing, optional_missing = [], []
    for name in REQUIRED:
        flags = pkg_config(name, "--cflags", "--libs")
        if flags is None:
            missing.append(name)
        else:
            found[name] = flags
    for name, (_deb, macro) in OPTIONAL.items():
        flags = pkg_config(name, "--cflags", "--libs")
        if flags is None:
            optional_missing.append(name)
        else:
            found[name] = flags
            macros.append((macro, "1"))
    if missing or (optional_missing and require_all):
        fail(missing_message(missing, optional_missing, True))
    if optional_missing:
        sys.stderr.write("fastconc build: building without the optional "
                         "libraries below.\n" +
                         missing_message([], optional_missing, True) + "\n")
    for flags in found.values():
        for f in flags:
            (libs if f.startswith(("-l", "-L")) else cflags).append(f)
    return cflags, libs, macros


X86 = platform.machine().lower() in ("x86_64", "amd64", "i686", "i386")


def isa_of(path):
    stem = os.path.splitext(os.path.basename(path))[0]
    suffix = stem.rsplit("_", 1)[-1]
    return suffix if "_" in stem and suffix in ISA_FLAGS else None


class BuildExt(build_ext):
    """Find the libraries, then compile the ``*_<isa>.c`` files with their
    own flags."""

    def run(self):
        # Looked up here rather than when setup.py is imported, so that the
        # sdist and the metadata can be made without the -dev packages.
        cflags, libs, macros = find_libraries()
        for ext in self.extensions:
            if getattr(ext, "fc_configured", False):
                continue
            ext.fc_configured = True
            ext.define_macros = [*ext.define_macros, *macros]
            ext.extra_compile_args = [*ext.extra_compile_args, *cflags,
                                      *extra]
            ext.extra_link_args = [*libs, "-lpthread", *extra]
        super().run()

    def build_extension(self, ext):
        isa_sources = [s for s in ext.sources if isa_of(s)]
        ext.sources = [s for s in ext.sources if not isa_of(s)]
        objects = []
        for src in isa_sources:
            # Off x86 the files compile to nothing (their code is guarded),
            # so they get no ISA flags.
            flags = ISA_FLAGS[isa_of(src)] if X86 else []
            objects += self.compiler.compile(
                [src], output_dir=self.build_temp, macros=ext.define_macros,
                include_dirs=ext.include_dirs,
                extra_postargs=ext.extra_compile_args + flags,
                depends=ext.depends)
        ext.extra_objects = list(ext.extra_objects or []) + objects
        super().build_extension(ext)


warn = ["-Wall", "-Wextra"]
if os.environ.get("FASTCONC_WERROR") == "1":
    warn.append("-Werror")
extra = os.environ.get("FASTCONC_CFLAGS", "").split()

# One folder per concern under src/ (see docs/ARCHITECTURE.md); every .c
# in them is part of the module.
sources = sorted(glob("src/**/*.c", recursive=True))
setup(
    ext_modules=[
        Extension(
            "fastconc._core",
            sources=sources,
            # The ISA files are listed too: they are linked as extra objects,
            # which the up-to-date check would otherwise not see.
            # So is fastconc/_version.py, whose FC_VERSION is compiled in.
            depends=sorted(glob("src/**/*.h", recursive=True) +
                           [s for s in sources if isa_of(s)]) +
            ["fastconc/_version.py"],
            include_dirs=["src"],
            # The version string, defined once in fastconc/_version.py.
            define_macros=[("FC_VERSION", f'"{read_version()}"')],
            # BuildExt.run adds the libraries' flags, then FASTCONC_CFLAGS.
            extra_compile_args=["-std=gnu11", "-O3", "-fvisibility=hidden",
                                *warn],
        )
    ],
    cmdclass={"build_ext": BuildExt},
)
