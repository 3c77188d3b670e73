"""What a file is, from its bytes: MIME type, an image's pixel size, a GIF's animation.

Pure functions over bytes and binary files; nothing is decoded.

The signatures are the formats' own: PNG (ISO/IEC 15948 section 5.2), JPEG (ITU T.81
annex B), GIF87a/GIF89a (GIF89a spec section 17), WebP (RIFF container, "WEBP" form type,
Google's WebP container specification), PDF ("%PDF-" header, ISO 32000-1 section 7.5.2;
readers accept it within the first 1024 bytes, so this does too).
"""

from __future__ import annotations

import struct

PNG = "image/png"
JPEG = "image/jpeg"
GIF = "image/gif"
WEBP = "image/webp"
PDF = "application/pdf"
TEXT = "text/plain"
IMAGE_TYPES = (PNG, JPEG, GIF, WEBP)
SUPPORTED = (*IMAGE_TYPES, PDF, TEXT)
EXTENSIONS = {PNG: ".png", JPEG: ".jpg", GIF: ".gif", WEBP: ".webp", PDF: ".pdf", TEXT: ".txt"}
# A URL's type when --attach-type does not say: its path's extension.
BY_EXTENSION = {".png": PNG, ".jpg": JPEG, ".jpeg": JPEG, ".gif": GIF, ".webp": WEBP,
                ".pdf": PDF, ".txt": TEXT}
SNIFF_BYTES = 8192  # read this much to tell the type (and whether text has NUL bytes)


def kind_of(mime: str) -> str | None:
    """"image", "pdf" or "text" for the types an attachment may have; None otherwise."""
    if mime in IMAGE_TYPES:
        return "image"
    return {PDF: "pdf", TEXT: "text"}.get(mime)


def sniff(head: bytes) -> str | None:
    """The type told by the first bytes; None when no known signature matches (the caller
    then tries UTF-8 text)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if b"%PDF-" in head[:1024]:
        return PDF
    return None


def is_text_head(head: bytes, whole: bool = False) -> bool:
    """No NUL byte and valid UTF-8; unless `whole` (the head is the whole file), a
    multi-byte character cut at the end is fine."""
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return (not whole and exc.start >= len(head) - 3
                and exc.reason == "unexpected end of data")
    return True


def dimensions(f, mime: str) -> tuple[int, int] | None:
    """(width, height) in pixels of an image in the binary file `f` (positioned anywhere;
    it is sought), or None when the header cannot be read (a truncated or odd file: the
    server judges it then)."""
    try:
        f.seek(0)
        if mime == JPEG:
            return _jpeg_size(f)
        head = f.read(32)
        if mime == PNG and head[12:16] == b"IHDR":
            return struct.unpack(">II", head[16:24])
        if mime == GIF and len(head) >= 10:
            return struct.unpack("<HH", head[6:10])
        if mime == WEBP:
            return _webp_size(head)
    except (OSError, struct.error):
        return None
    return None


def _webp_size(head: bytes) -> tuple[int, int] | None:
    chunk = head[12:16]
    if chunk == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":  # lossy: the key frame header
        w, h = struct.unpack("<HH", head[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L" and head[20:21] == b"\x2f":  # lossless: 14-bit width-1, height-1
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":  # extended: 24-bit canvas width-1, height-1
        return (int.from_bytes(head[24:27], "little") + 1,
                int.from_bytes(head[27:30], "little") + 1)
    return None


# Start-of-frame markers carry the size; C4 (DHT), C8 (JPG) and CC (DAC) share the range.
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE = frozenset([0x01, *range(0xD0, 0xD8)])  # TEM, RSTn: no length field


def _jpeg_size(f) -> tuple[int, int] | None:
    if f.read(2) != b"\xff\xd8":
        return None
    for _ in range(10_000):  # bounded: a real file has a few dozen segments
        byte = f.read(1)
        while byte == b"\xff":  # fill bytes before a marker
            byte = f.read(1)
        if not byte:
            return None
        marker = byte[0]
        if marker in _STANDALONE:
            continue
        if marker in (0xD9, 0xDA):  # end of image, or scan data before any frame header
            return None
        length = struct.unpack(">H", f.read(2))[0]
        if marker in _SOF:
            _precision, height, width = struct.unpack(">BHH", f.read(5))
            return width, height
        if length < 2:
            return None
        f.seek(length - 2, 1)
        byte = f.read(1)
        if byte != b"\xff":
            return None
        f.seek(-1, 1)
    return None


def gif_frames(f, stop_at: int = 2) -> int:
    """How many images a GIF holds (counting stops at `stop_at`): more than one is an
    animation. Walks the blocks of the GIF89a grammar; a damaged file counts what it read."""
    try:
        f.seek(0)
        header = f.read(13)
        if len(header) < 13:
            return 0
        if header[10] & 0x80:  # global colour table
            f.seek(3 * (2 << (header[10] & 7)), 1)
        frames = 0
        while frames < stop_at:
            introducer = f.read(1)
            if introducer == b",":  # image descriptor
                frames += 1
                desc = f.read(9)
                if len(desc) < 9:
                    break
                if desc[8] & 0x80:  # local colour table
                    f.seek(3 * (2 << (desc[8] & 7)), 1)
                f.read(1)  # LZW minimum code size
                _skip_sub_blocks(f)
            elif introducer == b"!":  # extension: label, then sub-blocks
                f.read(1)
                _skip_sub_blocks(f)
            else:  # trailer (";"), end of file or damage
                break
        return frames
    except OSError:
        return 0


def _skip_sub_blocks(f) -> None:
    while True:
        size = f.read(1)
        if not size or size == b"\x00":
            return
        f.seek(size[0], 1)
