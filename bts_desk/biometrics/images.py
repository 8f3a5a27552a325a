"""Image data inside biometric records: encoding the finger image, and checking that the
bytes a record embeds are the image its header describes.

Dimensions are read from the codec's own header (PNG IHDR, JPEG SOFn, JPEG 2000 SIZ) before
anything is decoded, so a record cannot make the reader allocate more than its header's bounds
allow; then the image is decoded (OpenCV) to prove the data is whole. Pure functions, no Qt;
any thread (OpenCV's codecs are re-entrant).
"""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import numpy.typing as npt

from bts_desk.biometrics.errors import RecordError, RecordErrorCode

U8 = npt.NDArray[np.uint8]

MAX_SIDE = 4096  # pixels: either side of any embedded image
MAX_PIXELS = 8 * 1024 * 1024

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_IEND = b"IEND\xaeB`\x82"
_J2K_SOC_SIZ = b"\xff\x4f\xff\x51"
_JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
# SOFn markers carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but do not.
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _corrupt(what: str) -> RecordError:
    return RecordError(RecordErrorCode.IMAGE_CORRUPT, what)


def png_size(data: bytes) -> tuple[int, int, int, int]:
    """(width, height, bit depth, colour type) from a PNG's IHDR chunk."""
    if len(data) < 33 or not data.startswith(_PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise _corrupt("not a PNG (signature or IHDR missing)")
    if not data.endswith(_PNG_IEND):
        raise _corrupt("PNG without its IEND chunk at the end")
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    return width, height, depth, colour


def verify_grey_png(data: bytes, width: int, height: int) -> None:
    """Prove an 8-bit grey, non-interlaced PNG whole without decoding it to pixels: every
    chunk's CRC, IHDR first and IEND last, and the IDAT stream inflating to exactly one filter
    byte (0..4) plus ``width`` bytes per row, never more (no decompression bomb). Several times
    faster than a full decode, which also unfilters each row."""
    pos, idat, seen = 8, [], []
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise _corrupt(f"PNG chunk {kind!r} runs past the end")
        body = data[pos + 8 : pos + 8 + length]
        if zlib.crc32(kind + body) != struct.unpack(">I", data[end - 4 : end])[0]:
            raise _corrupt(f"PNG chunk {kind!r} fails its CRC")
        seen.append(kind)
        if kind == b"IDAT":
            idat.append(body)
        pos = end
    if pos != len(data) or not seen or seen[0] != b"IHDR" or seen[-1] != b"IEND":
        raise _corrupt("PNG chunks out of order or trailing bytes")
    ihdr = data[16:29]
    if ihdr[8:13] != b"\x08\x00\x00\x00\x00":  # depth 8, grey, deflate, filter 0, no interlace
        raise _corrupt("PNG is not 8-bit grey non-interlaced")
    expected = height * (width + 1)
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(b"".join(idat), expected + 1)
    except zlib.error:
        raise _corrupt("PNG image data does not inflate") from None
    if len(raw) != expected or not inflater.eof or inflater.unconsumed_tail:
        raise _corrupt(f"PNG image data inflates to {len(raw)} bytes, {expected} expected")
    if max(raw[:: width + 1]) > 4:
        raise _corrupt("PNG row with an unknown filter type")


def jpeg_size(data: bytes) -> tuple[int, int, int]:
    """(width, height, components) from the first SOFn segment of a JPEG."""
    if not data.startswith(b"\xff\xd8"):
        raise _corrupt("not a JPEG (no SOI marker)")
    if not data.endswith(b"\xff\xd9"):
        raise _corrupt("JPEG without its EOI marker at the end")
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise _corrupt(f"JPEG marker expected at offset {pos}")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if length < 2 or pos + 2 + length > len(data):
            raise _corrupt(f"JPEG segment 0x{marker:02X} runs past the end")
        if marker in _JPEG_SOF:
            if length < 8:
                raise _corrupt("JPEG SOF segment too short")
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height, data[pos + 9]
        if marker == 0xDA:  # start of scan before any frame header
            break
        pos += 2 + length
    raise _corrupt("JPEG without a frame header (SOFn)")


def _j2k_codestream_size(data: bytes, start: int) -> tuple[int, int, int]:
    if data[start : start + 4] != _J2K_SOC_SIZ or len(data) < start + 42:
        raise _corrupt("JPEG 2000 codestream without SIZ")
    xsiz, ysiz, xo, yo = struct.unpack(">IIII", data[start + 8 : start + 24])
    (components,) = struct.unpack(">H", data[start + 40 : start + 42])
    if xsiz <= xo or ysiz <= yo:
        raise _corrupt("JPEG 2000 SIZ with an empty image area")
    return xsiz - xo, ysiz - yo, components


def j2k_size(data: bytes) -> tuple[int, int, int]:
    """(width, height, components) of a JPEG 2000 codestream or JP2 file (its jp2c box)."""
    if data.startswith(_J2K_SOC_SIZ):
        return _j2k_codestream_size(data, 0)
    if not data.startswith(_JP2_SIGNATURE):
        raise _corrupt("neither a JPEG 2000 codestream nor a JP2 file")
    pos = 0
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if length == 1:
            if pos + 16 > len(data):
                break
            (length,) = struct.unpack(">Q", data[pos + 8 : pos + 16])
            header = 16
        elif length == 0:
            length = len(data) - pos
        if length < header or pos + length > len(data):
            raise _corrupt("JP2 box runs past the end")
        if kind == b"jp2c":
            return _j2k_codestream_size(data, pos + header)
        pos += length
    raise _corrupt("JP2 file without a codestream box")


def check_bounds(width: int, height: int, what: str) -> None:
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE) or width * height > MAX_PIXELS:
        raise RecordError(
            RecordErrorCode.IMAGE_TOO_LARGE,
            f"{what}: {width}x{height} outside 1..{MAX_SIDE} px a side, {MAX_PIXELS} px",
        )


