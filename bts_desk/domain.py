"""Plain domain types of the desk: no Qt, no SQL, safe on any thread.

Enum values are stable codes (stored in the database and sent over the wire); ``label_en`` is
the English source text the UI translates (Chinese in resources/i18n) through Qt's translation
system, in the context ``Domain`` (see ``bts_desk.ui.labels``).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field


class LabelledEnum(enum.StrEnum):
    """A StrEnum whose members carry an English label for the UI."""

    label_en: str

    def __new__(cls, code: str, label_en: str) -> LabelledEnum:
        obj = str.__new__(cls, code)
        obj._value_ = code
        obj.label_en = label_en
        return obj


class Gender(LabelledEnum):
    MALE = "M", "Male"  # 男
    FEMALE = "F", "Female"  # 女


class RecordState(LabelledEnum):
    """状态 of a registration."""

    NORMAL = "normal", "Normal"  # 正常
    SUSPENDED = "suspended", "Suspended"  # 暂停
    CANCELLED = "cancelled", "Cancelled"  # 注销


class SyncState(LabelledEnum):
    """同步状态: whether the record has been synchronised with customs."""

    SYNCED = "synced", "Synced with customs"  # 已同步海关
    UNSYNCED = "unsynced", "Not synced with customs"  # 未同步海关


class EnableState(LabelledEnum):
    """启用状态."""

    ENABLED = "enabled", "Enabled"  # 启用
    DISABLED = "disabled", "Disabled"  # 停用


class BioFlag(LabelledEnum):
    """生物标识: derived from what is enrolled, never stored on its own."""

    BOTH = "both", "Face and fingerprints"  # 人脸指纹都有
    FINGER_ONLY = "finger_only", "Fingerprints, no face"  # 没有人脸有指纹
    FACE_ONLY = "face_only", "Face, no fingerprints"  # 有人脸没有指纹
    NONE = "none", "Neither"  # 都没有

    @classmethod
    def of(cls, has_face: bool, has_finger: bool) -> BioFlag:
        if has_face and has_finger:
            return cls.BOTH
        if has_finger:
            return cls.FINGER_ONLY
        if has_face:
            return cls.FACE_ONLY
        return cls.NONE

    @property
    def has_face(self) -> bool:
        return self in (BioFlag.BOTH, BioFlag.FACE_ONLY)

    @property
    def has_finger(self) -> bool:
        return self in (BioFlag.BOTH, BioFlag.FINGER_ONLY)


class FingerPosition(enum.IntEnum):
    """Which finger a capture holds: the finger position codes of ISO/IEC 19794-2/-4:2005
    (table "Finger position codes", shared with ANSI/NIST-ITL 1 "FGP"), written as they are
    into the finger records and sent over the wire. 0 is "unknown finger"; 11..15 (plain
    four-finger and two-thumb slaps) are not single fingers and are not offered."""

    label_en: str

    def __new__(cls, code: int, label_en: str) -> FingerPosition:
        obj = int.__new__(cls, code)
        obj._value_ = code
        obj.label_en = label_en
        return obj

    UNKNOWN = 0, "Unknown finger"  # 未知手指
    RIGHT_THUMB = 1, "Right thumb"  # 右手拇指
    RIGHT_INDEX = 2, "Right index finger"  # 右手食指
    RIGHT_MIDDLE = 3, "Right middle finger"  # 右手中指
    RIGHT_RING = 4, "Right ring finger"  # 右手环指
    RIGHT_LITTLE = 5, "Right little finger"  # 右手小指
    LEFT_THUMB = 6, "Left thumb"  # 左手拇指
    LEFT_INDEX = 7, "Left index finger"  # 左手食指
    LEFT_MIDDLE = 8, "Left middle finger"  # 左手中指
    LEFT_RING = 9, "Left ring finger"  # 左手环指
    LEFT_LITTLE = 10, "Left little finger"  # 左手小指

    @classmethod
    def from_code(cls, code: int) -> FingerPosition:
        """The position with this ISO code; ValueError for any other number."""
        member = cls._value2member_map_.get(code)
        if not isinstance(member, cls):
            raise ValueError(f"{code!r} is not an ISO/IEC 19794 finger position code")
        return member

    @classmethod
    def choices(cls) -> tuple[FingerPosition, ...]:
        """The ten fingers an officer can choose (1..10, without "unknown")."""
        return tuple(p for p in cls if p is not cls.UNKNOWN)

    @property
    def is_right_hand(self) -> bool:
        return 1 <= self.value <= 5


# The default finger of 指纹1 and 指纹2 (右手食指, 左手食指): slot number → position.
DEFAULT_FINGER_POSITIONS: dict[int, FingerPosition] = {
    1: FingerPosition.RIGHT_INDEX,
    2: FingerPosition.LEFT_INDEX,
}


# --- resident ID numbers (GB 11643-1999) -------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_check_digit(first17: str) -> str:
    """The 18th character of a resident ID number (ISO 7064 MOD 11-2)."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("need the first 17 digits")
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def is_valid_id_number(value: str) -> bool:
    value = value.strip().upper()
    if len(value) != 18 or not value[:17].isdigit():
        return False
    try:
        dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return id_check_digit(value[:17]) == value[17]


