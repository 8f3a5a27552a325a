from __future__ import annotations

import datetime as dt

import pytest

from bts_desk.domain import (
    DEFAULT_FINGER_POSITIONS,
    BioFlag,
    BordererFilter,
    FingerPosition,
    id_check_digit,
    is_valid_id_number,
    mask_id_number,
)


def test_gb11643_check_digit_known_numbers() -> None:
    # Published example numbers of GB 11643-1999.
    assert id_check_digit("11010519491231002") == "X"
    assert id_check_digit("44052418800101001") == "4"
    assert is_valid_id_number("11010519491231002X")
    assert not is_valid_id_number("110105194912310021")
    assert not is_valid_id_number("11010519491331002X")  # month 13


def test_mask_matches_the_manual() -> None:
    assert mask_id_number("440301199001010012") == "440*****012"


@pytest.mark.parametrize(
    ("face", "finger", "flag"),
    [
        (True, True, BioFlag.BOTH),
        (False, True, BioFlag.FINGER_ONLY),
        (True, False, BioFlag.FACE_ONLY),
        (False, False, BioFlag.NONE),
    ],
)
def test_bio_flag_is_derived(face: bool, finger: bool, flag: BioFlag) -> None:
    assert BioFlag.of(face, finger) is flag
    assert (flag.has_face, flag.has_finger) == (face, finger)


def test_filter_rejects_reversed_dates() -> None:
    f = BordererFilter(last_op_from=dt.date(2024, 2, 1), last_op_to=dt.date(2024, 1, 1))
    assert f.validation_error() is not None
    assert BordererFilter().validation_error() is None


def test_finger_positions_are_the_iso_19794_codes() -> None:
    # ISO/IEC 19794-2:2005 / 19794-4:2005, table "Finger position codes" (as ANSI/NIST-ITL 1).
    expected = {
        0: "Unknown finger",
        1: "Right thumb",
        2: "Right index finger",
        3: "Right middle finger",
        4: "Right ring finger",
        5: "Right little finger",
        6: "Left thumb",
        7: "Left index finger",
        8: "Left middle finger",
        9: "Left ring finger",
        10: "Left little finger",
    }
    assert {p.value: p.label_en for p in FingerPosition} == expected
    assert FingerPosition(7) is FingerPosition.LEFT_INDEX
    assert FingerPosition.UNKNOWN not in FingerPosition.choices()
    assert len(FingerPosition.choices()) == 10
    assert [p.is_right_hand for p in FingerPosition.choices()] == [True] * 5 + [False] * 5
    assert DEFAULT_FINGER_POSITIONS == {1: FingerPosition.RIGHT_INDEX, 2: FingerPosition.LEFT_INDEX}
    with pytest.raises(ValueError):
        FingerPosition(11)