def decode(data: bytes, expect: tuple[int, int], what: str, *, reduced: bool = False) -> None:
    """Decode the whole image (proving it is intact) and check it is ``expect`` (w, h).

    ``reduced`` (JPEG): decode at 1/8 scale; the whole entropy-coded stream is still read (what
    catches bad data), only the inverse DCT and colour conversion are cheaper."""
    flags = cv2.IMREAD_REDUCED_GRAYSCALE_8 if reduced else cv2.IMREAD_GRAYSCALE
    try:
        pixels = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flags)
    except cv2.error as exc:
        raise _corrupt(f"{what}: the codec failed ({type(exc).__name__})") from None
    if pixels is None or pixels.size == 0:
        raise _corrupt(f"{what}: the image data does not decode")
    height, width = pixels.shape[:2]
    want = (-(-expect[0] // 8), -(-expect[1] // 8)) if reduced else expect
    if (width, height) != want:
        raise RecordError(
            RecordErrorCode.IMAGE_DIMENSIONS,
            f"{what}: decodes to {width}x{height}, expected {want[0]}x{want[1]}",
        )


def to_8bit_grey(pixels: U8, bits_per_pixel: int) -> U8:
    """The module's image at its real bit depth, spread over 8 bits (ISO/IEC 19794-4 grey).

    A module that delivers ``bits_per_pixel`` < 8 has 2**bpp grey levels; its driver already
    hands them over as 8-bit values (the R30x's 4 bpp nibbles ×17). Requantizing to the top
    ``bpp`` bits and spreading level L to round(L·255/(2**bpp−1)) keeps exactly the levels the
    sensor measured, maps black to 0 and white to 255, and is idempotent on such input."""
    if pixels.ndim != 2 or pixels.dtype != np.uint8:
        raise RecordError(RecordErrorCode.SOURCE_INVALID, f"finger image {pixels.shape} not grey")
    if not 1 <= bits_per_pixel <= 8:
        raise RecordError(RecordErrorCode.SOURCE_INVALID, f"bits per pixel {bits_per_pixel}")
    if bits_per_pixel == 8:
        return pixels
    top = 2**bits_per_pixel - 1
    levels = pixels >> (8 - bits_per_pixel)
    lut = np.round(np.arange(top + 1) * 255.0 / top).astype(np.uint8)
    return np.asarray(lut[levels], dtype=np.uint8)


def bits_in_use(pixels: U8) -> int:
    """The bit depth an 8-bit image really has: 4 when it holds only the 16 levels a 4-bpp
    sensor's nibbles spread to (multiples of 17), 8 otherwise."""
    present = np.flatnonzero(np.bincount(pixels.ravel(), minlength=256))
    return 4 if not np.any(present % 17) else 8


def encode_png(pixels: U8) -> bytes:
    """Lossless 8-bit grey PNG at zlib level 9 (the finger record's compression, code 5)."""
    ok, encoded = cv2.imencode(".png", pixels, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    if not ok:
        raise RecordError(RecordErrorCode.SOURCE_INVALID, "PNG encoding failed")
    return bytes(encoded.tobytes())