def mask_id_number(value: str) -> str:
    """The manual's display form: first three and last three characters, ``440*****012``."""
    if len(value) <= 6:
        return "*" * len(value)
    return f"{value[:3]}*****{value[-3:]}"


# --- records -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Borderer:
    """One 边民备案记录 as the desk shows it. The ID number is only ever held masked here."""

    id: int
    customs_code: str  # 关区代码
    name: str  # 姓名
    gender: Gender  # 性别
    id_number_masked: str  # 身份证号 (masked)
    address: str  # 户籍地址
    id_valid_from: dt.date  # 身份证有效期起
    id_valid_to: dt.date  # 身份证有效期止
    state: RecordState  # 状态
    data_source: str  # 数据来源
    valid_to: dt.date  # 有效期止
    bio_flag: BioFlag  # 生物标识
    enable_state: EnableState  # 启用状态
    sync_state: SyncState  # 同步状态
    last_op_date: dt.date | None  # 最近操作日期

    @property
    def can_enroll(self) -> bool:
        """补录 is allowed for 正常 records that are 已同步海关 (manual, 3.2)."""
        return self.state is RecordState.NORMAL and self.sync_state is SyncState.SYNCED


class SortOrder(enum.Enum):
    ASCENDING = "asc"
    DESCENDING = "desc"


@dataclass(frozen=True)
class BordererFilter:
    """The query form of 边民备案查询. ``None`` means 全部 (no condition)."""

    sync_state: SyncState | None = SyncState.SYNCED  # manual default: 已同步海关
    customs_code: str | None = None
    name: str | None = None  # prefix of 姓名
    gender: Gender | None = None
    bio_flag: BioFlag | None = None
    enable_state: EnableState | None = None
    last_op_from: dt.date | None = None
    last_op_to: dt.date | None = None
    id_number: str | None = None  # exact, full ID number (never displayed)

    def validation_error(self) -> str | None:
        """English source text of the first problem, or None (the UI translates it)."""
        if self.last_op_from and self.last_op_to and self.last_op_from > self.last_op_to:
            return "The start date is after the end date."
        return None


@dataclass(frozen=True)
class Officer:
    """The officer whose card is in the reader, as read from the card's certificate."""

    officer_id: str  # officer number
    name: str
    customs_code: str  # 关区代码 of the officer's district
    certificate_der: bytes = field(repr=False, default=b"")

    @property
    def display(self) -> str:
        return f"{self.name}（{self.officer_id}）"


# --- captures and enrollments ---------------------------------------------------------------


@dataclass(frozen=True)
class FingerCapture:
    """One enrolled finger: what ``bts_desk.capture`` produces from three presses.

    Sensitive personal data: never log it, store it only encrypted (bts_desk.store)."""

    finger_no: int  # 1 or 2 (指纹1 / 指纹2)
    template: bytes = field(repr=False)  # the scanner's template, in ``template_format``
    image_png: bytes = field(repr=False)  # the last press, 8-bit greyscale PNG (b"": none)
    press_quality: tuple[float, ...] = ()  # one figure per accepted press, 0..100
    # What the scanner's driver knows of its sensor and template (0 / "": not told).
    width: int = 0  # image columns as sensed
    height: int = 0
    bits_per_pixel: int = 0  # depth the sensor delivered (the PNG is always 8-bit)
    dpi: int = 0
    template_format: str = ""  # e.g. "synochip-r30x-char", "grow-r50x-char", "libfprint-fpprint"
    position: FingerPosition = FingerPosition.UNKNOWN  # which finger (ISO/IEC 19794 code)

    @property
    def iso_position(self) -> FingerPosition:
        """The finger's ISO code for records and uploads: a capture saved without one (before
        the 补录 dialog recorded the chosen finger) is filed under its slot's default finger
        (指纹1 右手食指, 指纹2 左手食指), the finger the dialog asks for unless changed."""
        if self.position is not FingerPosition.UNKNOWN:
            return self.position
        return DEFAULT_FINGER_POSITIONS.get(self.finger_no, FingerPosition.UNKNOWN)


@dataclass(frozen=True)
class FaceCapture:
    """The portrait photo of 人脸 补录, with the quality figures the gate measured."""

    jpeg: bytes = field(repr=False)
    quality: dict[str, float] = field(default_factory=dict)
    # Eye centres in the portrait's pixels, (image-left eye, image-right eye) = the person's
    # right then left eye: the eye-centre feature points (MPEG-4 group 12) that ISO/IEC
    # 19794-5 records for a token image.
    # None for photos taken before the token portrait (or received without them).
    eyes: tuple[tuple[float, float], tuple[float, float]] | None = None


