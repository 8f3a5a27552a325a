"""What differs between the modules of the EF 01 family, one profile per model, with sources.

The packet protocol is the same on every module; what is not: the sensor's geometry, the size
of a template, which optional instructions exist, the baud multipliers accepted. The driver
picks a profile from the config (``[scanner] model``) or, with ``model = "auto"``, from the
module's own ReadProdInfo answer (R50x) and falls back on ``generic`` when a module does not
say (AS608, ZFM-20 and R30x firmware have no ReadProdInfo). What the module reports about
itself (ReadSysPara, ReadProdInfo) wins over the table where both say something.

Sources (public manuals and the widely used third-party clients of the family):

- [ZFM] ZhianTec ZFM-20 series datasheet, §2 "Specifications" (image 256×288 px, 500 dpi;
  char file 256 B, template 512 B), §4.1/§5 instruction table (VfyPwd 0x13, ReadSysPara 0x0F,
  SetSysPara 0x0E with parameter 4 = baud N, 5 = security level, 6 = packet size code),
  §5 "UpImage" (4 bits per pixel, two pixels per byte). The AS608 (Synochip) is the same
  design; Adafruit's Adafruit_Fingerprint library (``begin``: verifyPassword then
  getParameters) and pyfingerprint (``verifyPassword``, ``getSystemParameters``,
  ``downloadImage`` of 256×288 at 4 bpp) open AS608/ZFM modules this way.
- [R305] R305 user manual, "Hardware specifications": baud 9600×N, N = 1..12 (default 6),
  character file 256 B, template 512 B, capacity 256. [R307] R307 user manual, §1
  "Introduction": same geometry and template, capacity 1000; no HandShake, no ReadProdInfo.
- [R503] Grow R503 Fingerprint Module User Manual V1.2.2 (2022.10): §I "Introduction"
  (sensing array 192×192 px, 508 dpi, characteristic value 512 B, template 1536 B, capacity
  200, baud 9600×N); §"ReadSysPara" (16-byte parameter table: status, system identifier
  0x0000, library size, security level, address, packet size code, baud N) and §"SetSysPara"
  (baud N ∈ {1, 2, 4, 6, 12}); §"HandShake" (0x40, answers 0x00 when the module is ready);
  §"ReadProdInfo" (0x3C, 46 bytes: module type 16, batch 4, serial 8, hardware version 2,
  sensor type 8, image width 2, image height 2, template size 2, library size 2).

Pure data, any thread.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

# Baud rate = 9600 × N; ReadSysPara's last word is N. [ZFM] §5, [R305], [R503] §SetSysPara.
BAUD_UNIT = 9600
ALL_MULTIPLIERS = tuple(range(1, 13))
R50X_MULTIPLIERS = (1, 2, 4, 6, 12)
DEFAULT_BAUDRATE = 57600  # N = 6, the factory setting of every module of the family
FAST_BAUDRATE = 115200  # N = 12
MAX_TEMPLATE_BYTES = 4096  # the largest template any profile or ReadProdInfo may announce


@dataclass(frozen=True)
class ModuleProfile:
    """One model of the family, as its manual describes it."""

    key: str  # the config's ``[scanner] model`` value
    name: str  # shown in the device panel and recorded with an enrollment
    width: int  # image columns (UpImage)
    height: int  # image rows
    dpi: int
    bits_per_pixel: int  # of UpImage on the wire
    template_bytes: int  # UpChar / DownChar of a merged template
    capacity: int  # templates in the flash library (ReadSysPara says the real figure)
    handshake: bool  # knows HandShake 0x40
    product_info: bool  # knows ReadProdInfo 0x3C
    baud_multipliers: tuple[int, ...]  # N values SetSysPara accepts
    system_id: int  # ReadSysPara's "system identifier code"
    template_format: str  # the enrollment record's name for its template bytes
    source: str  # manual and section the figures come from

    @property
    def image_bytes(self) -> int:
        return self.width * self.height * self.bits_per_pixel // 8

    def with_product_info(self, info: ProductInfo) -> ModuleProfile:
        """The profile with the geometry and sizes the module itself reported."""
        width = info.width or self.width
        height = info.height or self.height
        template = info.template_bytes if 0 < info.template_bytes <= MAX_TEMPLATE_BYTES else 0
        return replace(
            self,
            name=info.module_type or self.name,
            width=width,
            height=height,
            template_bytes=template or self.template_bytes,
            capacity=info.capacity or self.capacity,
        )


@dataclass(frozen=True)
class ProductInfo:
    """ReadProdInfo's 46 bytes ([R503] §ReadProdInfo); numbers big-endian, text 0-padded."""

    module_type: str
    batch: str
    serial: str
    hardware_version: tuple[int, int]
    sensor: str
    width: int
    height: int
    template_bytes: int
    capacity: int

    LENGTH = 46

    @classmethod
    def parse(cls, data: bytes) -> ProductInfo | None:
        if len(data) < cls.LENGTH:
            return None

        def text(field: bytes) -> str:
            return field.split(b"\x00", 1)[0].strip().decode("ascii", "replace")

        def word(at: int) -> int:
            return int.from_bytes(data[at : at + 2], "big")

        return cls(
            module_type=text(data[0:16]),
            batch=text(data[16:20]),
            serial=text(data[20:28]),
            hardware_version=(data[28], data[29]),
            sensor=text(data[30:38]),
            width=word(38),
            height=word(40),
            template_bytes=word(42),
            capacity=word(44),
        )

    def encode(self) -> bytes:
        def text(value: str, size: int) -> bytes:
            return value.encode("ascii")[:size].ljust(size, b"\x00")

        return b"".join(
            (
                text(self.module_type, 16),
                text(self.batch, 4),
                text(self.serial, 8),
                bytes(self.hardware_version),
                text(self.sensor, 8),
                *(
                    v.to_bytes(2, "big")
                    for v in (self.width, self.height, self.template_bytes, self.capacity)
                ),
            )
        )


