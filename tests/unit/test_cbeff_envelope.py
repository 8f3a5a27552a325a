"""The CBEFF envelope of an enrollment: written as the XML patron format says, read back field
by field from every scanner profile's images, and refused with a precise code when malformed.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest
from biometric_fixtures import (
    face_source,
    finger_source,
    hand_made_finger_record,
    png,
    r30x_image,
)

from bts_desk.biometrics import builder, cbeff, iso19794_4
from bts_desk.biometrics.errors import RecordError, RecordErrorCode
from bts_desk.domain import FingerPosition

E = RecordErrorCode
NS = {"c": cbeff.NAMESPACE}
WHEN = dt.datetime(2026, 12, 1, 10, 30, 15, 250000, tzinfo=dt.UTC)
UUID = "0f8e6a52-3c1d-4a8b-9e2f-7d6c5b4a3921"


def _envelope(profile: str = "r30x", *, with_face: bool = True) -> bytes:
    fingers = (
        finger_source(FingerPosition.RIGHT_INDEX, finger=1, profile=profile),
        finger_source(FingerPosition.LEFT_INDEX, finger=2, profile=profile),
    )
    return builder.envelope(UUID, WHEN, fingers, face_source() if with_face else None)


@pytest.mark.parametrize("profile", ["r30x", "r503"])
def test_round_trip_from_every_scanner_profile(profile: str) -> None:
    parsed = cbeff.parse(_envelope(profile))
    env = parsed.envelope
    assert (env.index, env.created, env.creator) == (UUID, WHEN, "bts-desk")
    kinds = [(b.kind, b.position) for b in env.blocks]
    assert kinds == [
        (cbeff.BlockKind.FINGER_IMAGE, FingerPosition.RIGHT_INDEX),
        (cbeff.BlockKind.VENDOR_TEMPLATE, FingerPosition.RIGHT_INDEX),
        (cbeff.BlockKind.FINGER_IMAGE, FingerPosition.LEFT_INDEX),
        (cbeff.BlockKind.VENDOR_TEMPLATE, FingerPosition.LEFT_INDEX),
        (cbeff.BlockKind.FACE_IMAGE, None),
    ]
    size = (256, 288) if profile == "r30x" else (192, 192)
    for position, record in parsed.fingers.items():
        (view,) = record.views
        assert view.position is position and (view.width, view.height) == size
    assert set(parsed.vendor) == {FingerPosition.RIGHT_INDEX, FingerPosition.LEFT_INDEX}
    vendor = parsed.vendor[FingerPosition.LEFT_INDEX]
    source = finger_source(FingerPosition.LEFT_INDEX, finger=2, profile=profile)
    assert vendor.data == source.template
    assert vendor.product == cbeff.RegistryId(source.module_family, source.template_format)
    finger_block = env.blocks[0]
    assert finger_block.quality == cbeff.Quality(builder.FINGER_QUALITY_ALGORITHM, 88)
    assert finger_block.capture_device == cbeff.RegistryId("R307", "0x0000ABCD")
    assert all(b.created == WHEN for b in env.blocks)
    assert parsed.face is not None and parsed.face.faces[0].width == 360


def test_the_xml_carries_the_registered_identifiers() -> None:
    root = ET.fromstring(_envelope())
    assert root.tag == f"{{{cbeff.NAMESPACE}}}BIR"
    assert root.findtext("c:BIRInfo/c:Index", namespaces=NS) == UUID
    assert root.findtext("c:BIRInfo/c:CreationDate", namespaces=NS) == "2026-12-01T10:30:15.250Z"
    blocks = root.findall("c:BIR", NS)
    formats = [
        (
            b.findtext("c:BDBInfo/c:Format/c:Organization", namespaces=NS),
            b.findtext("c:BDBInfo/c:Format/c:Type", namespaces=NS),
        )
        for b in blocks
    ]
    # IBIA: format owner 257 (0x0101, ISO/IEC JTC 1/SC 37), types 7 finger image, 8 face image
    assert formats == [
        ("257", "7"),
        ("bts-desk", "vendor-template"),
        ("257", "7"),
        ("bts-desk", "vendor-template"),
        ("257", "8"),
    ]
    first = blocks[0]
    assert first.findtext("c:BDBInfo/c:Type", namespaces=NS) == "Finger"
    assert first.findtext("c:BDBInfo/c:Subtype", namespaces=NS) == "Right IndexFinger"
    assert first.findtext("c:BDBInfo/c:Level", namespaces=NS) == "Raw"
    assert first.findtext("c:BDBInfo/c:Purpose", namespaces=NS) == "Enroll"
    assert first.findtext("c:BDBInfo/c:Quality/c:Score", namespaces=NS) == "88"
    bdb = base64.b64decode(first.findtext("c:BDB", namespaces=NS) or "")
    assert bdb[:8] == b"FIR\x0001" + b"0\x00"
    assert blocks[1].findtext("c:BDBInfo/c:Product/c:Organization", namespaces=NS) == (
        "Synochip R30x/AS608"
    )
    assert blocks[4].findtext("c:BDBInfo/c:Type", namespaces=NS) == "Face"
    assert blocks[4].find("c:BDBInfo/c:Subtype", NS) is None


def _hand_made_envelope(finger_record: bytes, template: bytes) -> bytes:
    """An envelope typed out from the patron format (element names and order of
    cbeff_ed2.xsd), not produced by the writer under test."""
    record = base64.b64encode(finger_record).decode()
    vendor = base64.b64encode(template).decode()
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<BIR xmlns="http://standards.iso.org/iso-iec/19785/-3/ed-2/">
  <Version><Major>1</Major><Minor>1</Minor></Version>
  <CBEFFVersion><Major>1</Major><Minor>1</Minor></CBEFFVersion>
  <BIRInfo>
    <Creator>another desk</Creator>
    <Index>{UUID}</Index>
    <Integrity>false</Integrity>
    <CreationDate>2026-12-01T18:30:15+08:00</CreationDate>
  </BIRInfo>
  <BIR>
    <BIRInfo><Integrity>false</Integrity></BIRInfo>
    <BDBInfo>
      <Format><Organization>257</Organization><Type>7</Type></Format>
      <CreationDate>2026-12-01T10:30:15Z</CreationDate>
      <Type>Finger</Type>
      <Subtype>Right IndexFinger</Subtype>
      <Level>Raw</Level>
      <Purpose>Enroll</Purpose>
    </BDBInfo>
    <BDB>{record}</BDB>
  </BIR>
  <BIR>
    <BIRInfo><Integrity>false</Integrity></BIRInfo>
    <BDBInfo>
      <Format><Organization>bts-desk</Organization><Type>vendor-template</Type></Format>
      <CreationDate>2026-12-01T10:30:15Z</CreationDate>
      <Type>Finger</Type>
      <Subtype>Right IndexFinger</Subtype>
      <Level>Processed</Level>
      <Product><Organization>Synochip R30x/AS608</Organization><Type>R30x char file</Type></Product>
      <Purpose>Enroll</Purpose>
    </BDBInfo>
    <BDB>{vendor}</BDB>
  </BIR>
</BIR>
""".encode()


