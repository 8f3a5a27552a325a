"""ISO/IEC 19794-4:2005 finger image records: writer and strict parser.

Layout (all integers big-endian), from the standard's field tables as implemented in NIST's
public-domain BIOMDI library (NBIS ``biomdi/fingerimage/fir.h``, ``validate_fir.c`` for the ISO
variant: 32-byte general header, 14-byte finger header, ISO/IEC 29109-4 conformance checks)::

    general record header (32 bytes)
      0  4  format identifier      "FIR\\0"
      4  4  version number         "010\\0"
      8  6  record length          whole record, headers included
     14  2  capture device ID      vendor-assigned; 0 = unreported
     16  2  image acquisition level 10, 20, 30, 31, 35, 40, 41
     18  1  number of fingers/palms finger image records that follow
     19  1  scale units            1 pixels per inch, 2 pixels per centimetre
     20  2  horizontal scan resolution
     22  2  vertical scan resolution
     24  2  horizontal image resolution   (≤ scan resolution)
     26  2  vertical image resolution
     28  1  pixel depth            bits per pixel, 1..16
     29  1  image compression      0 raw, 1 raw bit-packed, 2 WSQ, 3 JPEG, 4 JPEG 2000, 5 PNG
     30  2  reserved               0
    finger image record header (14 bytes), then the image data
      0  4  length of this finger record (header + image data)
      4  1  finger/palm position   0 unknown, 1..10 the fingers (FingerPosition)
      5  1  count of views         1..255
      6  1  view number            1..count
      7  1  finger image quality   0..100, 254 undefined
      8  1  impression type        0 live-scan plain, 1 rolled, 2/3 non-live, 7 latent, 8 swipe,
                                   9 live-scan contactless
      9  2  horizontal line length  width in pixels
     11  2  vertical line length    height in pixels
     13  1  reserved               0

Design choices the desk makes when writing (see ``finger_record``):

- quality 254 ("undefined"): the ISO/IEC 29109-4 conformance test in NBIS refuses any other
  value for this edition; the desk's own quality figure travels in the CBEFF block instead;
- compression 5 (PNG, lossless 8-bit grey), and image acquisition level from what the sensor
  really delivers (resolution and grey levels, see ``acquisition_level``). Measured on the
  emulator's 256×288 4-bpp presses: PNG 22-26 KB; JPEG 2000 lossless (OpenJPEG 2.5) 53-55 KB,
  twice that; WSQ (PyPI ``wsq`` 0.9, IDEMIA's wrapper of NBIS for Pillow, CeCILL-C licence,
  installs here as a manylinux wheel) 4-5 KB but lossy: RMSE 12 and up to 72 grey levels off
  on an image that has only 16 levels (steps of 17). The module's levels are kept exactly,
  and the upload stays the size it was (``benchmarks/records_bench.py``: +2.5 %).

The parser refuses WSQ and bit-packed data (``fir.compression_unsupported``): it cannot prove
their dimensions without a codec the service does not carry.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

from bts_desk.biometrics import images
from bts_desk.biometrics.errors import RecordError, RecordErrorCode
from bts_desk.domain import FingerPosition

FORMAT_ID = b"FIR\x00"
VERSION = b"010\x00"
GENERAL_HEADER_BYTES = 32
FINGER_HEADER_BYTES = 14
MAX_RECORD_BYTES = 4 * 1024 * 1024
MAX_FINGER_VIEWS = 20
QUALITY_UNDEFINED = 254
MAX_RESOLUTION_PPI = 1000  # NBIS FIR_MAX_SCAN_RESOLUTION
MAX_RESOLUTION_PPCM = 394  # the same in pixels per centimetre (1000 / 2.54)

_GENERAL_TAIL = struct.Struct(">HHBBHHHHBBH")  # bytes 14..31, after id, version, length
_FINGER = struct.Struct(">IBBBBBHHB")

E = RecordErrorCode


class ScaleUnits(enum.IntEnum):
    PPI = 1
    PPCM = 2


class Compression(enum.IntEnum):
    RAW = 0
    RAW_PACKED = 1
    WSQ = 2
    JPEG = 3
    JPEG2000 = 4
    PNG = 5


class Impression(enum.IntEnum):
    LIVE_SCAN_PLAIN = 0
    LIVE_SCAN_ROLLED = 1
    NONLIVE_SCAN_PLAIN = 2
    NONLIVE_SCAN_ROLLED = 3
    LATENT = 7
    SWIPE = 8
    LIVE_SCAN_CONTACTLESS = 9


_COMPRESSIONS = frozenset(int(c) for c in Compression)
_IMPRESSIONS = frozenset(int(i) for i in Impression)
_POSITIONS = frozenset(int(p) for p in FingerPosition)
ACQUISITION_LEVELS = (10, 20, 30, 31, 35, 40, 41)
# (level, minimum scan resolution in ppi, minimum grey levels), best first: the image
# acquisition setting levels of ANSI/INCITS 381-2004 and ISO/IEC 19794-4:2005 (Table 1).
_LEVEL_MINIMA = ((41, 1000, 200), (40, 1000, 120), (31, 500, 200), (30, 500, 80), (20, 250, 5))


def acquisition_level(dpi: int, grey_levels: int) -> int:
    """The highest setting level whose resolution and grey-level minima the sensor meets
    (level 10, 125 ppi bilevel, otherwise). An R30x (500 dpi, 16 grey levels) is level 20."""
    for level, min_dpi, min_levels in _LEVEL_MINIMA:
        if dpi >= min_dpi and grey_levels >= min_levels:
            return level
    return 10


@dataclass(frozen=True)
class FingerView:
    """One finger image record: a view of one finger and its image data."""

    position: FingerPosition
    width: int
    height: int
    image: bytes
    quality: int = QUALITY_UNDEFINED
    impression: Impression = Impression.LIVE_SCAN_PLAIN
    view_number: int = 1
    view_count: int = 1


@dataclass(frozen=True)
class FingerImageRecord:
    """A whole ISO/IEC 19794-4:2005 record: the general header's fields and its views."""

    views: tuple[FingerView, ...]
    resolution: int  # scan = image resolution, in ``scale_units``
    pixel_depth: int = 8
    compression: Compression = Compression.PNG
    acquisition_level: int = 31
    capture_device_id: int = 0
    scale_units: ScaleUnits = ScaleUnits.PPI
    scan_resolution: tuple[int, int] | None = None  # (h, v) when it differs from the image's

    @property
    def image_resolution(self) -> tuple[int, int]:
        return self.resolution, self.resolution

    @property
    def scan(self) -> tuple[int, int]:
        return self.scan_resolution or self.image_resolution