class ExceptionReason(LabelledEnum):
    """Why a biometric could not be captured (补录 无法采集 / 无法拍照). The codes travel in
    the CBEFF envelope's exception entries and are checked against this list on the service;
    which reasons fit which biometric: ``FINGER_EXCEPTION_REASONS``, ``FACE_EXCEPTION_REASONS``.
    A finger that is missing or bandaged is what ANSI/NIST-ITL 1 records as amputated (XX) or
    unable to print (UP)."""

    MISSING = "missing", "Finger missing"  # 手指缺失
    DAMAGED = "damaged", "Finger damaged"  # 手指受损
    BANDAGED = "bandaged", "Bandaged"  # 包扎
    CANNOT_POSE = "cannot_pose", "Cannot be photographed"  # 无法配合拍照
    OTHER = "other", "Other"  # 其他

    @classmethod
    def from_code(cls, code: str) -> ExceptionReason:
        """The reason stored or sent as ``code``; ValueError for any other text."""
        member = cls._value2member_map_.get(code)
        if not isinstance(member, cls):
            raise ValueError(f"{code[:32]!r} is not an exception reason")
        return member


FINGER_EXCEPTION_REASONS = (
    ExceptionReason.MISSING,
    ExceptionReason.DAMAGED,
    ExceptionReason.BANDAGED,
    ExceptionReason.OTHER,
)
FACE_EXCEPTION_REASONS = (
    ExceptionReason.BANDAGED,
    ExceptionReason.CANNOT_POSE,
    ExceptionReason.OTHER,
)
MAX_EXCEPTION_NOTE = 60  # characters of the text of 其他


@dataclass(frozen=True)
class BioException:
    """One biometric the officer recorded as impossible to capture, with the reason.

    ``position`` names the finger; ``None`` is the face. ``note`` is the officer's own words,
    required for 其他 (``OTHER``) and empty otherwise. Not biometric data; may be logged
    without the note."""

    position: FingerPosition | None
    reason: ExceptionReason
    note: str = ""

    @property
    def is_face(self) -> bool:
        return self.position is None

    def problem(self) -> str | None:
        """English text of the first rule broken, or None: a reason that fits the biometric,
        a note exactly for 其他, at most ``MAX_EXCEPTION_NOTE`` printable characters."""
        allowed = FACE_EXCEPTION_REASONS if self.is_face else FINGER_EXCEPTION_REASONS
        if self.position is FingerPosition.UNKNOWN:
            return "an exception for an unknown finger"
        if self.reason not in allowed:
            return f"reason {self.reason.value!r} does not fit this biometric"
        return _note_problem(self.reason, self.note)


def _note_problem(reason: ExceptionReason, note: str) -> str | None:
    if reason is ExceptionReason.OTHER and not note.strip():
        return "the reason 'other' needs a note"
    if reason is not ExceptionReason.OTHER and note:
        return "a note is only taken with the reason 'other'"
    if len(note) > MAX_EXCEPTION_NOTE or note != note.strip():
        return f"the note has {len(note)} characters or stray spaces"
    if any(not ch.isprintable() for ch in note):
        return "the note holds control characters"
    return None


def exceptions_problem(
    finger_positions: set[FingerPosition], has_face: bool, exceptions: tuple[BioException, ...]
) -> str | None:
    """English text of what makes an enrollment's outcome invalid, or None. At least one
    biometric is captured, or every one is recorded as impossible: at least one finger and the
    face. An exception never names a biometric that was captured, nor one twice."""
    for exc in exceptions:
        if (problem := exc.problem()) is not None:
            return problem
    keys = [exc.position for exc in exceptions]
    if len(set(keys)) != len(keys):
        return "two exceptions for the same biometric"
    if any(exc.position in finger_positions for exc in exceptions if exc.position is not None):
        return "an exception for a finger that was captured"
    if has_face and None in keys:
        return "an exception for the face beside a photo"
    if not finger_positions and not has_face and (None not in keys or len(keys) < 2):
        return "nothing captured and not every biometric recorded as impossible"
    return None


@dataclass(frozen=True)
class EnrollmentDraft:
    """Everything a 补录 saves in one transaction (store) and later uploads (sync)."""

    uuid: str  # made on the desk (uuid4), the idempotency key of the upload
    borderer_id: int
    officer: Officer
    desk_id: str
    captured_at: dt.datetime
    fingers: tuple[FingerCapture, ...]
    face: FaceCapture | None = None
    scanner_model: str = ""
    scanner_serial: str = ""
    camera_name: str = ""
    exceptions: tuple[BioException, ...] = ()  # 无法采集 / 无法拍照, fingers first, face last

    @property
    def bio_flag(self) -> BioFlag:
        """The 生物标识 this enrollment gives a record that had nothing before."""
        return BioFlag.of(self.face is not None, bool(self.fingers))

    def problem(self) -> str | None:
        """English text of what makes the draft's outcome invalid (see
        ``exceptions_problem``), or None."""
        positions = {f.iso_position for f in self.fingers}
        return exceptions_problem(positions, self.face is not None, self.exceptions)


class OutboxState(LabelledEnum):
    """Upload state of an enrollment on the desk."""

    PENDING = "pending", "Pending"  # 待上传
    SENDING = "sending", "Sending"  # 上传中
    ACKNOWLEDGED = "acknowledged", "Uploaded"  # 已上传
    REFUSED = "refused", "Refused"  # 被拒绝
