"""The ``$batch`` wire format (OData 4.0 §11.7, multipart/mixed) for the client and simulator.

A batch body is a list of parts; a part is one HTTP request (or response) or a change set, itself a
list of requests. Line ends are CRLF on the way out and either CRLF or LF on the way in.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus

CRLF = "\r\n"
_BOUNDARY_RE = re.compile(r'boundary="?([^";,\s]+)"?', re.IGNORECASE)


@dataclass
class HttpMessage:
    """One request or response inside a batch: ``start`` is its first line."""

    start: str
    headers: dict[str, str] = field(default_factory=dict)
    """Header names in lower case."""
    body: str = ""
    content_id: str | None = None

    @property
    def method(self) -> str:
        return self.start.split(" ", 1)[0].upper()

    @property
    def url(self) -> str:
        parts = self.start.split(" ")
        return parts[1] if len(parts) > 1 else ""

    @property
    def status(self) -> int:
        parts = self.start.split(" ")
        try:
            return int(parts[1])
        except (IndexError, ValueError):
            return 0


@dataclass
class ChangeSet:
    """Requests that succeed or fail together (one transaction)."""

    messages: list[HttpMessage] = field(default_factory=list)


Part = HttpMessage | ChangeSet


def boundary_of(content_type: str | None) -> str | None:
    match = _BOUNDARY_RE.search(content_type or "")
    return match.group(1) if match else None


def is_multipart(content_type: str | None) -> bool:
    return (content_type or "").lower().startswith("multipart/mixed") and bool(
        boundary_of(content_type)
    )


# writing -------------------------------------------------------------------------------------
def request(
    method: str,
    url: str,
    body: str = "",
    headers: dict[str, str] | None = None,
    content_id: str | None = None,
) -> HttpMessage:
    return HttpMessage(f"{method} {url} HTTP/1.1", dict(headers or {}), body, content_id)


def response(
    status: int,
    body: str = "",
    headers: dict[str, str] | None = None,
    content_id: str | None = None,
) -> HttpMessage:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Status"
    return HttpMessage(f"HTTP/1.1 {status} {reason}", dict(headers or {}), body, content_id)


def _message(message: HttpMessage, boundary: str) -> str:
    lines = [f"--{boundary}", "Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if message.content_id is not None:
        lines.append(f"Content-ID: {message.content_id}")
    lines += ["", message.start]
    lines += [f"{name}: {value}" for name, value in message.headers.items()]
    lines += ["", message.body]
    return CRLF.join(lines) + CRLF


def write(parts: list[Part], prefix: str = "batch") -> tuple[str, str]:
    """``(content type, body)`` of a batch (``prefix`` ``batchresponse`` for answers)."""
    boundary = f"{prefix}_{uuid.uuid4()}"
    inner_prefix = "changesetresponse" if prefix == "batchresponse" else "changeset"
    chunks: list[str] = []
    for part in parts:
        if isinstance(part, ChangeSet):
            inner = f"{inner_prefix}_{uuid.uuid4()}"
            chunks.append(
                f"--{boundary}{CRLF}Content-Type: multipart/mixed; boundary={inner}{CRLF}{CRLF}"
            )
            chunks.extend(_message(m, inner) for m in part.messages)
            chunks.append(f"--{inner}--{CRLF}")
        else:
            chunks.append(_message(part, boundary))
    chunks.append(f"--{boundary}--{CRLF}")
    return f"multipart/mixed; boundary={boundary}", "".join(chunks)


# reading -------------------------------------------------------------------------------------
def _sections(text: str, boundary: str) -> list[str]:
    """The text of each part between ``--boundary`` lines (nothing after the closing one)."""
    sections: list[str] = []
    current: list[str] | None = None
    for line in text.split("\n"):
        mark = line.rstrip()
        if mark == f"--{boundary}--":
            break
        if mark == f"--{boundary}":
            if current is not None:
                sections.append("\n".join(current))
            current = []
        elif current is not None:
            current.append(line)
    if current is not None:
        sections.append("\n".join(current))
    return sections


def _headers(lines: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers


def _split_head(text: str) -> tuple[list[str], str]:
    head, _, rest = text.partition("\n\n")
    return [line for line in head.split("\n") if line.strip()], rest


def _parse_message(section: str) -> HttpMessage:
    mime_lines, rest = _split_head(section.lstrip("\n"))
    mime = _headers(mime_lines)
    http_lines, body = _split_head(rest.lstrip("\n"))
    if not http_lines:
        raise ValueError("a batch part without a request or status line")
    return HttpMessage(
        http_lines[0].strip(), _headers(http_lines[1:]), body.strip("\n"), mime.get("content-id")
    )


def read(content_type: str | None, body: str) -> list[Part]:
    """Parse a batch request or response body; ``ValueError`` when it is not one."""
    boundary = boundary_of(content_type)
    if boundary is None:
        raise ValueError(f"not a multipart/mixed batch: {content_type!r}")
    parts: list[Part] = []
    for section in _sections(body.replace("\r\n", "\n"), boundary):
        if not section.strip():
            continue
        mime_lines, rest = _split_head(section.lstrip("\n"))
        mime = _headers(mime_lines)
        if is_multipart(mime.get("content-type")):
            inner = str(boundary_of(mime.get("content-type")))
            inner_sections = _sections(rest, inner)
            parts.append(ChangeSet([_parse_message(s) for s in inner_sections if s.strip()]))
        else:
            parts.append(_parse_message(section))
    return parts


def flatten(parts: list[Part]) -> list[HttpMessage]:
    """Every message in order, change sets opened."""
    out: list[HttpMessage] = []
    for part in parts:
        out.extend(part.messages if isinstance(part, ChangeSet) else [part])
    return out
