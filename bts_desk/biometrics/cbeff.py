"""One CBEFF (ISO/IEC 19785) envelope per enrollment: the XML patron format's BIR.

The envelope is the ISO/IEC 19785-3 XML patron format (the OASIS ``cbeff_ed2.xsd`` element
names and order, as MOSIP uses it for its biometric packets): a root ``BIR`` with the
enrollment's ``BIRInfo`` and one child ``BIR`` per biometric data block (BDB), each with its
``BDBInfo`` and the record as base64 in ``BDB``.

Format identifiers (BDBInfo/Format), registered with IBIA, the CBEFF registration authority
("BDB Format Identifiers", owner ISO/IEC JTC 1 SC 37-Biometrics; quoted in MOSIP's
documentation, ``docs/CBEFF-XML.md`` and ``docs/MOSIP-Biometric-Data-Specifications.md``):

- format owner 257 (0x0101) = ISO/IEC JTC 1/SC 37;
- format type 7 (0x0007) = finger image (ISO/IEC 19794-4), 8 (0x0008) = face image (19794-5).

The module's own template is kept as a *vendor block*: its format owner is not a registered
number but the name ``VENDOR_FORMAT_OWNER``, its format type ``VENDOR_FORMAT_TYPE``, and its
``Product`` names the module family (Organization) and the template format (Type), so a
matcher of that vendor can find it and any other reader knows to skip it.

A biometric the officer recorded as impossible to capture (补录 无法采集 / 无法拍照) is an
*exception entry*: a child BIR of the same owner with type ``EXCEPTION_FORMAT_TYPE``, its
BDBInfo Type (Finger/Face) and Subtype (the finger) naming what is missing, and as its BDB the
canonical JSON ``{"note": "...", "reason": "<code>"}`` (``domain.ExceptionReason``; the note
only with "other", at most ``domain.MAX_EXCEPTION_NOTE`` characters). An envelope may hold
only exception entries when they cover a finger and the face (``domain.exceptions_problem``).

Strict parsing: a size bound before parsing, no DOCTYPE (no entities), every element checked
against the schema's order and multiplicity, every text bounded, base64 validated, each BDB
parsed by its own format's parser and cross-checked with its BDBInfo. Pure Python, any thread.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import enum
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from bts_desk.biometrics import iso19794_4, iso19794_5
from bts_desk.biometrics.errors import RecordError, RecordErrorCode
from bts_desk.domain import (
    BioException,
    ExceptionReason,
    FingerPosition,
    exceptions_problem,
)

NAMESPACE = "http://standards.iso.org/iso-iec/19785/-3/ed-2/"
ISO_SC37_OWNER = 257  # 0x0101, ISO/IEC JTC 1/SC 37-Biometrics
FORMAT_FINGER_IMAGE = 7  # 0x0007, ISO/IEC 19794-4 finger image
FORMAT_FACE_IMAGE = 8  # 0x0008, ISO/IEC 19794-5 face image
VENDOR_FORMAT_OWNER = "bts-desk"  # not a registered owner: a labelled vendor block
VENDOR_FORMAT_TYPE = "vendor-template"
EXCEPTION_FORMAT_TYPE = "capture-exception"  # same owner: an exception entry
PATRON_VERSION = (1, 1)
CBEFF_VERSION = (1, 1)

MAX_ENVELOPE_BYTES = 16 * 1024 * 1024
MAX_FINGERS = 10
MAX_VENDOR_BLOCKS = 10
MAX_VENDOR_BYTES = 16 * 1024
MAX_TEXT = 256
MAX_EXCEPTION_BYTES = 512  # the JSON of one exception entry

E = RecordErrorCode


class Modality(enum.StrEnum):
    FINGER = "Finger"
    FACE = "Face"


class Level(enum.StrEnum):
    RAW = "Raw"
    INTERMEDIATE = "Intermediate"
    PROCESSED = "Processed"


class BlockKind(enum.Enum):
    FINGER_IMAGE = "finger_image"
    FACE_IMAGE = "face_image"
    VENDOR_TEMPLATE = "vendor_template"
    EXCEPTION = "exception"  # no data: why the biometric could not be captured


_SUBTYPES = {
    FingerPosition.RIGHT_THUMB: "Right Thumb",
    FingerPosition.RIGHT_INDEX: "Right IndexFinger",
    FingerPosition.RIGHT_MIDDLE: "Right MiddleFinger",
    FingerPosition.RIGHT_RING: "Right RingFinger",
    FingerPosition.RIGHT_LITTLE: "Right LittleFinger",
    FingerPosition.LEFT_THUMB: "Left Thumb",
    FingerPosition.LEFT_INDEX: "Left IndexFinger",
    FingerPosition.LEFT_MIDDLE: "Left MiddleFinger",
    FingerPosition.LEFT_RING: "Left RingFinger",
    FingerPosition.LEFT_LITTLE: "Left LittleFinger",
}
_POSITIONS = {text: position for position, text in _SUBTYPES.items()}


@dataclass(frozen=True)
class RegistryId:
    """An (Organization, Type) pair of the schema: Format, Product, CaptureDevice, Algorithm."""

    organization: str
    type: str


@dataclass(frozen=True)
class Quality:
    algorithm: RegistryId
    score: int  # 0..100


@dataclass(frozen=True)
class DataBlock:
    """One BDB with its BDBInfo."""

    kind: BlockKind
    data: bytes
    created: dt.datetime
    position: FingerPosition | None = None  # fingers and vendor blocks
    quality: Quality | None = None
    capture_device: RegistryId | None = None
    product: RegistryId | None = None  # vendor block: (module family, template format)

    @property
    def format(self) -> RegistryId:
        if self.kind is BlockKind.FINGER_IMAGE:
            return RegistryId(str(ISO_SC37_OWNER), str(FORMAT_FINGER_IMAGE))
        if self.kind is BlockKind.FACE_IMAGE:
            return RegistryId(str(ISO_SC37_OWNER), str(FORMAT_FACE_IMAGE))
        if self.kind is BlockKind.EXCEPTION:
            return RegistryId(VENDOR_FORMAT_OWNER, EXCEPTION_FORMAT_TYPE)
        return RegistryId(VENDOR_FORMAT_OWNER, VENDOR_FORMAT_TYPE)

    @property
    def modality(self) -> Modality:
        if self.kind is BlockKind.FACE_IMAGE:
            return Modality.FACE
        if self.kind is BlockKind.EXCEPTION and self.position is None:
            return Modality.FACE
        return Modality.FINGER

    @property
    def level(self) -> Level:
        return Level.PROCESSED if self.kind is BlockKind.VENDOR_TEMPLATE else Level.RAW


@dataclass(frozen=True)
class Envelope:
    """An enrollment's envelope: its identity (the enrollment UUID), creator and blocks."""

    index: str
    created: dt.datetime
    creator: str
    blocks: tuple[DataBlock, ...]


