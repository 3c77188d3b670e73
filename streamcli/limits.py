"""Each protocol's documented attachment limits, with sources, and the checks against them.

A file over a limit is exit 2 before anything is sent.

A new protocol adds its `Limits` to `FOR` under its wire-protocol name (the Request's
`provider`). Sizes are in bytes; "MB" in the providers' pages is read as MiB, as their own
error messages count it (Anthropic: "image exceeds 5 MB maximum: N bytes > 5242880 bytes").
"""

from __future__ import annotations

from dataclasses import dataclass

from streamcli.errors import UsageError

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    label: str  # how messages name the API
    url_kinds: frozenset  # attachment kinds this API takes by URL ("image", "pdf")
    max_image_base64: int | None = None  # per image, its base64 length
    max_side: int | None = None  # per image, pixels per side
    many_images: tuple[int, int] | None = None  # (over this many images, this max side)
    max_images: int | None = None  # per request
    max_pdf_bytes: int | None = None  # all PDFs of a request, their raw bytes
    max_request: int | None = None  # attachments (as sent) and prompt, per request
    animated_gif: bool = True  # whether an animated GIF is accepted
    sources: str = ""


FOR = {
    "anthropic": Limits(
        label="the Anthropic API",
        url_kinds=frozenset({"image", "pdf"}),
        # 5 MB per image, counted on the base64 string: "image exceeds 5 MB maximum:
        # N bytes > 5242880 bytes" (anthropics/claude-code#14887; the vision guide's
        # "General limits").
        max_image_base64=5 * MIB,
        # "The maximal dimensions per image are 8000x8000 px. If you submit more than 20
        # images in one API request, this limit is reduced to 2000x2000 px." and "the API
        # supports up to 600 images per request" (platform.claude.com/docs/en/
        # build-with-claude/vision, General limits).
        max_side=8000, many_images=(20, 2000), max_images=600,
        # "Maximum request size: 32 MB" for the whole payload, PDFs included
        # (platform.claude.com/docs/en/build-with-claude/pdf-support; the vision guide
        # says the same). Page counts (100 or 600 by model) are left to the server.
        max_request=32 * MIB,
        sources="platform.claude.com/docs/en/build-with-claude/vision, .../pdf-support",
    ),
    "openai": Limits(
        label="OpenAI Chat Completions",
        # "Inputs by file URL are not supported for chat completions" (developers.openai.com/
        # api/docs/guides/pdf-files): PDFs go as file_data only; images by URL are fine.
        url_kinds=frozenset({"image"}),
        # "PNG, JPEG, WEBP, Non-animated GIF"; "Up to 512 MB total payload size per
        # request"; "Up to 1500 individual image inputs per request" (developers.openai.com/
        # api/docs/guides/images-vision; until April 2026 it said 50 MB and 500 images).
        max_images=1500, max_request=512 * MIB, animated_gif=False,
        # "You can upload up to 100 pages and 32MB of total content in a single request to
        # the API, across multiple file inputs" (the pdf-files guide, "File size
        # limitations"). Pages are left to the server.
        max_pdf_bytes=32 * MIB,
        sources="developers.openai.com/api/docs/guides/images-vision, .../pdf-files",
    ),
}
# The Responses API: the same guides' limits, and PDFs by URL too ("You can upload PDF file
# inputs by linking external URLs", the pdf-files guide; its file_url input).
FOR["openai-responses"] = Limits(**{**FOR["openai"].__dict__, "label": "the OpenAI Responses API",
                                    "url_kinds": frozenset({"image", "pdf"})})


def for_protocol(protocol: str) -> Limits:
    try:
        return FOR[protocol]
    except KeyError:
        raise ValueError(f"no attachment limits for protocol {protocol!r}: add them to "
                         f"streamcli.limits.FOR") from None


def mb(n: int) -> str:
    return f"{n / MIB:.1f} MB" if n % MIB else f"{n // MIB} MB"


def most_bytes(kind: str, lim: Limits) -> int:
    """The raw size over which an attachment of `kind` breaks a limit for sure (a stream
    is read no further)."""
    most = 1 << 62
    if lim.max_request is not None:
        most = lim.max_request if kind == "text" else lim.max_request * 3 // 4
    if kind == "image" and lim.max_image_base64 is not None:
        most = min(most, lim.max_image_base64 * 3 // 4)
    if kind == "pdf" and lim.max_pdf_bytes is not None:
        most = min(most, lim.max_pdf_bytes)
    return most


def check_each(att, lim: Limits) -> None:
    """One attachment on its own: URLs, animation, size and dimensions of an image."""
    if att.url is not None:
        if att.kind not in lim.url_kinds:
            takes = " and ".join(sorted(lim.url_kinds)) or "nothing"
            raise UsageError(f"-a {att.label}: {lim.label} takes no {att.kind} by URL (it takes "
                             f"{takes} URLs); save it and attach the file")
        return
    if att.kind != "image":
        return
    if att.mime == "image/gif" and not lim.animated_gif and att.animated:
        raise UsageError(f"-a {att.label}: {lim.label} takes no animated GIF")
    if lim.max_image_base64 is not None and att.encoded_size > lim.max_image_base64:
        raise UsageError(f"-a {att.label}: {mb(att.encoded_size)} as base64 is over the "
                         f"{mb(lim.max_image_base64)} per image of {lim.label}")
    if lim.max_side is not None and att.width is not None:
        _check_side(att, lim.max_side, lim, "")


def _check_side(att, side: int, lim: Limits, why: str) -> None:
    if att.width > side or att.height > side:
        raise UsageError(f"-a {att.label}: {att.width}x{att.height} pixels is over the "
                         f"{side}x{side} per image of {lim.label}{why}")


def check_request(attachments, lim: Limits, other_bytes: int = 0) -> None:
    """The attachments together, and with `other_bytes` of prompt and system text."""
    images = [a for a in attachments if a.kind == "image"]
    if lim.max_images is not None and len(images) > lim.max_images:
        raise UsageError(f"{len(images)} images: {lim.label} takes at most {lim.max_images} "
                         f"per request")
    if lim.many_images is not None and len(images) > lim.many_images[0]:
        over, side = lim.many_images
        for att in images:
            if att.width is not None:
                _check_side(att, side, lim, f" when a request has more than {over} images")
    pdf_bytes = sum(a.size for a in attachments if a.kind == "pdf" and a.url is None)
    if lim.max_pdf_bytes is not None and pdf_bytes > lim.max_pdf_bytes:
        raise UsageError(f"the PDFs attached add up to {mb(pdf_bytes)}, over the "
                         f"{mb(lim.max_pdf_bytes)} of PDF content per request of {lim.label}")
    total = other_bytes + sum(a.sent_size for a in attachments)
    if lim.max_request is not None and total > lim.max_request:
        raise UsageError(f"the attachments and prompt add up to {mb(total)} as sent, over "
                         f"the {mb(lim.max_request)} per request of {lim.label}")