def test_a_hand_made_envelope_parses() -> None:
    image = png(r30x_image(1))
    record = hand_made_finger_record(image, width=256, height=288)
    parsed = cbeff.parse(_hand_made_envelope(record, b"\x03" * 512))
    assert parsed.envelope.created == WHEN.replace(microsecond=0)
    assert parsed.envelope.creator == "another desk"
    finger = parsed.fingers[FingerPosition.RIGHT_INDEX]
    assert finger == iso19794_4.parse(record)
    assert parsed.vendor[FingerPosition.RIGHT_INDEX].data == b"\x03" * 512
    assert parsed.face is None


def _refused(data: bytes, code: RecordErrorCode, **kwargs: int) -> None:
    with pytest.raises(RecordError) as caught:
        cbeff.parse(data, **kwargs)
    assert caught.value.code is code, caught.value.detail


def _swap(old: str, new: str, count: int = 1) -> bytes:
    text = _envelope().decode()
    assert old in text
    return text.replace(old, new, count).encode()


def test_size_and_xml_refusals() -> None:
    data = _envelope()
    _refused(data, E.CBEFF_OVERSIZED, max_bytes=len(data) - 1)
    _refused(data[: len(data) // 2], E.CBEFF_XML)
    bomb = b'<?xml version="1.0"?><!DOCTYPE BIR [<!ENTITY a "aaaa">]><BIR>&a;</BIR>'
    _refused(bomb, E.CBEFF_XML)
    _refused(b"<BIR/>", E.CBEFF_STRUCTURE)  # no namespace


@pytest.mark.parametrize(
    ("old", "new", "code"),
    [
        (
            "<Organization>257</Organization><Type>7</Type>",
            "<Organization>257</Organization><Type>2</Type>",
            E.CBEFF_FORMAT,
        ),  # minutiae
        (
            "<Subtype>Right IndexFinger</Subtype>",
            "<Subtype>Left IndexFinger</Subtype>",
            E.CBEFF_INCONSISTENT,
        ),
        ("<Subtype>Right IndexFinger</Subtype>", "<Subtype>Right Toe</Subtype>", E.CBEFF_FIELD),
        ("<Type>Finger</Type>", "<Type>Face</Type>", E.CBEFF_INCONSISTENT),
        ("<Level>Raw</Level>", "<Level>Processed</Level>", E.CBEFF_INCONSISTENT),
        ("<Purpose>Enroll</Purpose>", "<Purpose>Verify</Purpose>", E.CBEFF_FIELD),
        ("<Score>88</Score>", "<Score>101</Score>", E.CBEFF_FIELD),
        ("<Integrity>false</Integrity>", "<Integrity>true</Integrity>", E.CBEFF_FIELD),
        (f"<Index>{UUID}</Index>", "<Index>not-a-uuid</Index>", E.CBEFF_FIELD),
        (
            "2026-12-01T10:30:15.250Z</CreationDate>",
            "2026-12-01T10:30:15</CreationDate>",
            E.CBEFF_FIELD,
        ),
        ("<Level>Raw</Level>", "<Level>Raw</Level><Extra>1</Extra>", E.CBEFF_STRUCTURE),
        ("<Type>Finger</Type>", "", E.CBEFF_STRUCTURE),
        ("<BDB>", "<BDB>!", E.CBEFF_BASE64),
        ("<BDB>", "<BDB>A", E.CBEFF_BASE64),
        ("<Major>1</Major>", "<Major>3</Major>", E.CBEFF_FIELD),
        ("<BDBInfo>", '<BDBInfo note="x">', E.CBEFF_STRUCTURE),
    ],
)
def test_malformed_envelopes_are_refused_with_their_code(
    old: str, new: str, code: RecordErrorCode
) -> None:
    _refused(_swap(old, new), code)


def _rebuilt(edit: Callable[[ET.Element, list[ET.Element]], None]) -> bytes:
    """The envelope (fingers only) with its child BIRs edited as elements."""
    root = ET.fromstring(_envelope(with_face=False))
    blocks = root.findall("c:BIR", NS)
    edit(root, blocks)
    return ET.tostring(root, encoding="utf-8", default_namespace=cbeff.NAMESPACE)


def test_blocks_that_contradict_each_other_are_refused() -> None:
    def same_finger_twice(root: ET.Element, blocks: list[ET.Element]) -> None:
        root.append(copy.deepcopy(blocks[0]))

    def orphan_vendor_block(root: ET.Element, blocks: list[ET.Element]) -> None:
        root.remove(blocks[2])

    def too_many(root: ET.Element, blocks: list[ET.Element]) -> None:
        for _ in range(29):
            root.append(copy.deepcopy(blocks[1]))

    def no_blocks(root: ET.Element, blocks: list[ET.Element]) -> None:
        for block in blocks:
            root.remove(block)

    _refused(_rebuilt(same_finger_twice), E.CBEFF_DUPLICATE)
    _refused(_rebuilt(orphan_vendor_block), E.CBEFF_INCONSISTENT)
    _refused(_rebuilt(too_many), E.CBEFF_COUNT)
    _refused(_rebuilt(no_blocks), E.CBEFF_COUNT)


def test_a_damaged_record_inside_is_refused_with_the_records_code() -> None:
    data = bytearray(builder.finger_record(finger_source()))
    data[18] = 0  # no fingers
    text = _envelope().decode()
    first = text.split("<BDB>")[1].split("</BDB>")[0]
    _refused(text.replace(first, base64.b64encode(bytes(data)).decode()).encode(), E.FIR_FIELD)


def test_the_builder_refuses_two_fingers_in_one_position() -> None:
    same = (
        finger_source(FingerPosition.LEFT_INDEX),
        finger_source(FingerPosition.LEFT_INDEX, finger=2),
    )
    with pytest.raises(RecordError) as caught:
        builder.envelope(str(uuid.uuid4()), WHEN, same, None)
    assert caught.value.code is E.SOURCE_INVALID
