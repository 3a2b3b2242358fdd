"""Drive headless Chromium on local HTML files, for the report and docs-site tests.

:func:`dump_dom` returns the DOM after load (scripts run, ``--virtual-time-budget`` lets
asynchronous rendering finish without waiting in real time), :func:`screenshot` writes a
PNG, :func:`read_png` decodes one with the standard library (no Pillow), and
:func:`parse_html` turns the dumped DOM into a small tree to query. A missing Chromium
fails the test with a message (``make test`` installs it); it is never a skip.
"""

from __future__ import annotations

import os
import shutil
import signal
import struct
import subprocess
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_S = 25.0  # per Chromium invocation
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--mute-audio",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)


def chromium() -> str:
    """The Chromium executable; fails the calling test when there is none."""
    explicit = os.environ.get("CHROMIUM")
    if explicit and Path(explicit).is_file():
        return explicit
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(
        "headless Chromium is needed for this test and was not found (looked for "
        f"{', '.join(CANDIDATES)} on PATH and $CHROMIUM); install the Debian package "
        "`chromium` (the Makefile's test target does)", pytrace=False)


def _run(args: list[str], url: str) -> bytes:
    """Run Chromium with a throw-away profile; returns stdout or fails the test."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        cmd = [chromium(), *FLAGS, f"--user-data-dir={profile}", *args, url]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
        try:
            out, err = proc.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # Chromium's own helper processes too
            proc.communicate()
            pytest.fail(f"Chromium did not finish within {TIMEOUT_S:.0f} s: {cmd}")
    if proc.returncode != 0:
        tail = err.decode(errors="replace")[-2000:]
        pytest.fail(f"Chromium exited {proc.returncode}: {cmd}\n{tail}")
    return out


def file_url(path: Path, fragment: str = "") -> str:
    return path.resolve().as_uri() + fragment


def dump_dom(path: Path, *, fragment: str = "", virtual_time_ms: int = 0) -> str:
    """The serialised DOM of a local page after it loaded (and ran its scripts)."""
    args = ["--dump-dom"]
    if virtual_time_ms:
        args.append(f"--virtual-time-budget={virtual_time_ms}")
    return _run(args, file_url(path, fragment)).decode("utf-8")


def screenshot(path: Path, png: Path, *, width: int = 1200, height: int = 900) -> Path:
    """A PNG of the top ``width`` x ``height`` pixels of a local page."""
    _run([f"--screenshot={png}", f"--window-size={width},{height}"], file_url(path))
    if not png.is_file():
        pytest.fail(f"Chromium wrote no screenshot at {png}")
    return png


# -- PNG ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Image:
    width: int
    height: int
    channels: int  # 3 (RGB) or 4 (RGBA)
    rows: list[bytes]  # height rows of width * channels bytes

    def pixel(self, x: int, y: int) -> tuple[int, ...]:
        i = x * self.channels
        return tuple(self.rows[y][i : i + self.channels])

    def pixels(self) -> Iterator[tuple[int, int, tuple[int, ...]]]:
        for y in range(self.height):
            for x in range(self.width):
                yield x, y, self.pixel(x, y)


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def read_png(path: Path) -> Image:
    """Decode an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium writes)."""
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG")
    pos, idat = 8, bytearray()
    width = height = channels = 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _c, _f, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or colour not in (2, 6) or interlace:
                raise ValueError(f"unsupported PNG: depth {depth} colour {colour}")
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    raw = zlib.decompress(bytes(idat))
    stride = width * channels
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind = raw[start]
        line = bytearray(raw[start + 1 : start + 1 + stride])
        if kind == 1:  # Sub
            for i in range(channels, stride):
                line[i] = (line[i] + line[i - channels]) & 0xFF
        elif kind == 2:  # Up
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev, strict=True))
        elif kind == 3:  # Average
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif kind == 4:  # Paeth
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                corner = prev[i - channels] if i >= channels else 0
                line[i] = (line[i] + _paeth(left, prev[i], corner)) & 0xFF
        elif kind != 0:
            raise ValueError(f"bad PNG filter {kind} in row {y}")
        rows.append(bytes(line))
        prev = line
    return Image(width, height, channels, rows)


# -- a small DOM --------------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    parent: Node | None = None
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        """All text below this node (``<script>``/``<style>`` excluded), spaces collapsed."""
        parts: list[str] = []

        def walk(node: Node) -> None:
            for child in node.children:
                if isinstance(child, str):
                    parts.append(child)
                elif child.tag not in ("script", "style"):
                    walk(child)

        walk(self)
        return " ".join(" ".join(parts).split())

    def own_text(self) -> str:
        """Text directly inside this node, not in its child elements."""
        return " ".join(" ".join(c for c in self.children if isinstance(c, str)).split())

    def iter(self) -> Iterator[Node]:
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        """Descendants with this tag and these attribute values (``class_`` matches one class
        of the class list; ``_`` in names stands for ``-``)."""
        out = []
        for node in self.iter():
            if tag is not None and node.tag != tag:
                continue
            if all(_attr_matches(node, name, value) for name, value in attrs.items()):
                out.append(node)
        return out

    def find(self, tag: str | None = None, **attrs: str) -> Node:
        found = self.find_all(tag, **attrs)
        if not found:
            raise AssertionError(f"no <{tag or '*'}> with {attrs} in the page")
        return found[0]

    def ancestors(self) -> Iterator[Node]:
        node = self.parent
        while node is not None:
            yield node
            node = node.parent


def _attr_matches(node: Node, name: str, value: str) -> bool:
    if name == "class_":
        return value in node.attrs.get("class", "").split()
    return node.attrs.get(name.replace("_", "-")) == value


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.current = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs}, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.current.children.append(Node(tag, {k: v or "" for k, v in attrs}, self.current))

    def handle_endtag(self, tag: str) -> None:
        node: Node | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


def parse_html(text: str) -> Node:
    """The document tree of serialised HTML (entities decoded in text and attributes)."""
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root
