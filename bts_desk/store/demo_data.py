"""Realistic demo and benchmark data for the borderer store (``bts-desk demo-data``).

Border residents of the land-border regions (Guangxi, Yunnan, Xinjiang, Inner Mongolia,
Heilongjiang, Jilin, Tibet) with the 关区代码 of their border-trade points, names drawn from a
surname frequency table (and local minority names where they are common), addresses in the
county of the ID number's administrative code, 18-digit ID numbers with a valid GB 11643 check
digit, and a realistic mix of states, flags and dates. The manual's five sample rows are always
there, with their exact values.

Random draws are vectorised with numpy and rows are inserted in chunks with Core
``executemany``; for a big load into an empty table the borderer indexes are dropped and rebuilt
afterwards (much faster than maintaining eight indexes row by row). Runs on any thread but is
meant for the CLI and the demo's first start (a worker thread).
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final, TextIO

import numpy as np
from sqlalchemy import Connection, func, select

from bts_desk.domain import Gender, RecordState, id_check_digit
from bts_desk.store.borderers import BORDERER, BordererRecord, upsert
from bts_desk.store.db import Database

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class County:
    """A border county: its GB/T 2260 code (first six digits of local ID numbers)."""

    code: str
    province: str
    prefecture: str
    name: str
    towns: tuple[str, ...]


@dataclass(frozen=True)
class District:
    """A 关区代码 (customs district of a border-trade point) and the counties it serves."""

    code: str
    name: str
    counties: tuple[County, ...]
    weight: float
    minority_names: tuple[str, ...] = ()
    minority_share: float = 0.0


_GX, _YN, _XJ = "广西壮族自治区", "云南省", "新疆维吾尔自治区"
_NM, _HL, _JL, _XZ = "内蒙古自治区", "黑龙江省", "吉林省", "西藏自治区"

_DONGXING = County("450681", _GX, "防城港市", "东兴市", ("东兴镇", "江平镇", "马路镇"))
_PINGXIANG = County("451481", _GX, "崇左市", "凭祥市", ("凭祥镇", "友谊镇", "夏石镇", "上石镇"))
_LONGZHOU = County("451423", _GX, "崇左市", "龙州县", ("水口镇", "下冻镇", "金龙镇"))
_JINGXI = County("451081", _GX, "百色市", "靖西市", ("龙邦镇", "岳圩镇", "湖润镇"))
_NAPO = County("451026", _GX, "百色市", "那坡县", ("平孟镇", "百省乡"))
_RUILI = County("533102", _YN, "德宏傣族景颇族自治州", "瑞丽市", ("姐告", "弄岛镇", "畹町镇"))
_HEKOU = County("532532", _YN, "红河哈尼族彝族自治州", "河口瑶族自治县", ("河口镇", "南溪镇"))
_MENGLA = County("532823", _YN, "西双版纳傣族自治州", "勐腊县", ("磨憨镇", "勐满镇"))
_TENGCHONG = County("530581", _YN, "保山市", "腾冲市", ("猴桥镇", "滇滩镇"))
_KHORGOS = County("654004", _XJ, "伊犁哈萨克自治州", "霍尔果斯市", ("伊车嘎善乡", "莫乎尔乡"))
_KASHGAR = County("653101", _XJ, "喀什地区", "喀什市", ("浩罕乡", "多来特巴格乡"))
_MANZHOULI = County("150781", _NM, "呼伦贝尔市", "满洲里市", ("东湖区", "扎赉诺尔区"))
_ERENHOT = County("152501", _NM, "锡林郭勒盟", "二连浩特市", ("格日勒敖都苏木", "赛乌苏"))
_SUIFENHE = County("231081", _HL, "牡丹江市", "绥芬河市", ("绥芬河镇", "阜宁镇"))
_HEIHE = County("231102", _HL, "黑河市", "爱辉区", ("瑷珲镇", "四嘉子满族乡"))
_HUNCHUN = County("222404", _JL, "延边朝鲜族自治州", "珲春市", ("敬信镇", "春化镇", "英安镇"))
_GYIRONG = County("540234", _XZ, "日喀则市", "吉隆县", ("吉隆镇", "宗嘎镇"))

_UYGHUR = ("阿依古丽", "买买提", "热依拉", "艾力", "古丽娜尔", "吐尔逊", "阿不都", "努尔")
_MONGOL = ("巴特尔", "其其格", "乌云", "那仁", "苏日娜", "额尔敦", "宝音", "图雅")
_TIBETAN = ("扎西", "卓玛", "次仁", "央金", "多吉", "格桑", "德吉", "平措")

DISTRICTS: Final[tuple[District, ...]] = (
    District("7200", "南宁海关", (_PINGXIANG, _DONGXING), 0.06),
    District("7206", "东兴海关", (_DONGXING,), 0.12),
    District("7216", "凭祥海关", (_PINGXIANG,), 0.12),
    District("7218", "水口海关", (_LONGZHOU,), 0.06),
    District("7225", "龙邦海关", (_JINGXI, _NAPO), 0.06),
    District("8609", "河口海关", (_HEKOU,), 0.10),
    District("8603", "瑞丽海关", (_RUILI,), 0.10),
    District("8612", "磨憨海关", (_MENGLA,), 0.05),
    District("8616", "腾冲海关", (_TENGCHONG,), 0.04),
    District("7905", "霍尔果斯海关", (_KHORGOS,), 0.06, _UYGHUR, 0.6),
    District("7911", "喀什海关", (_KASHGAR,), 0.03, _UYGHUR, 0.8),
    District("0602", "满洲里海关", (_MANZHOULI,), 0.05, _MONGOL, 0.3),
    District("0701", "二连海关", (_ERENHOT,), 0.04, _MONGOL, 0.4),
    District("1903", "绥芬河海关", (_SUIFENHE,), 0.04),
    District("1905", "黑河海关", (_HEIHE,), 0.03),
    District("1504", "珲春海关", (_HUNCHUN,), 0.03),
    District("8802", "吉隆海关", (_GYIRONG,), 0.01, _TIBETAN, 0.9),
)

# The most frequent surnames (share of the population, per cent; national statistics).
SURNAMES: Final[tuple[tuple[str, float], ...]] = (
    ("王", 7.1),
    ("李", 7.0),
    ("张", 6.8),
    ("刘", 5.4),
    ("陈", 4.5),
    ("杨", 3.1),
    ("黄", 2.5),
    ("赵", 2.3),
    ("吴", 2.0),
    ("周", 1.9),
    ("徐", 1.5),
    ("孙", 1.5),
    ("马", 1.3),
    ("朱", 1.3),
    ("胡", 1.2),
    ("郭", 1.1),
    ("何", 1.1),
    ("林", 1.0),
    ("罗", 0.9),
    ("高", 0.9),
    ("郑", 0.8),
    ("梁", 0.8),
    ("谢", 0.7),
    ("宋", 0.7),
    ("唐", 0.7),
    ("许", 0.7),
    ("韩", 0.6),
    ("冯", 0.6),
    ("邓", 0.6),
    ("曹", 0.6),
    ("彭", 0.5),
    ("曾", 0.5),
    ("肖", 0.5),
    ("田", 0.5),
    ("董", 0.5),
    ("潘", 0.4),
    ("袁", 0.4),
    ("蔡", 0.4),
    ("蒋", 0.4),
    ("余", 0.4),
    ("于", 0.4),
    ("杜", 0.4),
    ("叶", 0.4),
    ("程", 0.4),
    ("魏", 0.3),
    ("苏", 0.3),
    ("吕", 0.3),
    ("丁", 0.3),
    ("任", 0.3),
    ("卢", 0.3),
    ("姚", 0.3),
    ("沈", 0.3),
    ("钟", 0.3),
    ("姜", 0.3),
    ("崔", 0.3),
    ("谭", 0.3),
    ("陆", 0.3),
    ("范", 0.2),
    ("农", 0.2),
    ("韦", 0.2),
    ("莫", 0.2),
    ("覃", 0.2),
    ("蒙", 0.1),
    ("岩", 0.1),
    ("刀", 0.05),
    ("金", 0.2),
    ("朴", 0.05),
    ("戚", 0.05),
)
_GIVEN_MALE = "伟强磊军洋勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林国生立文海东建志荣"
_GIVEN_FEMALE = "芳娜敏静丽艳娟霞秀玲桂英梅琳燕红琪奕菊婷雪慧萍兰云凤洁莉倩颖春月晶丹璐"
_VILLAGES = ("新民", "团结", "和平", "友谊", "边贸", "北山", "南坡", "东风", "幸福", "向阳", "民族")

DATA_SOURCES: Final = (("服务应用系统", 0.82), ("单一窗口标准版", 0.13), ("地方公共服务平台", 0.05))
# 生物标识 mix: (has_face, has_finger) -> share; most residents have enrolled at least fingers.
BIO_MIX: Final = (
    ((True, True), 0.46),
    ((False, True), 0.24),
    ((True, False), 0.05),
    ((False, False), 0.25),
)
STATE_MIX: Final = (
    (RecordState.NORMAL, 0.92),
    (RecordState.SUSPENDED, 0.05),
    (RecordState.CANCELLED, 0.03),
)


def _manual_id(prefix6: str, tail3: str, born: dt.date) -> str:
    """A valid ID number whose masked form is the manual's ``prefix[:3]*****tail3``."""
    for seq in range(10):
        first17 = f"{prefix6}{born:%Y%m%d}{seq}{tail3[:2]}"
        if id_check_digit(first17) == tail3[2]:
            return first17 + tail3[2]
    return _manual_id(prefix6, tail3, born + dt.timedelta(days=1))