@dataclass(frozen=True)
class ParsedEnvelope:
    """An envelope read back, with each standard block's record parsed."""

    envelope: Envelope
    fingers: dict[FingerPosition, iso19794_4.FingerImageRecord]
    face: iso19794_5.FaceImageRecord | None
    vendor: dict[FingerPosition, DataBlock]
    exceptions: tuple[BioException, ...] = ()  # fingers in envelope order, then the face


# --- writing ---------------------------------------------------------------------------------


def _q(tag: str) -> str:
    return f"{{{NAMESPACE}}}{tag}"


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    child = ET.SubElement(parent, _q(tag))
    if text is not None:
        child.text = text
    return child


def _registry(parent: ET.Element, tag: str, value: RegistryId) -> None:
    node = _sub(parent, tag)
    _sub(node, "Organization", value.organization)
    _sub(node, "Type", value.type)


def _version(parent: ET.Element, tag: str, version: tuple[int, int]) -> None:
    node = _sub(parent, tag)
    _sub(node, "Major", str(version[0]))
    _sub(node, "Minor", str(version[1]))


def _time(value: dt.datetime) -> str:
    if value.tzinfo is None:
        raise RecordError(E.SOURCE_INVALID, "a creation time without a UTC offset")
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def encode(envelope: Envelope, *, verify: bool = True) -> bytes:
    """The envelope as UTF-8 XML; ``verify``: parsed back (with every record) first."""
    root = ET.Element(_q("BIR"))
    _version(root, "Version", PATRON_VERSION)
    _version(root, "CBEFFVersion", CBEFF_VERSION)
    info = _sub(root, "BIRInfo")
    _sub(info, "Creator", envelope.creator)
    _sub(info, "Index", envelope.index)
    _sub(info, "Integrity", "false")
    _sub(info, "CreationDate", _time(envelope.created))
    for block in envelope.blocks:
        _encode_block(_sub(root, "BIR"), block)
    out = bytes(
        ET.tostring(root, encoding="utf-8", xml_declaration=True, default_namespace=NAMESPACE)
    )
    if verify:
        parse(out)
    return out


