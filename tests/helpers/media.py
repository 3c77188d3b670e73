"""Small image, PDF and text files made by the tests: any pixel size and any byte size,
with just enough structure for streamcli's type and dimension detection (and the real
formats' headers, so other readers agree: PNG chunks carry correct CRCs)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path


def png(width: int = 2, height: int = 1, pad: int = 0) -> bytes:
    """A PNG of width x height (its pixels are not all there for big sizes: an IDAT of one
    row; `pad` bytes of a private ancillary chunk make it as big as wanted)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" + b"\x00" * 3 * min(width, 64))
    extra = chunk(b"prVt", b"\x00" * pad) if pad else b""
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", idat)
            + chunk(b"IEND", b""))


def jpeg(width: int = 3, height: int = 2, app_pad: int = 0) -> bytes:
    """A JPEG's markers: SOI, APP0 (JFIF), an optional APP1 of `app_pad` bytes (as EXIF
    data puts the frame header far from the start), SOF0 with the size, SOS, EOI."""
    def segment(marker: int, data: bytes) -> bytes:
        return bytes([0xFF, marker]) + struct.pack(">H", len(data) + 2) + data
    out = b"\xff\xd8" + segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    while app_pad > 0:
        n = min(app_pad, 65000)
        out += segment(0xE1, b"\x00" * n)
        app_pad -= n
    out += segment(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
    out += segment(0xDA, b"\x01\x01\x00\x00\x3f\x00") + b"\x00\x00"
    return out + b"\xff\xd9"


def gif(width: int = 2, height: int = 2, frames: int = 1) -> bytes:
    """A GIF89a with a global colour table and `frames` images (more than one: animated)."""
    out = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00" * 6
    out += b"!\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00" if frames > 1 else b""
    for _ in range(frames):
        out += b"!\xf9\x04\x00\x0a\x00\x00\x00"  # graphic control extension
        out += b"," + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x44\x01\x00"
    return out + b";"


def webp(width: int = 4, height: int = 3, variant: str = "VP8X") -> bytes:
    """A WebP RIFF header of the given variant (VP8X extended, VP8L lossless, "VP8 " lossy)."""
    if variant == "VP8X":
        payload = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00" + \
            (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    elif variant == "VP8L":
        bits = (width - 1) | ((height - 1) << 14)
        payload = b"VP8L" + struct.pack("<I", 5) + b"\x2f" + bits.to_bytes(4, "little")
    else:
        frame = b"\x00\x00\x00" + b"\x9d\x01\x2a" + struct.pack("<HH", width, height)
        payload = b"VP8 " + struct.pack("<I", len(frame)) + frame
    payload += b"\x00" * (len(payload) % 2)
    return b"RIFF" + struct.pack("<I", 4 + len(payload)) + b"WEBP" + payload


def pdf(size: int = 0) -> bytes:
    """A minimal PDF, padded with comment lines to at least `size` bytes."""
    head = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <</Type /Catalog>> endobj\n"
    tail = b"trailer <</Root 1 0 R>>\n%%EOF\n"
    filler = b""
    if size > len(head) + len(tail):
        n = size - len(head) - len(tail)
        line = b"%" + b"x" * 78 + b"\n"
        rest = n % len(line)
        filler = line * (n // len(line)) + (b"%" * (rest - 1) + b"\n" if rest else b"")
    return head + filler + tail


def write(directory: Path, name: str, data: bytes | str) -> Path:
    """`data` written to directory/name; the path."""
    path = Path(directory) / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path