# --- writing ---------------------------------------------------------------------------------


def encode(record: FingerImageRecord, *, verify: bool = True) -> bytes:
    """The record's bytes. ``verify``: parse them back first, so the writer never emits what
    the parser refuses (``source.invalid`` for what it cannot even lay out). The desk's upload
    path skips it (the tests prove writer and parser agree; the service parses anyway)."""
    if not 1 <= len(record.views) <= MAX_FINGER_VIEWS:
        raise RecordError(E.SOURCE_INVALID, f"{len(record.views)} finger views")
    bodies = [_encode_view(view) for view in record.views]
    length = GENERAL_HEADER_BYTES + sum(len(b) for b in bodies)
    if length > MAX_RECORD_BYTES:
        raise RecordError(E.SOURCE_INVALID, f"record of {length} bytes")
    (scan_h, scan_v), (img_h, img_v) = record.scan, record.image_resolution
    header = (
        FORMAT_ID
        + VERSION
        + length.to_bytes(6, "big")
        + _GENERAL_TAIL.pack(
            record.capture_device_id,
            record.acquisition_level,
            len(record.views),
            record.scale_units,
            scan_h,
            scan_v,
            img_h,
            img_v,
            record.pixel_depth,
            record.compression,
            0,
        )
    )
    out = header + b"".join(bodies)
    if verify:
        parse(out)
    return out


