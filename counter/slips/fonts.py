"""The font chain that prints every character of a name, and its web-font pieces for the console.

Slips and reports print in WenQuanYi Micro Hei, then, for what it lacks,
the faces below in this order (``forms/slips/slip.css`` names the same
families; Pango takes each character from the first face that has it):

=====================  ==============================================  ===========
family                 what it adds                                   Debian
=====================  ==============================================  ===========
WenQuanYi Micro Hei    the common characters (GB 2312, GBK, most URO)  fonts-wqy-microhei
HanaMinA               Extension A, compatibility ideographs (both     fonts-hanazono
                       blocks), URO up to U+9FEA
HanaMinB               Extensions B to F                              fonts-hanazono
BabelStone Han         U+9FEB-9FEF, Extension A of Unicode 13,         fonts-babelstone-han
                       most of Extensions G and H
=====================  ==============================================  ===========

docs/flagship.md gives the measured coverage per block and the GB 18030-2022
levels this meets.

The console serves the same faces as web fonts (``web_font_css`` and
``web_font_piece``): each face is cut into pieces of ``PIECE`` code points,
only the ideographs the earlier faces lack, and the stylesheet names each
piece with its ``unicode-range``, so a browser downloads the one piece
(about 150 KB of WOFF) that holds a rare character on the page, and a
branch PC without these fonts still shows it. Cutting a piece takes about
a second: ``counter fonts build`` cuts all of them once (a few minutes);
otherwise each is cut on its first request. Either way they are kept in
``COUNTER_FONT_CACHE_DIR`` (``var/fonts``).
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CHAIN",
    "IDEOGRAPHS",
    "PIECE",
    "WEB_FAMILY",
    "WEB_ORDER",
    "Face",
    "build_pieces",
    "face_for",
    "piece_of",
    "pieces",
    "uncovered",
    "web_font_css",
    "web_font_piece",
]

log = logging.getLogger(__name__)

PIECE = 512
"""Code points per web-font piece: about 150 KB of WOFF for the rare-character faces."""
WEB_FAMILY = "Counter Rare"
"""The console's family for the pieces (``/fonts/rare.css``)."""


@dataclass(frozen=True)
class Face:
    """One face of the chain: its family, as CSS and fontconfig name it, and its file."""

    family: str
    file: Path
    slug: str
    """Its name in web-font URLs."""
    web: bool
    """Served to the console (the first face is the console's own concern)."""

    @property
    def installed(self) -> bool:
        return self.file.is_file()


CHAIN: tuple[Face, ...] = (
    Face(
        "WenQuanYi Micro Hei",
        Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
        "wqy",
        web=False,
    ),
    Face("HanaMinA", Path("/usr/share/fonts/truetype/hanazono/HanaMinA.ttf"), "hana-a", web=True),
    Face("HanaMinB", Path("/usr/share/fonts/truetype/hanazono/HanaMinB.ttf"), "hana-b", web=True),
    Face(
        "BabelStone Han",
        Path("/usr/share/fonts/truetype/babelstone/BabelStoneHan.ttf"),
        "babelstone",
        web=True,
    ),
)

IDEOGRAPHS = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3FFFF))
"""The ideograph blocks (Extension A, URO, compatibility, the supplementary planes) the web
pieces hold: the console keeps its own fonts for everything else."""

_SLUG = re.compile(r"^[a-z0-9-]{1,20}$")
_locks: dict[str, threading.Lock] = {}
_locks_lock = threading.Lock()


@functools.cache
def _cmap(face: Face) -> frozenset[int]:
    from fontTools.ttLib import TTCollection, TTFont

    if not face.installed:
        log.warning("font %s is not installed (%s)", face.family, face.file)
        return frozenset()
    if face.file.suffix == ".ttc":
        with TTCollection(str(face.file), lazy=True) as collection:
            return frozenset(collection.fonts[0].getBestCmap())
    with TTFont(str(face.file), lazy=True) as font:
        return frozenset(font.getBestCmap())


def face_for(char: str) -> Face | None:
    """The face of the chain that prints ``char`` (the first that has it), or None."""
    point = ord(char)
    return next((face for face in CHAIN if point in _cmap(face)), None)


def uncovered(text: str) -> list[str]:
    """The characters of ``text`` that no face of the chain has (spaces and marks aside)."""
    return sorted(
        {char for char in text if not char.isspace() and face_for(char) is None}, key=ord
    )


WEB_ORDER = ("hana-b", "hana-a", "babelstone")
"""Which served face gives a browser each ideograph: HanaMinB before HanaMinA (the same
design), so that the 2,858 Extension B characters HanaMinA also has do not double the pieces."""


def _served(slug: str) -> Face:
    return next(face for face in CHAIN if face.slug == slug)


