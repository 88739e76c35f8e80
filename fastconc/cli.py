"""The ``fastconc`` command (also ``python -m fastconc``).

Each subcommand lives in its own module, imported only when used:
``info`` here, ``hash`` in ``_cli_hash``, ``compress``/``decompress`` in
``_cli_codec`` and ``bench`` in the ``bench`` package.  Each module provides
``add_arguments(parser, command)`` and ``run(args) -> int`` (``args.command``
is the subcommand's name), and may provide ``prepare_argv(argv) -> argv``.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence

from ._version import __version__

# subcommand -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "info": ("fastconc.cli", "version, backends, CPU features, pool size"),
    "hash": ("fastconc._cli_hash", "print or check digests (sha256sum style)"),
    "compress": ("fastconc._cli_codec", "compress files"),
    "decompress": ("fastconc._cli_codec", "decompress files"),
    "bench": ("fastconc.bench", "what the GIL costs and what releasing it buys"),
}


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    parser.add_argument("--json", action="store_true",
                        help="print the info() dict as JSON")


def run(args: argparse.Namespace) -> int:
    from . import info

    data = info()
    if args.json:
        print(json.dumps(data, indent=2, sort_keys=True))
        return 0
    print(f"fastconc {data['version']}")
    print(f"python    {sys.version.split()[0]} ({sys.implementation.name})")
    print(f"threads   {data['threads']} (cpu_count {data['cpu_count']})")
    print(f"simd      {data['simd_level']} (best {data['simd_best']})")
    print(f"cpu       {' '.join(data['cpu_features'])}")  # type: ignore[arg-type]
    backends, parallel = data["backends"], data["parallel"]
    assert isinstance(backends, dict) and isinstance(parallel, dict)
    print("backends:")
    for name, backend in sorted(backends.items()):
        par = parallel.get(name)
        flag = "parallel" if par else "single-thread"
        print(f"  {name:<10} {backend}  [{flag}]")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="fastconc",
        description="Hashing, checksums and compression outside the GIL.")
    parser.add_argument("--version", action="version",
                        version=f"fastconc {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    argv = list(sys.argv[1:] if argv is None else argv)
    wanted = next((a for a in argv if not a.startswith("-")), None)
    modules = {}
    parsers = {}
    for name, (modname, helptext) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=helptext, description=helptext)
        parsers[name] = p
        # Only the chosen subcommand's module is imported.
        if name == wanted:
            try:
                mod = importlib.import_module(modname)
            except ImportError as exc:
                parser.error(f"{name}: not available ({exc})")
            mod.add_arguments(p, name)
            modules[name] = mod
            # A module may rewrite its own arguments first (zstd's
            # --fast[=N] in _cli_codec).
            prepare = getattr(mod, "prepare_argv", None)
            if prepare is not None:
                argv = prepare(argv)
    args, extra = parser.parse_known_args(argv)
    if extra:
        # argparse leaves a subcommand's unknown options to the top-level
        # parser, whose message would show the top-level usage: show the
        # subcommand's (exit status 2).
        owner = parsers.get(args.command or "", parser)
        owner.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command is None:
        parser.print_help()
        return 2
    mod = modules[args.command]
    try:
        return int(mod.run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 141


if __name__ == "__main__":
    sys.exit(main())