def _encode_view(view: FingerView) -> bytes:
    length = FINGER_HEADER_BYTES + len(view.image)
    return (
        _FINGER.pack(
            length,
            view.position,
            view.view_count,
            view.view_number,
            view.quality,
            view.impression,
            view.width,
            view.height,
            0,
        )
        + view.image
    )


# --- parsing ---------------------------------------------------------------------------------


def parse(data: bytes, *, max_bytes: int = MAX_RECORD_BYTES) -> FingerImageRecord:
    """The record in ``data``, every field checked; ``RecordError`` (``fir.*``/``image.*``)
    with a precise code otherwise. Nothing is decoded beyond the bounds the header allows."""
    if len(data) > max_bytes:
        raise RecordError(E.FIR_OVERSIZED, f"{len(data)} bytes > {max_bytes}")
    if len(data) < GENERAL_HEADER_BYTES:
        raise RecordError(E.FIR_TRUNCATED, f"{len(data)} bytes, general header needs 32")
    if data[0:4] != FORMAT_ID:
        raise RecordError(E.FIR_FORMAT, f"format identifier {data[0:4]!r}")
    if data[4:8] != VERSION:
        raise RecordError(E.FIR_VERSION, f"version {data[4:8]!r}, only 010 is read")
    length = int.from_bytes(data[8:14], "big")
    if length > len(data):
        raise RecordError(E.FIR_TRUNCATED, f"record length {length}, {len(data)} bytes present")
    if length != len(data):
        raise RecordError(E.FIR_LENGTH, f"record length {length}, {len(data)} bytes given")
    (device, level, count, units, scan_h, scan_v, img_h, img_v, depth, comp, reserved) = (
        _GENERAL_TAIL.unpack(data[14:32])
    )
    _general_checks(
        level=level,
        count=count,
        units=units,
        resolutions=(scan_h, scan_v, img_h, img_v),
        depth=depth,
        comp=comp,
        reserved=reserved,
    )
    views = []
    pos = GENERAL_HEADER_BYTES
    for index in range(count):
        view, pos = _parse_view(data, pos, index, Compression(comp), depth)
        views.append(view)
    if pos != len(data):
        raise RecordError(E.FIR_LENGTH, f"{len(data) - pos} bytes after the last finger record")
    _check_view_numbering(views)
    return FingerImageRecord(
        views=tuple(views),
        resolution=img_h,
        pixel_depth=depth,
        compression=Compression(comp),
        acquisition_level=level,
        capture_device_id=device,
        scale_units=ScaleUnits(units),
        scan_resolution=None if (scan_h, scan_v) == (img_h, img_v) else (scan_h, scan_v),
    )


def _general_checks(
    *,
    level: int,
    count: int,
    units: int,
    resolutions: tuple[int, int, int, int],
    depth: int,
    comp: int,
    reserved: int,
) -> None:
    if level not in ACQUISITION_LEVELS:
        raise RecordError(E.FIR_FIELD, f"image acquisition level {level}")
    if not 1 <= count <= MAX_FINGER_VIEWS:
        raise RecordError(E.FIR_FIELD, f"number of fingers {count}, 1..{MAX_FINGER_VIEWS}")
    if units not in (1, 2):
        raise RecordError(E.FIR_FIELD, f"scale units {units}")
    top = MAX_RESOLUTION_PPI if units == ScaleUnits.PPI else MAX_RESOLUTION_PPCM
    scan_h, scan_v, img_h, img_v = resolutions
    if not all(1 <= r <= top for r in resolutions):
        raise RecordError(E.FIR_FIELD, f"resolutions {resolutions} outside 1..{top}")
    if img_h > scan_h or img_v > scan_v:
        raise RecordError(E.FIR_INCONSISTENT, "image resolution above the scan resolution")
    if img_h != img_v:
        raise RecordError(E.FIR_INCONSISTENT, f"non-square pixels {img_h}x{img_v} not read")
    if not 1 <= depth <= 16:
        raise RecordError(E.FIR_FIELD, f"pixel depth {depth}")
    if comp not in _COMPRESSIONS:
        raise RecordError(E.FIR_FIELD, f"compression algorithm {comp}")
    if comp in (Compression.WSQ, Compression.RAW_PACKED):
        raise RecordError(E.FIR_COMPRESSION, f"compression {Compression(comp).name} not read")
    if reserved != 0:
        raise RecordError(E.FIR_RESERVED, "general header reserved bytes")


