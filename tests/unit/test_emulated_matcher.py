"""The emulated module's minutiae matcher (``drivers/r30x/minutiae`` behind ``fingerimage``'s
Img2Tz / Match / RegModel): templates come from the pixels of a press, other people's fingers
do not match, the same finger does whatever the press's shift and rotation.

The impostor pairs below are ones the former orientation-field matcher accepted (scores 143 to
196 at the threshold 120): synthetic fingers whose ridge flow is alike but whose minutiae are
not."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bts_desk.drivers.r30x import fingerimage as fi
from bts_desk.drivers.r30x import minutiae as mn
from bts_desk.drivers.r30x.fingerimage import MATCH_THRESHOLD

R503 = (192, 192)
LOOK_ALIKES = [(16, 22), (22, 16), (27, 24), (15, 28), (19, 5)]


def _char(
    finger: int, press: int, size: tuple[int, int] = R503, template_bytes: int = 1536
) -> bytes:
    return fi.char_file(fi.press_image(finger, press, size=size), template_bytes)


def _template(finger: int, size: tuple[int, int] = R503) -> bytes:
    """What enrollment makes: presses 1 and 2 merged, then press 3 merged in."""
    first = fi.merge(_char(finger, 1, size), _char(finger, 2, size))
    assert first is not None
    merged = fi.merge(first, _char(finger, 3, size))
    assert merged is not None
    return merged


@pytest.mark.parametrize(("enrolled", "pressed"), LOOK_ALIKES)
def test_other_people_do_not_match(enrolled: int, pressed: int) -> None:
    assert fi.match_score(_char(pressed, 2), _char(enrolled, 1)) < MATCH_THRESHOLD
    template = _template(enrolled)
    for press in (4, 5, 6):
        assert fi.match_score(_char(pressed, press), template) < MATCH_THRESHOLD


@pytest.mark.parametrize("finger", [16, 27])
def test_same_finger_matches_whatever_the_shift_and_rotation(finger: int) -> None:
    poses = {p: fi.press_pose(finger, p, R503) for p in range(1, 31)}

    def apart(a: int, b: int) -> tuple[float, float]:
        shift = math.hypot(poses[a].dx - poses[b].dx, poses[a].dy - poses[b].dy)
        return abs(poses[a].angle - poses[b].angle), shift

    a, b = max(((a, b) for a in poses for b in poses if a < b), key=lambda ab: sum(apart(*ab)))
    turn, shift = apart(a, b)
    assert turn > 10 and shift > 15  # the presses really are turned and shifted apart
    assert fi.match_score(_char(finger, b), _char(finger, a)) >= MATCH_THRESHOLD
    template = _template(finger)
    for press in (a, b, 7, 8):
        assert fi.match_score(_char(finger, press), template) >= MATCH_THRESHOLD


def test_minutiae_come_from_the_pixels_of_the_press() -> None:
    """Most minutiae found in a press are the finger's own (its clean print's, moved by the
    press's pose), the two fingers' own minutiae differ, and a noisier image of the same
    press gives a char file that still matches (extraction, not identity)."""
    truth = fi.master_minutiae(16)
    assert len(truth) > 40
    found = []
    for press in (1, 2, 3):
        image = fi.press_image(16, press, size=R503)
        pressed = mn.extract(image, fi.contact_mask(image, fi.features_of(image)))
        matrix = fi.press_pose(16, press, R503).matrix
        moved = truth.xy @ matrix[:, :2].T + matrix[:, 2]
        distance = np.hypot(*(pressed.xy[:, None, :] - moved[None, :, :]).transpose(2, 0, 1))
        same_kind = pressed.kind[:, None] == truth.kind[None, :]
        found.append(float(((distance <= 5) & same_kind).any(axis=1).mean()))
    assert np.mean(found) > 0.7, found
    other = fi.master_minutiae(22)
    assert fi.match_score(mn.encode(truth, 1536), mn.encode(other, 1536)) < MATCH_THRESHOLD
    image = fi.press_image(16, 4, size=R503)
    noisy = np.clip(image + np.random.default_rng(1).normal(0, 8, image.shape), 0, 255)
    assert fi.match_score(fi.char_file(noisy.astype(np.uint8), 1536), _template(16)) >= (
        MATCH_THRESHOLD
    )


def test_char_files_keep_their_size_and_refuse_garbage() -> None:
    for size, template_bytes in (((256, 288), 512), (R503, 1536)):
        char = _char(5, 1, size, template_bytes)
        assert len(char) == template_bytes
        decoded = mn.decode(char)
        assert decoded is not None and len(decoded) >= fi.MIN_MINUTIAE
        assert mn.encode(decoded, template_bytes) == char
    assert fi.match_score(bytes(512), _char(5, 1, (256, 288), 512)) == 0
    assert fi.merge(b"\xff" * 512, _char(5, 1, (256, 288), 512)) is None
    with pytest.raises(fi.FeatureError) as refused:
        fi.char_file(fi.press_image(5, 1, fi.PressKind.SMALL, R503), 1536)
    assert refused.value.code == 0x07
