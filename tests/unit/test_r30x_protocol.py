"""EF 01 framing: encoding, the streaming parser's resync and errors, image packing.

The parser is fuzzed: whatever bytes arrive, in whatever chunks, it returns packets or raises
its own FrameError family, nothing else."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bts_desk.drivers.r30x.protocol import (
    CONFIRMATION_MESSAGES,
    BadChecksumError,
    BadFrameError,
    BadImageError,
    Cmd,
    FrameError,
    FrameParser,
    Packet,
    Pid,
    TruncatedFrameError,
    command,
    confirmation_message,
    encode_packet,
    pack_image,
    unpack_image,
)
from bts_desk.errors import ScannerError


def test_command_bytes_match_the_datasheet() -> None:
    # GenImg and VfyPwd(0) exactly as printed in the AS608 / R307 user manuals.
    assert command(Cmd.GEN_IMG) == bytes.fromhex("EF01FFFFFFFF010003010005")
    assert command(Cmd.VFY_PWD, bytes(4)) == bytes.fromhex("EF01FFFFFFFF0100071300000000001B")


def test_roundtrip_in_one_byte_chunks() -> None:
    wire = encode_packet(Pid.ACK, b"\x00\x01\x02") + encode_packet(Pid.END_DATA, b"x" * 128)
    parser = FrameParser()
    got: list[Packet] = []
    for byte in wire:
        got += parser.feed(bytes((byte,)))
    assert got == [Packet(Pid.ACK, b"\x00\x01\x02"), Packet(Pid.END_DATA, b"x" * 128)]
    assert parser.pending() == 0


def test_garbage_before_a_header_is_skipped() -> None:
    parser = FrameParser()
    packets = parser.feed(b"\x00\x13\xef\x55garbage" + encode_packet(Pid.ACK, b"\x00"))
    assert packets == [Packet(Pid.ACK, b"\x00")]
    assert parser.skipped == 11


def test_bad_checksum_raises_then_the_next_frame_is_read() -> None:
    good = encode_packet(Pid.ACK, b"\x00")
    bad = bytearray(encode_packet(Pid.ACK, b"\x08\x00\x00"))
    bad[-1] ^= 0xFF
    parser = FrameParser()
    with pytest.raises(BadChecksumError) as info:
        parser.feed(bytes(bad))
    assert isinstance(info.value, ScannerError)
    assert "通信" in info.value.user_message
    assert parser.feed(good) == [Packet(Pid.ACK, b"\x00")]


def test_packets_before_a_broken_frame_are_not_lost() -> None:
    bad = bytearray(encode_packet(Pid.ACK, b"\x01"))
    bad[-1] ^= 1
    parser = FrameParser()
    assert parser.feed(encode_packet(Pid.ACK, b"\x00") + bytes(bad)) == [Packet(Pid.ACK, b"\x00")]
    with pytest.raises(BadChecksumError):
        parser.feed(b"")


def test_truncated_frame_is_reported_on_flush() -> None:
    parser = FrameParser()
    assert parser.feed(encode_packet(Pid.ACK, b"\x00\x00\x00")[:7]) == []
    with pytest.raises(TruncatedFrameError):
        parser.flush_partial()
    assert parser.pending() == 0


def test_unknown_pid_and_impossible_length_are_bad_frames() -> None:
    with pytest.raises(BadFrameError):
        FrameParser().feed(bytes.fromhex("EF01FFFFFFFF05000300") + b"\x00\x08")
    with pytest.raises(BadFrameError):
        FrameParser().feed(bytes.fromhex("EF01FFFFFFFF07FFFF00"))


def test_address_filter() -> None:
    with pytest.raises(BadFrameError):
        FrameParser(address=0x12345678).feed(encode_packet(Pid.ACK, b"\x00"))


def test_every_confirmation_code_has_a_chinese_message() -> None:
    for code in range(0x00, 0x36):
        message = confirmation_message(code)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in message), hex(code)
    assert "0x7E" in confirmation_message(0x7E)
    assert CONFIRMATION_MESSAGES[0x02] == "传感器上没有手指"


@pytest.mark.parametrize("width,height", [(256, 288), (192, 192)])
def test_image_packing_high_nibble_first(width: int, height: int) -> None:
    pixels = np.zeros((height, width), np.uint8)
    pixels[0, 0], pixels[0, 1] = 0xF0, 0x30
    packed = pack_image(pixels)
    assert len(packed) == width * height // 2 and packed[0] == 0xF3
    unpacked, bits = unpack_image(packed, width, height)
    assert bits == 4 and unpacked[0, 0] == 255 and unpacked[0, 1] == 51
    rng = np.random.default_rng(1)
    noisy = rng.integers(0, 256, (height, width), dtype=np.uint8)
    assert np.array_equal(unpack_image(pack_image(noisy), width, height)[0] >> 4, noisy >> 4)
    eight, bits = unpack_image(pack_image(noisy, 8), width, height)
    assert bits == 8 and np.array_equal(eight, noisy)


@pytest.mark.parametrize("size", [0, 1, 36863, 36865, 18432])
def test_an_image_of_another_size_is_a_scanner_error(size: int) -> None:
    with pytest.raises(BadImageError) as info:
        unpack_image(bytes(size), 256, 288)
    assert isinstance(info.value, ScannerError)


@settings(max_examples=400, deadline=None)
@given(chunks=st.lists(st.binary(max_size=300), max_size=12))
def test_fuzz_parser_raises_only_its_own_errors(chunks: list[bytes]) -> None:
    parser = FrameParser()
    for chunk in chunks:
        try:
            for packet in parser.feed(chunk):
                assert packet.pid in {p.value for p in Pid}
        except FrameError:
            pass
    with contextlib.suppress(FrameError):
        parser.flush_partial()


_frames = st.builds(
    encode_packet,
    st.sampled_from(list(Pid)),
    st.binary(max_size=256),
)
_garbage = st.binary(max_size=40).map(lambda b: b.replace(b"\xef", b""))


@settings(max_examples=300, deadline=None)
@given(
    items=st.lists(st.tuples(_garbage, _frames), min_size=1, max_size=8),
    cut=st.integers(min_value=1, max_value=64),
)
def test_fuzz_every_frame_survives_garbage_and_any_chunking(
    items: list[tuple[bytes, bytes]], cut: int
) -> None:
    wire = b"".join(g + f for g, f in items)
    parser = FrameParser()
    got: list[bytes] = []
    for start in range(0, len(wire), cut):
        got += [p.encode() for p in parser.feed(wire[start : start + cut])]
    assert got == [f for _, f in items]


_clean_frames = st.builds(
    encode_packet,
    st.sampled_from(list(Pid)),
    st.binary(max_size=256).map(lambda b: b.replace(b"\xef", b"")),
)


@settings(max_examples=300, deadline=None)
@given(frame=_clean_frames, flip=st.integers(min_value=0), bit=st.integers(0, 7))
def test_fuzz_a_flipped_bit_is_always_caught(frame: bytes, flip: int, bit: int) -> None:
    """The 16-bit sum covers PID, length and payload; the address filter covers the address:
    one flipped bit anywhere never yields a packet (at worst the frame is skipped)."""
    corrupt = bytearray(frame)
    corrupt[flip % len(corrupt)] ^= 1 << bit
    parser = FrameParser(address=0xFFFFFFFF)
    packets: list[Packet] = []
    try:
        packets = parser.feed(bytes(corrupt))
        parser.flush_partial()
    except FrameError:
        return
    assert packets == []
