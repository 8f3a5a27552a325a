"""The Windows installer: WiX fragments from the bundle, then wixl (Linux) or WiX 3 (Windows).

``wix/bts-desk.wxs`` is written by hand; two fragments are generated for each build:

* ``payload.wxs``: one component per file of the PyInstaller bundle. Ids and GUIDs are uuid5 of
  the file's path inside the bundle, so every version names the same file the same way;
* ``config.wxi`` (included into Product: wixl takes Property and CustomAction only there) and
  ``config.wxs``: the public properties of a silent install (``PUBLIC_PROPERTIES``). Each is
  looked up in the registry first (an upgrade keeps what the previous install was given), a value
  typed on the msiexec command line wins over that, and each is written as
  ``HKLM\\SOFTWARE\\BorderTradeService\\bts-desk`` value ``section.key`` (what
  ``bts_desk.config`` reads as the machine-wide layer) only when it is not empty.

wixl (msitools 0.101) lacks a few things WiX has, so after a wixl build the same facts are put
into the tables with ``msibuild``: the database code page (936) and the Chinese strings wixl
drops without it, the component conditions, and SecureCustomProperties. The wxs stays the one
source: the fix-ups are read from it and from ``PUBLIC_PROPERTIES``.

Runs in the build script's process (no Qt, no threads).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from icon import write_ico

HERE = Path(__file__).resolve().parent
WXS = HERE / "wix" / "bts-desk.wxs"
WIX_NS = "http://schemas.microsoft.com/wix/2006/wi"
NS = {"w": WIX_NS}
REGISTRY_KEY = r"SOFTWARE\BorderTradeService\bts-desk"  # = bts_desk.config.REGISTRY_KEY
# Namespace of every generated GUID; never change it, or upgrades see new components.
GUID_NAMESPACE = uuid.UUID("3F2D8C41-7B6A-4E59-A0C3-1D9E5B7F2C86")


@dataclass(frozen=True)
class PublicProperty:
    name: str  # what IT types: msiexec /i bts-desk.msi SYNC_URL=...
    setting: str  # the registry value's name: section.key of bts_desk.config


# The README's "Installing at a desk" documents each one (a test holds them together).
PUBLIC_PROPERTIES: tuple[PublicProperty, ...] = (
    PublicProperty("SYNC_URL", "sync.url"),
    PublicProperty("SYNC_CA_CERT", "sync.ca_cert"),
    PublicProperty("CUSTOMS_CODE", "desk.customs_code"),
    PublicProperty("DESK_ID", "desk.id"),
    PublicProperty("SCANNER_DRIVER", "scanner.driver"),
    PublicProperty("SCANNER_PORT", "scanner.port"),
    PublicProperty("CAMERA_SOURCE", "camera.source"),
    PublicProperty("CARD_READER", "card.reader"),
    PublicProperty("CA_CERT", "card.ca_cert"),
    PublicProperty("CARD_CRL", "card.crl"),
    PublicProperty("CARD_PROFILE", "card.profile"),
    PublicProperty("CARD_PKCS11_MODULE", "card.pkcs11_module"),
)


def msi_version(version: str) -> str:
    """The MSI ProductVersion (major.minor.build, numbers only) of a PEP 440 version."""
    match = re.match(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?", version)
    if not match:
        raise ValueError(f"version {version!r} has no numeric release part")
    parts = [int(p or 0) for p in match.groups()]
    if parts[0] > 255 or parts[1] > 255 or parts[2] > 65535:
        raise ValueError(f"version {version!r} is out of the MSI range 255.255.65535")
    return ".".join(str(p) for p in parts)


def _ident(kind: str, key: str) -> str:
    return f"{kind}_{uuid.uuid5(GUID_NAMESPACE, f'{kind}:{key}').hex}"


def _guid(key: str) -> str:
    return str(uuid.uuid5(GUID_NAMESPACE, f"component:{key}")).upper()


def payload_fragment(bundle: Path, source_var: str = "var.BundleDir") -> ET.Element:
    """Directory/Component/File elements for every file under ``bundle``."""
    if not (bundle / "bts-desk.exe").is_file():
        raise FileNotFoundError(f"{bundle} has no bts-desk.exe: not a Windows bundle")
    root = ET.Element("Wix", xmlns=WIX_NS)
    fragment = ET.SubElement(root, "Fragment")
    top = ET.SubElement(fragment, "DirectoryRef", Id="INSTALLDIR")
    group = ET.SubElement(ET.SubElement(root, "Fragment"), "ComponentGroup", Id="Payload")
    directories: dict[str, ET.Element] = {"": top}
    for path in sorted(p for p in bundle.rglob("*") if p.is_file()):
        rel = path.relative_to(bundle).as_posix()
        parent = _directory(directories, rel.rpartition("/")[0])
        component = ET.SubElement(
            parent, "Component", Id=_ident("cmp", rel), Guid=_guid(rel), Win64="yes"
        )
        ET.SubElement(
            component,
            "File",
            Id=_ident("fil", rel),
            Name=path.name,
            Source=f"$({source_var})/{rel}",
            KeyPath="yes",
        )
        ET.SubElement(group, "ComponentRef", Id=component.get("Id", ""))
    return root


def _directory(directories: dict[str, ET.Element], rel: str) -> ET.Element:
    if rel not in directories:
        head, _, name = rel.rpartition("/")
        parent = _directory(directories, head)
        directories[rel] = ET.SubElement(parent, "Directory", Id=_ident("dir", rel), Name=name)
    return directories[rel]


def config_sources(*, wix_conditions: bool) -> tuple[ET.Element, ET.Element]:
    """The public properties: an include for Product (properties, registry searches and the
    command-line-wins custom actions; wixl takes those only inside Product) and a fragment with
    one registry component per property (ComponentGroup "MachineConfig").

    ``wix_conditions``: put the component conditions in the source (WiX); wixl cannot parse
    them, ``_wixl_fixups`` writes them into the Component table instead.
    """
    include = ET.Element("Include", xmlns=WIX_NS)
    ui = ET.Element("InstallUISequence")
    execute = ET.Element("InstallExecuteSequence")
    fragments = ET.Element("Wix", xmlns=WIX_NS)
    ref = ET.SubElement(ET.SubElement(fragments, "Fragment"), "DirectoryRef", Id="INSTALLDIR")
    group = ET.SubElement(
        ET.SubElement(fragments, "Fragment"), "ComponentGroup", Id="MachineConfig"
    )
    # Saved just before AppSearch (50), after FindRelatedProducts (25): one slot each.
    first_save = 50 - len(PUBLIC_PROPERTIES)
    assert first_save > 25, "too many public properties for the sequence slots"
    for index, prop in enumerate(PUBLIC_PROPERTIES):
        name, saved = prop.name, f"CMDLINE_{prop.name}"
        element = ET.SubElement(include, "Property", Id=name)
        if wix_conditions:
            element.set("Secure", "yes")
        ET.SubElement(
            element,
            "RegistrySearch",
            Id=f"Find_{name}",
            Root="HKLM",
            Key=REGISTRY_KEY,
            Name=prop.setting,
            Type="raw",
            Win64="yes",
        )
        # AppSearch (sequence 50) overwrites a property typed on the command line with what
        # the registry holds: save the typed value before it and put it back after it.
        for action, target, value in (
            (f"Save_{name}", saved, f"[{name}]"),
            (f"Restore_{name}", name, f"[{saved}]"),
        ):
            ET.SubElement(include, "CustomAction", Id=action, Property=target, Value=value)
        for sequence in (ui, execute):
            ET.SubElement(
                sequence, "Custom", Action=f"Save_{name}", Sequence=str(first_save + index)
            )
            restore = ET.SubElement(
                sequence, "Custom", Action=f"Restore_{name}", Sequence=str(51 + index)
            )
            restore.text = saved
        component = ET.SubElement(
            ref, "Component", Id=f"Config_{name}", Guid=_guid(f"config/{name}"), Win64="yes"
        )
        if wix_conditions:
            ET.SubElement(component, "Condition").text = name
        ET.SubElement(
            component,
            "RegistryValue",
            Root="HKLM",
            Key=REGISTRY_KEY,
            Name=prop.setting,
            Type="string",
            Value=f"[{name}]",
            KeyPath="yes",
        )
        ET.SubElement(group, "ComponentRef", Id=f"Config_{name}")
    include.extend([ui, execute])
    return include, fragments


def write_xml(root: ET.Element, path: Path) -> Path:
    ET.indent(root)
    path.write_bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))
    return path


def build_msi(bundle: Path, version: str, output: Path, *, toolset: str = "wixl") -> Path:
    """Build ``output`` from the Windows bundle folder ``bundle``; returns ``output``."""
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bts-msi-") as tmp:
        work = Path(tmp)
        wix = toolset != "wixl"
        sources = [
            WXS,
            write_xml(payload_fragment(bundle), work / "payload.wxs"),
        ]
        include, fragments = config_sources(wix_conditions=wix)
        write_xml(include, work / "config.wxi")
        sources.append(write_xml(fragments, work / "config.wxs"))
        icon = write_ico(work / "bts-desk.ico")
        defines = {
            "Version": msi_version(version),
            "BundleDir": str(bundle.resolve()),
            "IconFile": str(icon),
        }
        if wix:
            _run_wix3(sources, defines, work, output)
        else:
            # wixl finds File/@Source and Icon/@SourceFile only relative to its working directory.
            defines["BundleDir"] = "."
            defines["IconFile"] = os.path.relpath(icon, bundle.resolve())
            args = ["-a", "x64", "-I", str(work), *_defines(defines), "-o", str(output.resolve())]
            _run(["wixl", *args, *map(str, sources)], cwd=bundle)
            _wixl_fixups(output, work)
    return output


def _defines(defines: dict[str, str]) -> list[str]:
    return [arg for key, value in defines.items() for arg in ("-D", f"{key}={value}")]


def _run_wix3(sources: list[Path], defines: dict[str, str], work: Path, output: Path) -> None:
    candle, light = shutil.which("candle"), shutil.which("light")
    if not candle or not light:
        raise SystemExit("WiX 3 candle/light not on PATH (see packaging/windows/README.md)")
    flags = [f"-d{key}={value}" for key, value in defines.items()]
    args = ["-nologo", "-arch", "x64", f"-I{work}", *flags, "-out", f"{work}\\"]
    _run([candle, *args, *map(str, sources)])
    objects = [str(work / (source.stem + ".wixobj")) for source in sources]
    _run([light, "-nologo", "-spdb", "-out", str(output), *objects])


def _run(cmd: list[str], cwd: Path | None = None) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=cwd)
    if result.returncode != 0:
        raise RuntimeError(
            f"{Path(cmd[0]).name} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
        )


def _wixl_fixups(msi: Path, work: Path) -> None:
    """Write into the tables what wixl drops or cannot express (see the module docstring)."""
    source = ET.parse(WXS).getroot()
    product = source.find("w:Product", NS)
    assert product is not None
    codepage = product.get("Codepage", "0")
    idt = work / "_ForceCodepage.idt"
    idt.write_bytes(f"\r\n\r\n{codepage}\t_ForceCodepage\r\n".encode("ascii"))
    _run(["msibuild", str(msi), "-i", str(idt)])

    updates = [("Property", "Value", "Property", "ProductName", product.get("Name", ""))]
    for shortcut in source.iterfind(".//w:Shortcut", NS):
        for column in ("Name", "Description"):
            updates.append(
                ("Shortcut", column, "Shortcut", shortcut.get("Id", ""), shortcut.get(column, ""))
            )
    upgrade = product.find("w:MajorUpgrade", NS)
    if upgrade is not None and upgrade.get("DowngradeErrorMessage"):
        message = upgrade.get("DowngradeErrorMessage", "")
        updates.append(
            ("LaunchCondition", "Description", "Condition", "NOT WIX_DOWNGRADE_DETECTED", message)
        )
    for prop in PUBLIC_PROPERTIES:
        updates.append(("Component", "Condition", "Component", f"Config_{prop.name}", prop.name))
    secure = _property(msi, "SecureCustomProperties").split(";")
    secure += [p.name for p in PUBLIC_PROPERTIES if p.name not in secure]
    updates.append(
        ("Property", "Value", "Property", "SecureCustomProperties", ";".join(filter(None, secure)))
    )
    queries = [arg for row in updates for arg in ("-q", _update(*row))]
    _run(["msibuild", str(msi), *queries])


def _update(table: str, column: str, key_column: str, key: str, value: str) -> str:
    for text in (key, value):
        if "'" in text:
            raise ValueError(f"a quote in {text!r} cannot go through msibuild's SQL")
    return f"UPDATE `{table}` SET `{column}` = '{value}' WHERE `{key_column}` = '{key}'"


def _property(msi: Path, name: str) -> str:
    for row in export_table(msi, "Property"):
        if row.get("Property") == name:
            return row.get("Value", "")
    return ""


def export_table(msi: Path, table: str) -> list[dict[str, str]]:
    """The rows of one table as dicts (``msiinfo export``): used by the fix-ups and the tests."""
    result = subprocess.run(["msiinfo", "export", str(msi), table], capture_output=True, check=True)
    lines = result.stdout.decode("utf-8").split("\r\n")
    columns = lines[0].split("\t")
    return [dict(zip(columns, line.split("\t"), strict=False)) for line in lines[3:] if line]