def exception_block(exception: BioException, created: dt.datetime) -> DataBlock:
    """The exception entry of one biometric that could not be captured."""
    content = {"note": exception.note, "reason": exception.reason.value}
    data = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return DataBlock(
        kind=BlockKind.EXCEPTION,
        data=data.encode("utf-8"),
        created=created,
        position=exception.position,
    )


def _encode_block(node: ET.Element, block: DataBlock) -> None:
    _sub(_sub(node, "BIRInfo"), "Integrity", "false")
    info = _sub(node, "BDBInfo")
    _registry(info, "Format", block.format)
    _sub(info, "CreationDate", _time(block.created))
    _sub(info, "Type", block.modality.value)
    if block.position is not None and block.position is not FingerPosition.UNKNOWN:
        _sub(info, "Subtype", _SUBTYPES[block.position])
    _sub(info, "Level", block.level.value)
    if block.product is not None:
        _registry(info, "Product", block.product)
    if block.capture_device is not None:
        _registry(info, "CaptureDevice", block.capture_device)
    _sub(info, "Purpose", "Enroll")
    if block.quality is not None:
        quality = _sub(info, "Quality")
        _registry(quality, "Algorithm", block.quality.algorithm)
        _sub(quality, "Score", str(block.quality.score))
    _sub(node, "BDB", base64.b64encode(block.data).decode("ascii"))


# --- parsing ---------------------------------------------------------------------------------

_ROOT_SPEC = (("Version", 1, 1), ("CBEFFVersion", 1, 1), ("BIRInfo", 1, 1), ("BIR", 1, 32))
_ROOT_INFO_SPEC = (("Creator", 1, 1), ("Index", 1, 1), ("Integrity", 1, 1), ("CreationDate", 1, 1))
_BLOCK_SPEC = (("BIRInfo", 1, 1), ("BDBInfo", 1, 1), ("BDB", 1, 1))
_BDB_INFO_SPEC = (
    ("Format", 1, 1),
    ("CreationDate", 1, 1),
    ("Type", 1, 1),
    ("Subtype", 0, 1),
    ("Level", 1, 1),
    ("Product", 0, 1),
    ("CaptureDevice", 0, 1),
    ("Purpose", 1, 1),
    ("Quality", 0, 1),
)
_REGISTRY_SPEC = (("Organization", 1, 1), ("Type", 1, 1))
_VERSION_SPEC = (("Major", 1, 1), ("Minor", 1, 1))
_QUALITY_SPEC = (("Algorithm", 1, 1), ("Score", 1, 1))
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _children(
    node: ET.Element, spec: tuple[tuple[str, int, int], ...], where: str
) -> dict[str, list[ET.Element]]:
    """The node's children by local name, in the schema's order and multiplicity."""
    if node.text is not None and node.text.strip():
        raise RecordError(E.CBEFF_STRUCTURE, f"{where}: text beside child elements")
    if node.attrib:
        raise RecordError(E.CBEFF_STRUCTURE, f"{where}: attributes {sorted(node.attrib)}")
    found: dict[str, list[ET.Element]] = {name: [] for name, _, _ in spec}
    order = [name for name, _, _ in spec]
    last = -1
    for child in node:
        if not isinstance(child.tag, str) or not child.tag.startswith(f"{{{NAMESPACE}}}"):
            raise RecordError(E.CBEFF_STRUCTURE, f"{where}: element {child.tag!r}")
        name = child.tag[len(NAMESPACE) + 2 :]
        if name not in found:
            raise RecordError(E.CBEFF_STRUCTURE, f"{where}: unexpected element {name}")
        rank = order.index(name)
        if rank < last:
            raise RecordError(E.CBEFF_STRUCTURE, f"{where}: {name} out of the schema's order")
        last = rank
        if child.tail is not None and child.tail.strip():
            raise RecordError(E.CBEFF_STRUCTURE, f"{where}: text after {name}")
        found[name].append(child)
    for name, low, high in spec:
        if not low <= len(found[name]) <= high:
            code = E.CBEFF_COUNT if name == "BIR" else E.CBEFF_STRUCTURE
            raise RecordError(code, f"{where}: {len(found[name])} × {name}, {low}..{high}")
    return found


