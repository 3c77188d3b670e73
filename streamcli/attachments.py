"""-a/--attach: files, URLs and stdin read, typed, checked, as the neutral `Attachment`.

Each is typed by its content and checked against the protocol's limits before anything is
sent; its bytes are streamed from disk as base64 when the request body is sent.

How a protocol renders an Attachment (see providers/*/request.py: user_content):
  att.kind        "image", "pdf" or "text"
  att.mime        image/png, image/jpeg, image/gif, image/webp, application/pdf, text/plain
  att.name        the file's base name; "stdin.<ext>" for `-`; a URL's last path segment
  att.url         a URL, sent by reference (never fetched here); else None
  att.text        a text attachment's content (str; sent inline)
  att.base64()    a `jsonbody` placeholder for the JSON string of the base64 bytes
  att.data_url()  the same as a data: URL ("data:image/png;base64,...")
Images and PDFs are read again, in pieces, while the body is sent (the body is then a
`jsonbody.StreamedBody`): from their file, or for `-` and pipes, which cannot be read
twice, from the temporary copy made as they were read (`spool`).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import Iterator, Sequence

from streamcli import attachspec, bounded, filetypes, limits, prompt, spool
from streamcli.attachspec import shown as said
from streamcli.jsonbody import Base64
from streamcli.errors import UsageError

CHUNK = 3 * 256 * 1024  # bytes read per piece: a multiple of 3, so pieces encode alone


@dataclass(frozen=True)
class Attachment:
    spec: str  # as given to -a (for messages)
    kind: str
    mime: str
    name: str
    url: str | None = None
    path: str | None = None  # a file, read again when the body is sent
    spooled: object = None  # a stream (stdin, a pipe) copied to a temporary file
    text: str | None = None
    size: int = 0  # bytes of content (0 for a URL)
    width: int | None = None
    height: int | None = None
    animated: bool = False  # a GIF of more than one frame

    @property
    def label(self) -> str:
        """The spec as messages show it (credentials masked, quoted when not printable)."""
        return attachspec.shown(self.spec)

    def secrets(self) -> tuple[str, ...]:
        """A URL's credentials: never shown or logged, though a server may quote them."""
        return attachspec.url_secrets(self.url) if self.url is not None else ()

    @property
    def encoded_size(self) -> int:
        """Length of the base64 form."""
        return 4 * ((self.size + 2) // 3)

    @property
    def sent_size(self) -> int:
        """About what it adds to a request body (for the per-request limit)."""
        if self.url is not None:
            return len(self.url)
        if self.text is not None:
            return self.size
        return self.encoded_size

    def base64(self) -> Base64:
        return Base64(self, "")

    def data_url(self) -> Base64:
        return Base64(self, f"data:{self.mime};base64,")

    def chunks(self) -> Iterator[bytes]:
        """The raw bytes, in pieces of CHUNK; exactly `size` of them, or an error."""
        if self.spooled is not None:
            for offset in range(0, self.size, CHUNK):
                yield spool.read_at(self.spooled, offset, min(CHUNK, self.size - offset))
            return
        left = self.size
        try:
            with open(self.path, "rb") as f:
                while left:
                    piece = f.read(min(CHUNK, left))
                    if not piece:
                        break
                    left -= len(piece)
                    yield piece
                changed = left or f.read(1)
        except OSError as exc:  # removed, replaced by a directory, unreadable since
            raise UsageError(f"-a {self.label}: cannot read it any more: "
                             f"{exc.strerror or exc}") from None
        if changed:
            raise UsageError(f"-a {self.label}: the file changed while it was being sent")


def load(specs: Sequence[str], protocol: str, *, types: Sequence[str] = (), stdin=None,
         other_bytes: int = 0, ui=None) -> tuple[Attachment, ...]:
    """Read and check every -a SPEC (a file, an http(s) URL, or `-` for stdin's bytes) for
    `protocol`; `types`: --attach-type values, the Nth for the Nth spec ("auto": detect);
    `other_bytes`: the prompt's size, counted toward the per-request limit; `ui`: where a
    hint goes when stdin stays silent."""
    if len(types) > len(specs):
        raise UsageError(f"{len(types)} --attach-type for {len(specs)} -a: the Nth "
                         "--attach-type names the type of the Nth -a")
    if sum(map(attachspec.reads_stdin, specs)) > 1:
        raise UsageError("-a - may be given once: stdin can be read only once")
    lim = limits.for_protocol(protocol)
    out = []
    for i, spec in enumerate(specs):
        forced = _forced_type(spec, types[i] if i < len(types) else "auto")
        att = _read(spec, forced, stdin, lim, ui)
        limits.check_each(att, lim)
        out.append(att)
    limits.check_request(out, lim, other_bytes)
    return tuple(out)


def _forced_type(spec: str, mime: str) -> str | None:
    mime = mime.strip().lower()
    if mime == "auto":
        return None
    if mime == "image/jpg":
        mime = filetypes.JPEG
    if filetypes.kind_of(mime) is None:
        raise UsageError(f"--attach-type {mime} (for -a {said(spec)}) is not supported: use one of "
                         f"{', '.join(filetypes.SUPPORTED)} (or auto)")
    return mime


def _read(spec: str, forced: str | None, stdin, lim, ui) -> Attachment:
    if attachspec.is_url(spec):
        return _url(spec, forced)
    if attachspec.reads_stdin(spec):
        return _from_stdin(spec, forced, stdin, lim, ui)
    if not spec:
        raise UsageError("-a needs a file name, a URL or -")
    name = attachspec.file_name(spec)
    try:
        with open(spec, "rb") as f:
            info = os.fstat(f.fileno())
            if stat.S_ISDIR(info.st_mode):
                raise IsADirectoryError
            # A pipe, <(process substitution), a device; or a file whose size says 0 yet
            # has content (/proc): read as a stream, only as far as its type may weigh.
            if not stat.S_ISREG(info.st_mode) or info.st_size == 0:
                return _from_stream(f, spec, forced, lim, name)
            return _typed(spec, f, info.st_size, forced, lim, path=spec, name=name)
    except FileNotFoundError:
        raise UsageError(f"-a {said(spec)}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"-a {said(spec)}: is a directory, not a file") from None
    except OSError as exc:
        raise UsageError(f"-a {said(spec)}: cannot read it: {exc.strerror or exc}") from None


def _from_stream(f, spec: str, forced: str | None, lim, name: str) -> Attachment:
    """A stream, copied to a temporary file as it is read (it cannot be read twice): its
    type from the first bytes, then the rest, never past what that type may weigh."""
    def most(head: bytes) -> int:
        whole = len(head) < filetypes.SNIFF_BYTES
        return limits.most_bytes(filetypes.kind_of(_type_of(spec, head, forced, whole)), lim)

    copy, size, head = spool.copy(f, filetypes.SNIFF_BYTES, most)
    if size > most(head):
        copy.close()
        raise UsageError(f"-a {said(spec)}: more than the {limits.mb(most(head))} an "
                         f"attachment of this type may weigh for {lim.label}")
    copy.seek(0)
    return _typed(spec, copy, size, forced, lim, spooled=copy, name=name)


def _url(spec: str, forced: str | None) -> Attachment:
    path = spec.split("?", 1)[0].split("#", 1)[0]
    name = path.rstrip("/").rsplit("/", 1)[-1]
    mime = forced or filetypes.BY_EXTENSION.get(os.path.splitext(name)[1].lower())
    if mime is None:
        raise UsageError(f"-a {said(spec)}: cannot tell the type of a URL from its name; "
                         "give it with --attach-type (e.g. image/png, application/pdf)")
    attachspec.check_url(spec)
    return Attachment(spec=spec, kind=filetypes.kind_of(mime), mime=mime, name=name, url=spec)


def _from_stdin(spec: str, forced: str | None, stdin, lim, ui) -> Attachment:
    buffer = bounded.piped_stdin(stdin, "-a - reads the attachment from stdin", "the file")
    prompt.hint_if_silent(buffer, ui, "waiting for the attachment on stdin (-a -)...")
    try:
        return _from_stream(buffer, spec, forced, lim, "stdin")
    except OSError as exc:
        raise UsageError(f"cannot read stdin: {exc.strerror or exc}") from None


def _typed(spec: str, f, size: int, forced: str | None, lim, *, name: str, path=None,
           spooled=None) -> Attachment:
    head = f.read(filetypes.SNIFF_BYTES)
    mime = _type_of(spec, head, forced, whole=len(head) >= size)
    if name == "stdin":
        name += filetypes.EXTENSIONS[mime]
    fields = dict(spec=spec, kind=filetypes.kind_of(mime), mime=mime, name=name, size=size)
    if mime == filetypes.TEXT:
        return Attachment(**fields, text=_text(spec, f, head, size, lim))
    if mime in filetypes.IMAGE_TYPES:
        fields["width"], fields["height"] = filetypes.dimensions(f, mime) or (None, None)
        fields["animated"] = mime == filetypes.GIF and filetypes.gif_frames(f) > 1
    return Attachment(**fields, path=path, spooled=spooled)


def _type_of(spec: str, head: bytes, forced: str | None, whole: bool) -> str:
    if not head:
        raise UsageError(f"-a {said(spec)}: it is empty")
    mime = forced or filetypes.sniff(head)
    if mime is None and filetypes.is_text_head(head, whole=whole):
        mime = filetypes.TEXT
    if mime is None:
        hint = "" if b"\x00" in head else "; text in another encoding? convert it, e.g. with iconv"
        raise UsageError(f"-a {said(spec)}: unknown type: not PNG, JPEG, GIF, WebP, PDF or UTF-8 "
                         f"text{hint} (--attach-type names the type of one of those)")
    return mime


def _text(spec: str, f, head: bytes, size: int, lim) -> str:
    if lim.max_request is not None and size > lim.max_request:
        raise UsageError(f"-a {said(spec)}: {limits.mb(size)} of text is over the "
                         f"{limits.mb(lim.max_request)} per request of {lim.label}")
    raw = head + f.read()
    if b"\x00" in raw:
        raise UsageError(f"-a {said(spec)}: not text (it holds NUL bytes); name its type with "
                         "--attach-type if it is an image or a PDF")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"-a {said(spec)}: not valid UTF-8 text (byte {exc.start}); convert it "
                         "first, e.g. with iconv") from None
