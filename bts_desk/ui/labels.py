"""Translated labels of the domain enums (context ``Domain``), for every screen.

``domain`` holds only English ``label_en`` source texts (it imports no Qt); this module lists
them with ``QT_TRANSLATE_NOOP`` so that lupdate extracts them into ``labels.ts``, and translates
a member at run time. GUI thread (uses the installed QTranslators).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication

if TYPE_CHECKING:
    import datetime as dt

    from bts_desk.domain import FingerPosition, LabelledEnum

CONTEXT = "Domain"


def QT_TRANSLATE_NOOP(context: str, source: str) -> str:
    """Marks ``source`` for lupdate in ``context`` and returns it (a typed stand-in for
    PySide6's ``QT_TRANSLATE_NOOP``, which is annotated as returning ``object``)."""
    return source


# The label_en texts of bts_desk.domain, listed for lupdate (keep in step with domain.py).
_SOURCES = (
    QT_TRANSLATE_NOOP("Domain", "Male"),
    QT_TRANSLATE_NOOP("Domain", "Female"),
    QT_TRANSLATE_NOOP("Domain", "Normal"),
    QT_TRANSLATE_NOOP("Domain", "Suspended"),
    QT_TRANSLATE_NOOP("Domain", "Cancelled"),
    QT_TRANSLATE_NOOP("Domain", "Synced with customs"),
    QT_TRANSLATE_NOOP("Domain", "Not synced with customs"),
    QT_TRANSLATE_NOOP("Domain", "Enabled"),
    QT_TRANSLATE_NOOP("Domain", "Disabled"),
    QT_TRANSLATE_NOOP("Domain", "Face and fingerprints"),
    QT_TRANSLATE_NOOP("Domain", "Fingerprints, no face"),
    QT_TRANSLATE_NOOP("Domain", "Face, no fingerprints"),
    QT_TRANSLATE_NOOP("Domain", "Neither"),
    QT_TRANSLATE_NOOP("Domain", "Pending"),
    QT_TRANSLATE_NOOP("Domain", "Sending"),
    QT_TRANSLATE_NOOP("Domain", "Uploaded"),
    QT_TRANSLATE_NOOP("Domain", "Refused"),
    QT_TRANSLATE_NOOP("Domain", "All"),
    QT_TRANSLATE_NOOP("Domain", "Unknown finger"),
    QT_TRANSLATE_NOOP("Domain", "Right thumb"),
    QT_TRANSLATE_NOOP("Domain", "Right index finger"),
    QT_TRANSLATE_NOOP("Domain", "Right middle finger"),
    QT_TRANSLATE_NOOP("Domain", "Right ring finger"),
    QT_TRANSLATE_NOOP("Domain", "Right little finger"),
    QT_TRANSLATE_NOOP("Domain", "Left thumb"),
    QT_TRANSLATE_NOOP("Domain", "Left index finger"),
    QT_TRANSLATE_NOOP("Domain", "Left middle finger"),
    QT_TRANSLATE_NOOP("Domain", "Left ring finger"),
    QT_TRANSLATE_NOOP("Domain", "Left little finger"),
    QT_TRANSLATE_NOOP("Domain", "Finger missing"),
    QT_TRANSLATE_NOOP("Domain", "Finger damaged"),
    QT_TRANSLATE_NOOP("Domain", "Bandaged"),
    QT_TRANSLATE_NOOP("Domain", "Cannot be photographed"),
    QT_TRANSLATE_NOOP("Domain", "Other"),
)


# Captions of a record's fields, in the manual's wording (context ``Field``): the table's
# columns, the 详情 dialog, the query form and the 补录 header all use these.
FIELD_CAPTIONS: dict[str, str] = {
    "customs_code": QT_TRANSLATE_NOOP("Field", "Customs code"),
    "name": QT_TRANSLATE_NOOP("Field", "Name"),
    "gender": QT_TRANSLATE_NOOP("Field", "Gender"),
    "id_number_masked": QT_TRANSLATE_NOOP("Field", "ID number"),
    "address": QT_TRANSLATE_NOOP("Field", "Registered address"),
    "id_valid_from": QT_TRANSLATE_NOOP("Field", "ID valid from"),
    "id_valid_to": QT_TRANSLATE_NOOP("Field", "ID valid to"),
    "state": QT_TRANSLATE_NOOP("Field", "State"),
    "data_source": QT_TRANSLATE_NOOP("Field", "Data source"),
    "valid_to": QT_TRANSLATE_NOOP("Field", "Valid to"),
    "bio_flag": QT_TRANSLATE_NOOP("Field", "Biometrics"),
    "enable_state": QT_TRANSLATE_NOOP("Field", "Enable state"),
    "sync_state": QT_TRANSLATE_NOOP("Field", "Sync state"),
    "last_op_date": QT_TRANSLATE_NOOP("Field", "Last operation date"),
}


def field_caption(key: str) -> str:
    """The caption of a ``domain.Borderer`` field in the UI language."""
    return QCoreApplication.translate("Field", FIELD_CAPTIONS[key])


def label(member: LabelledEnum | FingerPosition) -> str:
    """The member's label in the UI language (English when no translation is loaded)."""
    return QCoreApplication.translate(CONTEXT, member.label_en)


def all_label() -> str:
    """全部: the choice of a filter drop-down that sets no condition."""
    return QCoreApplication.translate(CONTEXT, "All")


def date_text(day: dt.date | None) -> str:
    """Dates as the manual shows them (``2019-12-13``); empty when unknown."""
    return day.isoformat() if day else ""