def _parse_view(
    data: bytes, pos: int, index: int, comp: Compression, depth: int
) -> tuple[FingerView, int]:
    where = f"finger record {index + 1} at offset {pos}"
    if pos + FINGER_HEADER_BYTES > len(data):
        raise RecordError(E.FIR_TRUNCATED, f"{where}: header cut short")
    length, position, views, number, quality, impression, width, height, reserved = _FINGER.unpack(
        data[pos : pos + FINGER_HEADER_BYTES]
    )
    if length <= FINGER_HEADER_BYTES:
        raise RecordError(E.FIR_LENGTH, f"{where}: length {length} leaves no image data")
    if pos + length > len(data):
        raise RecordError(E.FIR_TRUNCATED, f"{where}: length {length} runs past the record")
    if position not in _POSITIONS:
        raise RecordError(E.FIR_FIELD, f"{where}: finger position {position}")
    if not 1 <= number <= views:
        raise RecordError(E.FIR_FIELD, f"{where}: view {number} of {views}")
    if not (quality <= 100 or quality == QUALITY_UNDEFINED):
        raise RecordError(E.FIR_FIELD, f"{where}: quality {quality}")
    if impression not in _IMPRESSIONS:
        raise RecordError(E.FIR_FIELD, f"{where}: impression type {impression}")
    if reserved != 0:
        raise RecordError(E.FIR_RESERVED, f"{where}: reserved byte")
    images.check_bounds(width, height, where)
    image = data[pos + FINGER_HEADER_BYTES : pos + length]
    _check_image(image, comp, depth=depth, width=width, height=height, where=where)
    view = FingerView(
        position=FingerPosition.from_code(position),
        width=width,
        height=height,
        image=image,
        quality=quality,
        impression=Impression(impression),
        view_number=number,
        view_count=views,
    )
    return view, pos + length


def _check_image(
    image: bytes, comp: Compression, *, depth: int, width: int, height: int, where: str
) -> None:
    if comp is Compression.RAW:
        expected = width * height * ((depth + 7) // 8)
        if len(image) != expected:
            raise RecordError(E.IMAGE_DIMENSIONS, f"{where}: {len(image)} raw bytes, {expected}")
        return
    if comp is Compression.PNG:
        w, h, png_depth, colour = images.png_size(image)
        if colour != 0 or png_depth != depth:
            raise RecordError(
                E.FIR_INCONSISTENT, f"{where}: PNG colour {colour}/{png_depth} bit, header {depth}"
            )
    elif comp is Compression.JPEG:
        w, h, components = images.jpeg_size(image)
        if components != 1 or depth != 8:
            raise RecordError(E.FIR_INCONSISTENT, f"{where}: JPEG of {components} components")
    else:
        w, h, components = images.j2k_size(image)
        if components != 1:
            raise RecordError(E.FIR_INCONSISTENT, f"{where}: JPEG 2000 of {components} components")
    if (w, h) != (width, height):
        raise RecordError(
            E.IMAGE_DIMENSIONS, f"{where}: image is {w}x{h}, header says {width}x{height}"
        )
    if comp is Compression.PNG and depth == 8:
        images.verify_grey_png(image, width, height)
    else:
        images.decode(image, (width, height), where)


def _check_view_numbering(views: list[FingerView]) -> None:
    """Views of one finger share its count and number 1..count once each."""
    by_position: dict[FingerPosition, list[FingerView]] = {}
    for view in views:
        by_position.setdefault(view.position, []).append(view)
    for position, group in by_position.items():
        counts = {v.view_count for v in group}
        numbers = sorted(v.view_number for v in group)
        if len(counts) != 1 or numbers != list(range(1, len(group) + 1)) or counts != {len(group)}:
            raise RecordError(
                E.FIR_INCONSISTENT,
                f"finger position {int(position)}: views {numbers} of counts {sorted(counts)}",
            )