_R30X_FORMAT = "synochip-r30x-char"

AS608 = ModuleProfile(
    key="as608",
    name="AS608/ZFM-20",
    width=256,
    height=288,
    dpi=500,
    bits_per_pixel=4,
    template_bytes=512,
    capacity=300,
    handshake=False,
    product_info=False,
    baud_multipliers=ALL_MULTIPLIERS,
    system_id=0x0009,
    template_format=_R30X_FORMAT,
    source="ZFM-20 datasheet §2 Specifications, §5 UpImage/SetSysPara; AS608 manual",
)
R307 = ModuleProfile(
    key="r307",
    name="R307/R305",
    width=256,
    height=288,
    dpi=500,
    bits_per_pixel=4,
    template_bytes=512,
    capacity=1000,
    handshake=False,
    product_info=False,
    baud_multipliers=ALL_MULTIPLIERS,
    system_id=0x0009,
    template_format=_R30X_FORMAT,
    source="R307 user manual §1 Introduction; R305 user manual, Hardware specifications",
)
R503 = ModuleProfile(
    key="r503",
    name="R503",
    width=192,
    height=192,
    dpi=508,
    bits_per_pixel=4,
    template_bytes=1536,
    capacity=200,
    handshake=True,
    product_info=True,
    baud_multipliers=R50X_MULTIPLIERS,
    system_id=0x0000,
    template_format="grow-r50x-char",
    source="R503 user manual V1.2.2 §I Introduction, §ReadSysPara, §HandShake, §ReadProdInfo",
)
GENERIC = replace(
    AS608,
    key="generic",
    name="R30x/AS608 (EF01)",
    capacity=0,
    source="the family's common ground: ZFM-20 datasheet §2 (used when a module does not say)",
)

PROFILES: dict[str, ModuleProfile] = {p.key: p for p in (AS608, R307, R503, GENERIC)}
AUTO = "auto"


def profile_named(key: str) -> ModuleProfile | None:
    """The profile for a config value (``auto`` → None: decide from the module's answers)."""
    return None if key == AUTO else PROFILES.get(key.lower())


def profile_for(info: ProductInfo | None) -> ModuleProfile:
    """``auto``: the profile a module's ReadProdInfo answer points at, its own figures on top."""
    if info is None:
        return GENERIC
    name = info.module_type.upper()
    base = next(
        (p for p in (R503, R307, AS608) if p.name.split("/")[0].upper() in name),
        R503 if (info.width, info.height) == (R503.width, R503.height) else GENERIC,
    )
    # a module answering ReadProdInfo knows it, and R50x firmware knows HandShake too
    return replace(base.with_product_info(info), product_info=True, handshake=base.handshake)


def rates_to_probe(first: int, multipliers: tuple[int, ...] = ALL_MULTIPLIERS) -> list[int]:
    """``first`` (the configured rate, 57600 by default), then 115200, then every other
    9600×N from the slowest, each once."""
    rates = [first, FAST_BAUDRATE] + [BAUD_UNIT * n for n in multipliers]
    return list(dict.fromkeys(r for r in rates if r > 0))
