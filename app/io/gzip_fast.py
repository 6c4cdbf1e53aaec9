"""gzip through Intel's ISA-L (`isal`), falling back to the standard `zlib`, without touching any module globals.

Levels follow gzip's 0..9 scale. ISA-L knows levels 0..3 and is 4-30x faster than zlib there, so levels 1..3 go
through ISA-L; 4..9 (smaller, much slower files) go through zlib, which honours them.
"""
from __future__ import annotations

import zlib as _std_zlib
from typing import Iterable, Iterator

import numpy as np

try:
    from isal import isal_zlib as _fast_zlib
except ImportError:  # pragma: no cover - isal is a dependency; keep working without it
    _fast_zlib = _std_zlib

GZIP_WBITS = 16 + 15        # a gzip wrapper, 32 KiB window
_CHUNK = 1 << 20            # compressed bytes read at a time (pieces of up to 4x that decoded, for streaming readers)
# A whole volume is decoded in pieces of up to _PIECE bytes from _READ compressed bytes at a time. The decoder gives
# the GIL back and takes it again once per output block (32 KB, 64 KB, 256 KB, 1 MB, 4 MB, 8 MB, ...: CPython's
# zlib scheme, which isal copies), so 1 MB of a CT read at a time (2 MB out) costs 4 round trips and an 8 MB piece
# 6: with other threads busy (the window being built while a CT decodes), each round trip may wait a switch
# interval. Pieces stay far below glibc's largest mmap threshold, so their memory is reused, not faulted in again,
# and small enough for a progress bar to move on a 16 MB layer. Streaming readers that look at each piece (the
# masks' foreground) keep smaller pieces, which stay in the cache while they are looked at.
_READ = 4 << 20
_PIECE = 8 << 20
_MAX_EMPTY_MEMBERS = 1000


class TruncatedData(ValueError):
    """The compressed stream ended before the expected number of bytes (or held more than expected)."""


def compressor(level: int):
    """A compress object writing one gzip member at `level` (1..9)."""
    if not 1 <= level <= 9:
        raise ValueError(f"gzip compression level must be 1..9, not {level}")
    module = _fast_zlib if level <= 3 else _std_zlib
    return module.compressobj(level, module.DEFLATED, GZIP_WBITS)


def gzip_chunks(chunks: Iterable, level: int) -> Iterator[bytes]:
    """Compress a sequence of buffers into one gzip member, yielding compressed pieces."""
    comp = compressor(level)
    for chunk in chunks:
        out = comp.compress(chunk)
        if out:
            yield out
    yield comp.flush()


def gunzip_into(read, out: np.ndarray, skip: int = 0, progress=None) -> None:
    """Decompress a gzip stream, read by `read(n) -> bytes`, into the flat uint8 array `out`, after discarding
    the first `skip` decompressed bytes (see `gunzip_pieces`). `progress(fraction)` is called after each piece."""
    view = memoryview(out).cast("B")
    filled = 0
    for piece in gunzip_pieces(read, len(view), skip, _READ, _PIECE):
        view[filled:filled + len(piece)] = piece
        filled += len(piece)
        if progress:
            progress(filled / max(1, len(view)))


def gunzip_pieces(read, n: int, skip: int = 0, chunk: int = _CHUNK, piece_max: int = 4 * _CHUNK) -> Iterator[bytes]:
    """The decompressed bytes skip .. skip + n of a gzip stream, read by `read(n) -> bytes`, in bounded pieces
    (a caller can look at a volume without holding it whole). Concatenated gzip members are accepted (the NRRD spec
    allows them). Raises TruncatedData when the stream holds fewer bytes than that, or is corrupt."""
    filled, need = 0, skip + n
    decomp = _fast_zlib.decompressobj(GZIP_WBITS)
    empty = 0                               # members in a row that held nothing (writers never emit them)
    while filled < need:
        if decomp.eof:                      # a member ended: the next one starts in unused_data
            data = decomp.unused_data or read(chunk)
            decomp = _fast_zlib.decompressobj(GZIP_WBITS)
        else:
            data = decomp.unconsumed_tail or read(chunk)
        if not data:
            break
        try:
            piece = decomp.decompress(data, min(need - filled, piece_max))   # bounded pieces: low peak memory
        except (_fast_zlib.error, _std_zlib.error) as exc:
            raise TruncatedData(f"the compressed data is corrupt ({exc})") from None
        empty = empty + 1 if not piece and decomp.eof else 0
        if empty > _MAX_EMPTY_MEMBERS:      # a file of 10^6 empty members would take minutes to walk
            raise TruncatedData(f"the compressed data is corrupt (over {_MAX_EMPTY_MEMBERS} empty gzip members)")
        start = filled - skip
        filled += len(piece)
        if start >= 0:
            yield piece
        elif start + len(piece) > 0:
            yield piece[-start:]
    if filled < need:
        raise TruncatedData(f"the compressed data ends after {max(0, filled - skip)} of {n} bytes")


def gunzip_prefix(read, n: int) -> bytes:
    """The first `n` decompressed bytes of a gzip stream (fewer when the stream holds fewer). Decoding stops as
    soon as `n` bytes are there, so whatever follows them (more data, junk after the last member) is never
    looked at; junk right after a member that ends early also just ends the stream here."""
    out, filled = [], 0
    decomp = _fast_zlib.decompressobj(GZIP_WBITS)
    members = 0
    while filled < n:
        if decomp.eof:
            data = decomp.unused_data or read(_CHUNK)
            if not data or data[:2] != b"\x1f\x8b" or members > _MAX_EMPTY_MEMBERS:
                break
            decomp, members = _fast_zlib.decompressobj(GZIP_WBITS), members + 1
        else:
            data = decomp.unconsumed_tail or read(_CHUNK)
        if not data:
            break
        try:
            piece = decomp.decompress(data, n - filled)
        except (_fast_zlib.error, _std_zlib.error) as exc:
            if filled:
                break
            raise TruncatedData(f"the compressed data is corrupt ({exc})") from None
        out.append(piece)
        filled += len(piece)
    return b"".join(out)
