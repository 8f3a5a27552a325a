"""UI translations through Qt's translation system.

Source strings in ``bts_desk/ui/**.py`` are English (``self.tr("...")``,
``QCoreApplication.translate("Context", "...")`` or ``QT_TRANSLATE_NOOP``); Chinese lives in
``resources/i18n/<language>/<module>.ts``, one file per UI module so that work on different
screens never edits the same file. ``.qm`` files are compiled from them (not committed).

    python -m bts_desk.ui.i18n update [module ...]  # extract new strings (lupdate)
    python -m bts_desk.ui.i18n compile  # .ts -> .qm (lrelease); dev.sh and packaging run it
    python -m bts_desk.ui.i18n check    # exit 1 if a string has no translation

English is the fallback: a missing .qm leaves the English source text on screen.
"""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path

from bts_desk.paths import resource_path

log = logging.getLogger(__name__)

LANGUAGES = ("zh_CN",)
UI_DIR = Path(__file__).resolve().parent


def i18n_dir(language: str) -> Path:
    return resource_path("i18n", language)


def install_translators(app: object, language: str) -> list[object]:
    """Load every compiled ``.qm`` of ``language`` into ``app``; returns the translators (keep
    them alive). GUI thread, before the first widget is built."""
    from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

    assert isinstance(app, QCoreApplication)
    translators: list[object] = []
    qt_base = QTranslator(app)
    qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    if qt_base.load(QLocale(language), "qtbase", "_", qt_dir):  # Qt's own dialogs, buttons
        app.installTranslator(qt_base)
        translators.append(qt_base)
    directory = i18n_dir(language)
    files = sorted(directory.glob("*.qm")) if directory.is_dir() else []
    if not files and language != "en":
        log.warning("no compiled translations in %s; showing English", directory)
    for qm in files:
        translator = QTranslator(app)
        if translator.load(str(qm)):
            app.installTranslator(translator)
            translators.append(translator)
        else:
            log.warning("cannot load translation %s", qm)
    return translators


def ui_modules() -> list[Path]:
    skip = {"__init__.py", Path(__file__).name}  # this tool's own regexes are not UI strings
    return sorted(p for p in UI_DIR.rglob("*.py") if p.name not in skip)


def ts_file(module: Path, language: str) -> Path:
    stem = module.relative_to(UI_DIR).with_suffix("").as_posix().replace("/", ".")
    return i18n_dir(language) / f"{stem}.ts"


def _tool(name: str) -> str:
    import shutil

    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if not found:
        raise SystemExit(f"{name} not found (it ships with PySide6-Essentials)")
    return found


def _has_tr(module: Path) -> bool:
    return bool(re.search(r"\btr\(|translate\(|QT_TRANSLATE_NOOP", module.read_text("utf-8")))


def update(language: str, target_dir: Path | None = None, only: tuple[str, ...] = ()) -> list[Path]:
    """Run lupdate for each UI module with strings (or only the named modules); returns the
    .ts files written. No source locations are written, so the files change only with text."""
    import shutil
    import subprocess

    written = []
    for module in ui_modules():
        if not _has_tr(module) or (only and module.stem not in only):
            continue
        ts = ts_file(module, language)
        if target_dir is not None:
            copy = target_dir / ts.name
            if ts.exists():
                shutil.copy(ts, copy)
            ts = copy
        ts.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                _tool("pyside6-lupdate"),
                *("-target-language", language, "-locations", "none", "-no-obsolete"),
                *("-silent", str(module), "-ts", str(ts)),
            ],
            check=True,
        )
        written.append(ts)
    return written


def compile_all(language: str) -> list[Path]:
    import subprocess

    out = []
    for ts in sorted(i18n_dir(language).glob("*.ts")):
        qm = ts.with_suffix(".qm")
        subprocess.run([_tool("pyside6-lrelease"), "-silent", str(ts), "-qm", str(qm)], check=True)
        out.append(qm)
    return out


def untranslated(language: str) -> list[str]:
    """Messages with no finished translation, after extracting the current sources."""
    import tempfile

    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        for ts in update(language, Path(tmp)):
            text = ts.read_text("utf-8")
            for match in re.finditer(
                r"<source>(.*?)</source>\s*(?:<comment>.*?</comment>\s*)?"
                r"<translation type=\"(unfinished|vanished)\"",
                text,
                re.S,
            ):
                problems.append(f"{ts.name}: {match.group(1)!r} ({match.group(2)})")
    return problems


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bts_desk.ui.i18n")
    parser.add_argument("action", choices=["update", "compile", "check"])
    parser.add_argument("modules", nargs="*", help="update: only these UI modules (file stems)")
    args = parser.parse_args(argv)
    for language in LANGUAGES:
        if args.action == "update":
            for ts in update(language, only=tuple(args.modules)):
                print(ts)
        elif args.action == "compile":
            compile_all(language)
        else:
            problems = untranslated(language)
            for problem in problems:
                print(problem)
            if problems:
                return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