def _manual(  # noqa: PLR0917
    i: int, name: str, gender: Gender, id_parts: tuple[str, str, dt.date], address: str,
    dates: tuple[str, str, str], face: bool, finger: bool, enabled: bool,
) -> BordererRecord:  # fmt: skip
    d = [dt.date.fromisoformat(x) for x in dates]
    return BordererRecord(
        id=i, customs_code="8609", name=name, gender=gender, id_number=_manual_id(*id_parts),
        address=address, id_valid_from=d[0], id_valid_to=d[1], state=RecordState.NORMAL,
        data_source="服务应用系统", valid_to=d[2], has_face=face, has_finger=finger,
        enabled=enabled, synced=True, last_op_date=d[2],
    )  # fmt: skip


M, F = Gender.MALE, Gender.FEMALE
MANUAL_ROWS: Final[tuple[BordererRecord, ...]] = (
    _manual(1, "潘国生", M, ("440306", "012", dt.date(1985, 3, 2)),
            "广东省深圳市宝安八区新安湖花园新云轩2-702",
            ("2019-12-13", "2039-12-13", "2023-04-25"), True, True, True),
    _manual(2, "韩立", M, ("430102", "111", dt.date(1990, 7, 9)), "贵州谷",
            ("2022-04-20", "2051-04-20", "2023-04-20"), False, True, True),
    _manual(3, "吴琪琪", F, ("450103", "726", dt.date(1996, 1, 27)), "广东深圳",
            ("2016-01-27", "2026-01-27", "2023-05-26"), True, True, False),
    _manual(4, "吴奕", F, ("450105", "011", dt.date(1994, 5, 18)), "广西",
            ("2016-01-27", "2026-01-27", "2023-05-26"), False, False, True),
    _manual(5, "戚只菊", F, ("452101", "081", dt.date(1979, 11, 30)), "四川成都",
            ("2020-05-01", "2026-05-01", "2023-05-24"), False, True, True),
)  # fmt: skip