@functools.cache
def _own(face: Face) -> frozenset[int]:
    """The ideographs ``face`` serves: those neither the first face nor an earlier served
    face (``WEB_ORDER``) has."""
    earlier: set[int] = set(_cmap(CHAIN[0]))
    for slug in WEB_ORDER[: WEB_ORDER.index(face.slug)]:
        earlier |= _cmap(_served(slug))
    return frozenset(
        point
        for point in _cmap(face)
        if point not in earlier and any(low <= point <= high for low, high in IDEOGRAPHS)
    )


@functools.cache
def pieces(face: Face) -> dict[int, tuple[int, ...]]:
    """The web-font pieces of ``face``: piece number -> its code points."""
    found: dict[int, list[int]] = {}
    for point in sorted(_own(face)):
        found.setdefault(point // PIECE, []).append(point)
    return {number: tuple(points) for number, points in found.items()}


def piece_of(char: str) -> tuple[str, int] | None:
    """The served piece (face slug, number) that gives a browser ``char``, or None."""
    point = ord(char)
    for slug in WEB_ORDER:
        if point in _own(_served(slug)):
            return slug, point // PIECE
    return None


def _ranges(points: Iterable[int]) -> Iterator[str]:
    ordered = sorted(points)
    start = previous = ordered[0]
    for point in [*ordered[1:], -1]:
        if point == previous + 1:
            previous = point
            continue
        yield f"U+{start:X}" if start == previous else f"U+{start:X}-{previous:X}"
        start = previous = point


@functools.cache
def _fingerprint() -> str:
    """What the pieces are cut from: the faces' files and the way they are cut."""
    parts = [f"{PIECE}", *WEB_ORDER]
    for face in CHAIN:
        if face.installed:
            stat = face.file.stat()
            parts.append(f"{face.file}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _cached(cache_dir: Path, name: str) -> Path:
    """Where ``name`` is kept: under the fingerprint, so an updated font package starts afresh."""
    return cache_dir / _fingerprint() / name


def _keep(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{threading.get_ident()}.part")
    partial.write_bytes(data)
    partial.replace(path)


def web_font_css(prefix: str = "/fonts/rare", cache_dir: Path | None = None) -> str:
    """``@font-face`` rules for every piece of every served face, with its ``unicode-range``.

    Reading the faces' cmaps takes a few seconds: with ``cache_dir`` the
    stylesheet is kept there, so that only the first process ever waits.
    """
    path = None
    if cache_dir is not None:
        path = _cached(cache_dir, f"rare-{hashlib.sha256(prefix.encode()).hexdigest()[:8]}.css")
    if path is not None and path.is_file():
        return path.read_text(encoding="utf-8")
    css = _stylesheet(prefix)
    if path is not None:
        _keep(path, css.encode("utf-8"))
    return css


def _stylesheet(prefix: str) -> str:
    rules = [f"/* {WEB_FAMILY}: the slip's rare-character faces, one piece per range. */"]
    for slug in WEB_ORDER:
        face = _served(slug)
        for number, points in sorted(pieces(face).items()):
            rules.append(
                "@font-face {"
                f' font-family: "{WEB_FAMILY}";'
                f' src: url("{prefix}/{face.slug}-{number}.woff") format("woff");'
                " font-display: swap;"
                f" unicode-range: {', '.join(_ranges(points))}; }}"
            )
    return "\n".join(rules) + "\n"


def _face(slug: str) -> Face | None:
    return _served(slug) if _SLUG.match(slug) and slug in WEB_ORDER else None


def web_font_piece(slug: str, number: int, cache_dir: Path) -> bytes | None:
    """The WOFF bytes of one piece (cut once, then read from ``cache_dir``); None if none."""
    face = _face(slug)
    if face is None or number not in pieces(face):
        return None
    path = _cached(cache_dir, f"{face.slug}-{number}.woff")
    if path.is_file():
        return path.read_bytes()
    with _locks_lock:
        lock = _locks.setdefault(path.name, threading.Lock())
    with lock:  # one cut per piece, however many pages ask for it at once
        if path.is_file():
            return path.read_bytes()
        data = _cut(face, pieces(face)[number])
        _keep(path, data)
    return data


def build_pieces(cache_dir: Path, on_progress: Callable[[int, int], None] | None = None) -> int:
    """Cut every piece not yet in ``cache_dir`` (and keep the stylesheet); how many there are."""
    web_font_css(cache_dir=cache_dir)
    wanted = [
        (_served(slug), number) for slug in WEB_ORDER for number in sorted(pieces(_served(slug)))
    ]
    for done, (face, number) in enumerate(wanted, start=1):
        web_font_piece(face.slug, number, cache_dir)
        if on_progress is not None:
            on_progress(done, len(wanted))
    return len(wanted)


def _cut(face: Face, points: tuple[int, ...]) -> bytes:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.layout_features = []
    options.notdef_outline = True
    options.drop_tables += ["FFTM"]
    with TTFont(str(face.file), lazy=True) as font:
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=points)
        subsetter.subset(font)
        font.flavor = "woff"  # zlib: WOFF2's Brotli halves the size but doubles the cut
        out = io.BytesIO()
        font.save(out)
    return out.getvalue()