def _text(node: ET.Element, where: str, limit: int = MAX_TEXT) -> str:
    if len(node) or node.attrib:
        raise RecordError(E.CBEFF_STRUCTURE, f"{where}: a leaf element with children")
    text = (node.text or "").strip()
    if not text or len(text) > limit:
        raise RecordError(E.CBEFF_FIELD, f"{where}: {len(text)} characters, 1..{limit}")
    return text


def _one(found: dict[str, list[ET.Element]], name: str, where: str) -> str:
    return _text(found[name][0], f"{where}/{name}")


def _registry_of(node: ET.Element, where: str) -> RegistryId:
    found = _children(node, _REGISTRY_SPEC, where)
    return RegistryId(_one(found, "Organization", where), _one(found, "Type", where))


def _int(text: str, low: int, high: int, where: str) -> int:
    if not text.isdigit() or len(text) > 6 or not low <= int(text) <= high:
        raise RecordError(E.CBEFF_FIELD, f"{where}: {text!r} not an integer {low}..{high}")
    return int(text)


def _date(text: str, where: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise RecordError(E.CBEFF_FIELD, f"{where}: {text!r} is not an ISO 8601 time") from None
    if value.tzinfo is None:
        raise RecordError(E.CBEFF_FIELD, f"{where}: {text!r} has no UTC offset")
    return value


def _check_version(node: ET.Element, where: str, majors: range) -> None:
    found = _children(node, _VERSION_SPEC, where)
    _int(_one(found, "Major", where), majors.start, majors.stop - 1, f"{where}/Major")
    _int(_one(found, "Minor", where), 0, 99, f"{where}/Minor")


def parse(data: bytes, *, max_bytes: int = MAX_ENVELOPE_BYTES) -> ParsedEnvelope:
    """The envelope in ``data``, with every block's record parsed; ``RecordError`` otherwise."""
    if len(data) > max_bytes:
        raise RecordError(E.CBEFF_OVERSIZED, f"{len(data)} bytes > {max_bytes}")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise RecordError(E.CBEFF_XML, "document type declarations are not accepted")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise RecordError(E.CBEFF_XML, f"not well-formed XML ({exc})") from None
    except (LookupError, ValueError) as exc:  # e.g. an unknown encoding in the declaration
        raise RecordError(E.CBEFF_XML, f"unreadable XML ({type(exc).__name__})") from None
    if root.tag != _q("BIR"):
        raise RecordError(E.CBEFF_STRUCTURE, f"root element {root.tag!r}, expected BIR")
    found = _children(root, _ROOT_SPEC, "BIR")
    _check_version(found["Version"][0], "BIR/Version", range(1, 2))
    _check_version(found["CBEFFVersion"][0], "BIR/CBEFFVersion", range(1, 3))
    info = _children(found["BIRInfo"][0], _ROOT_INFO_SPEC, "BIR/BIRInfo")
    index = _one(info, "Index", "BIR/BIRInfo")
    if not _UUID.match(index):
        raise RecordError(E.CBEFF_FIELD, "BIR/BIRInfo/Index: not a lower-case UUID")
    if _one(info, "Integrity", "BIR/BIRInfo") != "false":
        raise RecordError(E.CBEFF_FIELD, "BIR/BIRInfo/Integrity: signed BIRs are not read")
    envelope = Envelope(
        index=index,
        created=_date(_one(info, "CreationDate", "BIR/BIRInfo"), "BIR/BIRInfo/CreationDate"),
        creator=_one(info, "Creator", "BIR/BIRInfo"),
        blocks=tuple(
            _parse_block(node, f"BIR/BIR[{i + 1}]") for i, node in enumerate(found["BIR"])
        ),
    )
    return _cross_check(envelope)


def _parse_block(node: ET.Element, where: str) -> DataBlock:
    found = _children(node, _BLOCK_SPEC, where)
    integrity = _children(found["BIRInfo"][0], (("Integrity", 1, 1),), f"{where}/BIRInfo")
    if _one(integrity, "Integrity", f"{where}/BIRInfo") != "false":
        raise RecordError(E.CBEFF_FIELD, f"{where}/BIRInfo/Integrity: signed BIRs are not read")
    info = _children(found["BDBInfo"][0], _BDB_INFO_SPEC, f"{where}/BDBInfo")
    at = f"{where}/BDBInfo"
    kind = _kind(_registry_of(info["Format"][0], f"{at}/Format"), at)
    modality = _one(info, "Type", at)
    level = _one(info, "Level", at)
    expected = (
        (Modality.FACE, Level.RAW)
        if kind is BlockKind.FACE_IMAGE
        else (Modality.FINGER, Level.PROCESSED if kind is BlockKind.VENDOR_TEMPLATE else Level.RAW)
    )
    if kind is BlockKind.EXCEPTION and modality == Modality.FACE.value:
        expected = (Modality.FACE, Level.RAW)  # an exception entry names either modality
    if (modality, level) != (expected[0].value, expected[1].value):
        raise RecordError(E.CBEFF_INCONSISTENT, f"{at}: {modality}/{level} for a {kind.value}")
    if _one(info, "Purpose", at) != "Enroll":
        raise RecordError(E.CBEFF_FIELD, f"{at}/Purpose: only Enroll")
    face_exception = kind is BlockKind.EXCEPTION and modality == Modality.FACE.value
    position = _position(info, kind, at, face=face_exception)
    product = _registry_of(info["Product"][0], f"{at}/Product") if info["Product"] else None
    if (product is None) == (kind is BlockKind.VENDOR_TEMPLATE):
        raise RecordError(E.CBEFF_INCONSISTENT, f"{at}/Product: only (and always) on vendor blocks")
    device = info["CaptureDevice"]
    return DataBlock(
        kind=kind,
        data=_bdb(found["BDB"][0], kind, f"{where}/BDB"),
        created=_date(_one(info, "CreationDate", at), f"{at}/CreationDate"),
        position=position,
        quality=_quality(info["Quality"][0], f"{at}/Quality") if info["Quality"] else None,
        capture_device=_registry_of(device[0], f"{at}/CaptureDevice") if device else None,
        product=product,
    )


def _kind(fmt: RegistryId, where: str) -> BlockKind:
    if fmt == RegistryId(str(ISO_SC37_OWNER), str(FORMAT_FINGER_IMAGE)):
        return BlockKind.FINGER_IMAGE
    if fmt == RegistryId(str(ISO_SC37_OWNER), str(FORMAT_FACE_IMAGE)):
        return BlockKind.FACE_IMAGE
    if fmt == RegistryId(VENDOR_FORMAT_OWNER, VENDOR_FORMAT_TYPE):
        return BlockKind.VENDOR_TEMPLATE
    if fmt == RegistryId(VENDOR_FORMAT_OWNER, EXCEPTION_FORMAT_TYPE):
        return BlockKind.EXCEPTION
    raise RecordError(
        E.CBEFF_FORMAT, f"{where}/Format: owner {fmt.organization!r} type {fmt.type!r}"
    )


def _position(
    info: dict[str, list[ET.Element]], kind: BlockKind, where: str, *, face: bool = False
) -> FingerPosition | None:
    if kind is BlockKind.FACE_IMAGE or face:
        if info["Subtype"]:
            raise RecordError(E.CBEFF_INCONSISTENT, f"{where}/Subtype on a face block")
        return None
    if not info["Subtype"]:
        if kind is BlockKind.EXCEPTION:
            raise RecordError(E.CBEFF_EXCEPTION, f"{where}: a finger exception names no finger")
        return FingerPosition.UNKNOWN
    text = _one(info, "Subtype", where)
    if text not in _POSITIONS:
        raise RecordError(E.CBEFF_FIELD, f"{where}/Subtype: {text!r} is not a finger")
    return _POSITIONS[text]


def _quality(node: ET.Element, where: str) -> Quality:
    found = _children(node, _QUALITY_SPEC, where)
    algorithm = _registry_of(found["Algorithm"][0], f"{where}/Algorithm")
    return Quality(algorithm, _int(_one(found, "Score", where), 0, 100, f"{where}/Score"))


def _bdb(node: ET.Element, kind: BlockKind, where: str) -> bytes:
    limit = {
        BlockKind.FINGER_IMAGE: iso19794_4.MAX_RECORD_BYTES,
        BlockKind.FACE_IMAGE: iso19794_5.MAX_RECORD_BYTES,
        BlockKind.VENDOR_TEMPLATE: MAX_VENDOR_BYTES,
        BlockKind.EXCEPTION: MAX_EXCEPTION_BYTES,
    }[kind]
    chars = 4 * ((limit + 2) // 3)
    if len(node.text or "") > chars:
        raise RecordError(E.CBEFF_OVERSIZED, f"{where}: more than {limit} bytes")
    text = _text(node, where, limit=chars)
    if len(text) % 4:
        raise RecordError(E.CBEFF_BASE64, f"{where}: base64 of {len(text)} characters")
    try:
        # strict_mode: the alphabet, padding only at the end, checked in C while decoding
        # (b64decode(validate=True) runs a regular expression over the text first).
        raw = binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        raise RecordError(E.CBEFF_BASE64, f"{where}: not base64") from None
    if len(raw) > limit:
        raise RecordError(E.CBEFF_OVERSIZED, f"{where}: {len(raw)} bytes > {limit}")
    return raw


def _cross_check(envelope: Envelope) -> ParsedEnvelope:
    """Each block's record against its BDBInfo, and the blocks against each other."""
    fingers: dict[FingerPosition, iso19794_4.FingerImageRecord] = {}
    vendor: dict[FingerPosition, DataBlock] = {}
    face: iso19794_5.FaceImageRecord | None = None
    exceptions: list[BioException] = []
    for number, block in enumerate(envelope.blocks, 1):
        where = f"block {number}"
        if block.kind is BlockKind.EXCEPTION:
            exceptions.append(_exception(block, where))
        elif block.kind is BlockKind.FINGER_IMAGE:
            record = iso19794_4.parse(block.data)
            positions = {view.position for view in record.views}
            if positions != {block.position}:
                raise RecordError(
                    E.CBEFF_INCONSISTENT,
                    f"{where}: Subtype {block.position!r}, record holds {sorted(positions)}",
                )
            assert block.position is not None
            if block.position in fingers:
                raise RecordError(E.CBEFF_DUPLICATE, f"{where}: finger {int(block.position)}")
            fingers[block.position] = record
        elif block.kind is BlockKind.FACE_IMAGE:
            if face is not None:
                raise RecordError(E.CBEFF_COUNT, f"{where}: a second face block")
            face = iso19794_5.parse(block.data)
        else:
            assert block.position is not None
            if not block.data:
                raise RecordError(E.CBEFF_FIELD, f"{where}: an empty vendor template")
            if block.position in vendor:
                raise RecordError(E.CBEFF_DUPLICATE, f"{where}: vendor block {int(block.position)}")
            vendor[block.position] = block
    parsed = ParsedEnvelope(envelope, fingers, face, vendor, tuple(exceptions))
    _check_blocks(parsed)
    return parsed


def _check_blocks(parsed: ParsedEnvelope) -> None:
    """Counts, vendor blocks beside their images, and the exception entries' rules."""
    fingers, vendor = parsed.fingers, parsed.vendor
    if len(fingers) > MAX_FINGERS or len(vendor) > MAX_VENDOR_BLOCKS:
        raise RecordError(E.CBEFF_COUNT, f"{len(fingers)} finger and {len(vendor)} vendor blocks")
    stray = set(vendor) - set(fingers)
    if stray:
        raise RecordError(
            E.CBEFF_INCONSISTENT, f"vendor blocks for fingers without an image: {sorted(stray)}"
        )
    problem = exceptions_problem(set(fingers), parsed.face is not None, parsed.exceptions)
    if problem is not None:
        raise RecordError(E.CBEFF_EXCEPTION, problem)


def _exception(block: DataBlock, where: str) -> BioException:
    """An exception entry's JSON: exactly ``reason`` (a known code) and ``note`` (text)."""
    try:
        content = json.loads(block.data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise RecordError(E.CBEFF_EXCEPTION, f"{where}: not UTF-8 JSON") from None
    if not isinstance(content, dict) or set(content) != {"reason", "note"}:
        raise RecordError(E.CBEFF_EXCEPTION, f"{where}: expected exactly reason and note")
    reason, note = content["reason"], content["note"]
    if not isinstance(reason, str) or not isinstance(note, str):
        raise RecordError(E.CBEFF_EXCEPTION, f"{where}: reason and note must be text")
    try:
        code = ExceptionReason.from_code(reason)
    except ValueError:
        raise RecordError(E.CBEFF_EXCEPTION, f"{where}: unknown reason {reason[:32]!r}") from None
    exception = BioException(block.position, code, note)
    problem = exception.problem()
    if problem is not None:
        raise RecordError(E.CBEFF_EXCEPTION, f"{where}: {problem}")
    return exception
