"""parallel_map and map_array: the Python side of fastconc's parallel map.

The work is done in C (``_core._pmap_window``, ``_core._map_array``); this
module validates arguments, cuts the input into windows (``buffersize``),
and checks a native kernel's signature against the array's dtype.
"""
from __future__ import annotations

import ctypes
import itertools
from _ctypes import CFuncPtr  # what ctypes exports as _CFuncPtr
from typing import Any, Callable, Iterable, Iterator, Optional, TypeVar, cast

from . import _core

__all__ = ["parallel_map", "map_array"]

T = TypeVar("T")
R = TypeVar("R")


def _check_positive(name: str, value: Optional[int]) -> None:
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int or None, "
                        f"not {type(value).__name__!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1 or None")


def _pmap_windows(fn: Callable[[T], R], it: Iterator[T],
                  threads: Optional[int], chunksize: Optional[int],
                  ordered: bool, window: int) -> Iterator[R]:
    """buffersize: one window of at most ``window`` items at a time."""
    while True:
        items = list(itertools.islice(it, window))
        if not items:
            return
        n = len(items)
        results = _core._pmap_window(fn, items, threads, chunksize, ordered)
        del items
        # (a failure propagates from here and ends the generator)
        yield from results
        if n < window:
            return


def parallel_map(fn: Callable[[T], R], iterable: Iterable[T], *,
                 threads: Optional[int] = None,
                 chunksize: Optional[int] = None, ordered: bool = True,
                 buffersize: Optional[int] = None) -> Iterator[R]:
    """Apply fn to every item of iterable on fastconc's native pool.

    Items are handed to the threads in chunks from C (each thread takes the
    GIL once per chunk), so the cost per item is close to a plain loop's;
    the calls run in parallel where fn releases the GIL (or on a
    free-threaded build).  Returns an iterator of the results, in input
    order, or in completion order when ordered is false.

      threads: threads to use (None: the pool size).
      chunksize: items per task (None: picked from the number of items).
      ordered: yield in input order (True) or in completion order.
      buffersize: take at most this many items from iterable ahead of the
        consumer (infinite iterables work); None reads the whole input
        first.

    The first exception raised by fn stops the remaining work and is
    re-raised, with its traceback, at its position in the results.

    Without buffersize, a list is not copied: its items are read as the
    map runs, as a for loop over it would (its length is taken at the
    first next(); a list that shrinks meanwhile fails with RuntimeError at
    the first missing item).
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, not {type(fn).__name__!r}")
    _check_positive("threads", threads)
    _check_positive("chunksize", chunksize)
    _check_positive("buffersize", buffersize)
    it = iter(iterable)
    if buffersize is not None:
        return _pmap_windows(fn, it, threads, chunksize, bool(ordered),
                             buffersize)
    # One window: the C iterator lists the input at its first next(), then
    # hands out the results without a Python frame per item (on a
    # free-threaded build, that per-item frame was as costly as a cheap
    # fn, and ran on one thread).
    # A list or tuple goes as it is: C copies it in one go (a tuple not at
    # all) instead of stepping an iterator on one thread.
    src: Iterable[T] = (iterable if type(iterable) in (list, tuple)
                        else it)
    return cast("Iterator[R]", _core._pmap_window(fn, src, threads, chunksize,
                                                  bool(ordered)))


# dtype name -> (ctypes element type, _core code)
_DTYPES = {
    "float64": (ctypes.c_double, "d"),
    "float32": (ctypes.c_float, "f"),
    "int64": (ctypes.c_int64, "q"),
    "int32": (ctypes.c_int32, "i"),
}


def _same_ctype(a: Any, b: Any) -> bool:
    return (a is b or (isinstance(a, type) and isinstance(b, type)
                       and issubclass(a, ctypes._SimpleCData)
                       and issubclass(b, ctypes._SimpleCData)
                       # (typeshed does not declare _SimpleCData._type_,
                       # the type code every concrete ctypes type has)
                       and a._type_ == b._type_))  # type: ignore[attr-defined]


def _is_pointer_to(t: Any, elem: Any) -> bool:
    return (isinstance(t, type) and issubclass(t, ctypes._Pointer)
            and _same_ctype(t._type_, elem))


def _kernel_signature(kernel: Any) -> tuple[int, list[Any], Any]:
    """Return (address, argtypes, restype) of a ctypes function pointer or
    an object with .address and a ctypes signature (numba cfunc)."""
    proto: Any
    if isinstance(kernel, CFuncPtr):
        address = ctypes.cast(kernel, ctypes.c_void_p).value
        proto = kernel
    elif hasattr(kernel, "address"):
        address = kernel.address
        proto = getattr(kernel, "ctypes", None)
        if proto is None:
            proto = kernel
    else:
        raise TypeError("kernel must be a ctypes function pointer or an "
                        "object with .address and a ctypes signature (such "
                        f"as numba.cfunc), not {type(kernel).__name__!r}")
    argtypes = getattr(proto, "argtypes", None)
    restype = getattr(proto, "restype", None)
    if argtypes is None:
        raise TypeError("kernel has no ctypes signature: set its argtypes "
                        "and restype")
    if not isinstance(address, int) or address == 0:
        raise TypeError("kernel has no valid function address")
    return address, list(argtypes), restype


def _map_array_args(kernel: Any, array: Any, *, out: Any = None,
                    threads: Optional[int] = None) -> tuple[Any, ...]:
    """Check map_array's arguments; return those of ``_core._map_array``
    (the last one, ``out``, is what the call returns)."""
    import numpy as np

    _check_positive("threads", threads)
    if not isinstance(array, np.ndarray):
        raise TypeError("array must be a numpy array, not "
                        f"{type(array).__name__!r}")
    entry = _DTYPES.get(array.dtype.name)
    if entry is None or not array.dtype.isnative:
        raise TypeError(f"map_array supports float64, float32, int64 and "
                        f"int32 arrays in native byte order, not "
                        f"{array.dtype}")
    elem, code = entry
    address, argtypes, restype = _kernel_signature(kernel)
    if (len(argtypes) == 1 and _same_ctype(argtypes[0], elem)
            and _same_ctype(restype, elem)):
        block = False
    elif (len(argtypes) == 3 and restype is None
          and _is_pointer_to(argtypes[0], elem)
          and _is_pointer_to(argtypes[1], elem)
          and _same_ctype(argtypes[2], ctypes.c_int64)):
        block = True
    else:
        names = [getattr(t, "__name__", repr(t)) for t in argtypes]
        rname = getattr(restype, "__name__", repr(restype))
        raise TypeError(
            f"kernel signature {rname}({', '.join(names)}) does not match "
            f"a {array.dtype} array: expected {elem.__name__}"
            f"({elem.__name__}) or None(LP_{elem.__name__}, "
            f"LP_{elem.__name__}, c_int64)")
    # (ascontiguousarray makes a 0-d array 1-d: keep the caller's shape)
    src = np.ascontiguousarray(array).reshape(array.shape)
    if out is None:
        out = np.empty_like(src)
    else:
        if not isinstance(out, np.ndarray):
            raise TypeError("out must be a numpy array or None")
        if out.dtype != array.dtype or out.shape != array.shape:
            raise ValueError(f"out must have shape {array.shape} and dtype "
                             f"{array.dtype}, not {out.shape} {out.dtype}")
        if not out.flags.c_contiguous or not out.flags.writeable:
            raise ValueError("out must be a writable C-contiguous array")
    return (address, code, block, src.reshape(-1), out.reshape(-1), threads,
            out)


def map_array(kernel: Any, array: Any, *, out: Any = None,
              threads: Optional[int] = None) -> Any:
    """Apply a native kernel to every element of a numpy array, on the pool,
    with the GIL released for the whole call.

      kernel: a ctypes function pointer, or an object with .address and a
        ctypes signature (numba's cfunc gives both).  Element form T(T), or
        block form void(const T *in, T *out, int64 n), with T the array's
        dtype: float64, float32, int64 or int32.
      array: a numpy array (a non-contiguous one is copied first).
      out: where to write (same shape and dtype, C-contiguous); None
        allocates a new array.
      threads: threads to use (None: the pool size).

    Returns out.  A kernel whose signature does not match the dtype is
    refused with TypeError.
    """
    # (numpy's stubs declare ndarray.__buffer__ only for Python >= 3.12;
    # the arguments are typed Any here)
    return _core._map_array(*_map_array_args(kernel, array, out=out,
                                              threads=threads))