def _pick(rng: np.random.Generator, weights: list[float], n: int) -> np.ndarray[Any, Any]:
    p = np.asarray(weights, dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum())


def _days(rng: np.random.Generator, start: dt.date, end: dt.date, n: int) -> np.ndarray[Any, Any]:
    base = np.datetime64(start, "D")
    return base + rng.integers(0, (end - start).days + 1, size=n).astype("timedelta64[D]")


def _add_years(day: dt.date, years: int) -> dt.date:
    """``day`` plus whole years (29 February becomes 28 February), as ID validity is counted."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _check_digits(first17: np.ndarray[Any, Any]) -> list[str]:
    """Vectorised GB 11643 check characters of 17-digit numbers (int64)."""
    weights = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
    digits = (first17[:, None] // (10 ** np.arange(16, -1, -1, dtype=np.int64))) % 10
    table = np.array(list("10X98765432"))
    return list(table[(digits @ weights) % 11])


class _Tables:
    """Flattened lookup tables of the district/county/name pools (built once per run)."""

    def __init__(self) -> None:
        self.districts = DISTRICTS
        self.surnames = [s for s, _ in SURNAMES]
        self.surname_w = [w for _, w in SURNAMES]


def generate(
    count: int, first_id: int, seed: int = 20260, chunk: int = 50_000
) -> Iterator[list[dict[str, Any]]]:
    """Chunks of ``BordererRow`` column dicts for ids ``first_id ..``; deterministic per seed."""
    rng = np.random.default_rng(seed)
    tables = _Tables()
    done = 0
    while done < count:
        n = min(chunk, count - done)
        yield _chunk(rng, tables, first_id + done, n)
        done += n


def _chunk(rng: np.random.Generator, t: _Tables, first_id: int, n: int) -> list[dict[str, Any]]:
    districts = t.districts
    d_idx = _pick(rng, [d.weight for d in districts], n).tolist()
    c_sel = rng.integers(0, 1 << 30, size=n).tolist()
    male = rng.random(n) < 0.52
    surname = _pick(rng, t.surname_w, n).tolist()
    given1 = rng.integers(0, 1 << 30, size=n).tolist()
    given2 = rng.integers(0, 1 << 30, size=n).tolist()
    two_chars = (rng.random(n) < 0.7).tolist()
    minority = rng.random(n).tolist()
    born = _days(rng, dt.date(1950, 1, 1), dt.date(2006, 12, 31), n)
    seq = rng.integers(0, 50, size=n) * 20 + rng.integers(0, 5, size=n) * 2 + male.astype(int)
    village = rng.integers(0, len(_VILLAGES), size=n).tolist()
    house = rng.integers(1, 200, size=n).tolist()
    id_from = _days(rng, dt.date(2008, 1, 1), dt.date(2026, 6, 30), n)
    years = np.where(rng.random(n) < 0.3, 10, 20)
    valid_to = _days(rng, dt.date(2023, 1, 1), dt.date(2028, 12, 31), n).tolist()
    state = _pick(rng, [w for _, w in STATE_MIX], n).tolist()
    source = _pick(rng, [w for _, w in DATA_SOURCES], n).tolist()
    bio = _pick(rng, [w for _, w in BIO_MIX], n).tolist()
    enabled = (rng.random(n) < 0.9).tolist()
    synced = (rng.random(n) < 0.88).tolist()
    last_op = _days(rng, dt.date(2021, 1, 1), dt.date(2026, 11, 20), n).tolist()
    no_op = (rng.random(n) < 0.03).tolist()

    counties = [
        districts[d].counties[c % len(districts[d].counties)]
        for d, c in zip(d_idx, c_sel, strict=True)
    ]
    prefix = np.array([int(c.code) for c in counties], dtype=np.int64)
    ymd = born.astype(object)
    ymd_int = np.array([b.year * 10000 + b.month * 100 + b.day for b in ymd], dtype=np.int64)
    first17 = prefix * 10**11 + ymd_int * 1000 + seq
    checks = _check_digits(first17)
    first17_l = first17.tolist()
    male_l = male.tolist()
    id_from_l, years_l = id_from.tolist(), years.tolist()

    rows: list[dict[str, Any]] = []
    for i in range(n):
        district, county = districts[d_idx[i]], counties[i]
        if district.minority_names and minority[i] < district.minority_share:
            pool = district.minority_names
            name = pool[given1[i] % len(pool)] + (
                "·" + pool[given2[i] % len(pool)] if two_chars[i] else ""
            )
        else:
            chars = _GIVEN_MALE if male_l[i] else _GIVEN_FEMALE
            given = chars[given1[i] % len(chars)]
            if two_chars[i]:
                given += chars[given2[i] % len(chars)]
            name = t.surnames[surname[i]] + given
        town = county.towns[house[i] % len(county.towns)]
        face, finger = BIO_MIX[bio[i]][0]
        rows.append(
            {
                "id": first_id + i,
                "customs_code": district.code,
                "name": name,
                "gender": "M" if male_l[i] else "F",
                "id_number": f"{first17_l[i]}{checks[i]}",
                "address": f"{county.province}{county.prefecture}{county.name}{town}"
                f"{_VILLAGES[village[i]]}村{house[i]}号",
                "id_valid_from": id_from_l[i],
                "id_valid_to": _add_years(id_from_l[i], years_l[i]),
                "state": str(STATE_MIX[state[i]][0]),
                "data_source": DATA_SOURCES[source[i]][0],
                "valid_to": valid_to[i],
                "has_face": face,
                "has_finger": finger,
                "enabled": enabled[i],
                "synced": synced[i],
                "last_op_date": None if no_op[i] else last_op[i],
                "revision": 0,
            }
        )
    return rows


def populate(
    db: Database,
    rows: int,
    *,
    seed: int = 20260,
    progress: Progress | None = None,
    include_manual: bool = True,
) -> int:
    """Add ``rows`` generated records (plus the manual's five); returns how many were added.

    Ids continue after the highest existing id. On an empty table with many rows to load, the
    borderer indexes are dropped first and rebuilt at the end."""
    table = BORDERER
    with db.engine.connect() as conn:
        existing = int(conn.execute(select(func.count()).select_from(table)).scalar_one())
        top = int(conn.execute(select(func.max(table.c.id))).scalar() or 0)
    if include_manual:
        with db.session() as session:
            upsert(session, MANUAL_ROWS)
    first_id = max(top, len(MANUAL_ROWS)) + 1
    rebuild = existing == 0 and rows >= 50_000
    done = 0
    with db.engine.begin() as conn:
        if rebuild:
            _drop_indexes(conn)
        for chunk in generate(rows, first_id, seed):
            conn.execute(table.insert(), chunk)
            done += len(chunk)
            if progress:
                progress(done, rows)
        if rebuild:
            _create_indexes(conn)
    if db.is_sqlite:
        with db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    return done + (len(MANUAL_ROWS) if include_manual else 0)


def _drop_indexes(conn: Connection) -> None:
    for index in BORDERER.indexes:
        index.drop(conn, checkfirst=True)


def _create_indexes(conn: Connection) -> None:
    for index in BORDERER.indexes:
        index.create(conn, checkfirst=True)


class ProgressBar:
    """A one-line text progress bar on stderr (redrawn in place on a terminal)."""

    def __init__(self, stream: TextIO | None = None, width: int = 30) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.start = time.perf_counter()
        self._last = -1

    def __call__(self, done: int, total: int) -> None:
        share = done / total if total else 1.0
        step = int(share * 100)
        tty = self.stream.isatty()
        if step == self._last or (not tty and step % 10 and done != total):
            return
        self._last = step
        filled = int(share * self.width)
        bar = "#" * filled + "-" * (self.width - filled)
        line = (
            f"[{bar}] {step:3d}% {done:,}/{total:,} rows {time.perf_counter() - self.start:.1f} s"
        )
        self.stream.write(("\r" + line) if tty else line + "\n")
        if tty and done >= total:
            self.stream.write("\n")
        self.stream.flush()
