"""The Windows installer, built here with wixl from a stand-in payload and read back with msiinfo.

The real Windows bundle can only be built on Windows; what the MSI does with it (per-machine,
upgrade code, shortcut, the public properties IT types on the msiexec command line) does not
depend on the payload, so a small folder with a ``bts-desk.exe`` stand-in shows all of it.
"""

from __future__ import annotations

import re
import struct
import subprocess
from pathlib import Path

import pytest
from packaging_helpers import (
    PAYLOAD,
    PRODUCT_NAME,
    ROOT,
    load_packaging_module,
    make_payload,
    require_tools,
    run_build,
)

import bts_desk
from bts_desk.config import REGISTRY_KEY, Settings

UPGRADE_CODE = "{6C1E0A64-3F0B-4F5B-9C8E-2D4B7A9E1F01}"  # must never change
# What the README promises IT: msiexec property -> registry value (= config key section.key).
PROPERTIES = {
    "SYNC_URL": "sync.url",
    "SYNC_CA_CERT": "sync.ca_cert",
    "CUSTOMS_CODE": "desk.customs_code",
    "DESK_ID": "desk.id",
    "SCANNER_DRIVER": "scanner.driver",
    "SCANNER_PORT": "scanner.port",
    "CAMERA_SOURCE": "camera.source",
    "CARD_READER": "card.reader",
    "CA_CERT": "card.ca_cert",
    "CARD_CRL": "card.crl",
    "CARD_PROFILE": "card.profile",
    "CARD_PKCS11_MODULE": "card.pkcs11_module",
}
COMPONENT_64BIT = 256
COMPONENT_REGISTRY_KEYPATH = 4
HKLM = "2"


@pytest.fixture(scope="module")
def msi_tools() -> None:
    require_tools("wixl", "msiinfo", "msibuild")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, msi_tools: None) -> Path:
    """The MSI built through the build script's command line, as IT's build would."""
    tmp = tmp_path_factory.mktemp("msi")
    payload = make_payload(tmp / "payload")
    out = run_build("msi", "--bundle", payload, "--dist", tmp / "dist")
    msi = Path(out.strip().rsplit(": ", 1)[1])
    assert msi.is_file()
    return msi


def table(msi: Path, name: str) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = load_packaging_module("msi_package").export_table(msi, name)
    return rows


def properties(msi: Path) -> dict[str, str]:
    return {row["Property"]: row.get("Value", "") for row in table(msi, "Property")}


def expected_msi_version() -> str:
    match = re.match(r"(\d+)\.(\d+)\.(\d+)", bts_desk.__version__ + ".0.0")
    assert match
    return ".".join(str(int(part)) for part in match.groups())


def test_file_name_carries_the_project_version(built: Path) -> None:
    assert built.name == f"bts-desk-{bts_desk.__version__}-x64.msi"


def test_property_table(built: Path) -> None:
    props = properties(built)
    assert props["ProductName"] == PRODUCT_NAME
    assert props["ProductVersion"] == expected_msi_version()
    assert props["UpgradeCode"] == UPGRADE_CODE
    assert props["Manufacturer"] == "Border Trade Service"
    assert props["ProductLanguage"] == "2052"
    assert props["ALLUSERS"] == "1", "per-machine install"
    secure = set(props["SecureCustomProperties"].split(";"))
    assert set(PROPERTIES) <= secure, set(PROPERTIES) - secure
    assert {"WIX_UPGRADE_DETECTED", "WIX_DOWNGRADE_DETECTED"} <= secure


def test_database_code_page_holds_chinese(built: Path) -> None:
    export = subprocess.run(
        ["msiinfo", "export", str(built), "_ForceCodepage"], capture_output=True, check=True
    )
    assert b"936\t_ForceCodepage" in export.stdout
    summary = subprocess.run(
        ["msiinfo", "suminfo", str(built)], capture_output=True, text=True, check=True
    ).stdout
    assert "x64" in summary


def test_upgrade_table_replaces_older_and_refuses_newer(built: Path) -> None:
    rows = table(built, "Upgrade")
    version = expected_msi_version()
    assert {row["UpgradeCode"] for row in rows} == {UPGRADE_CODE}
    upgrade = next(row for row in rows if row["ActionProperty"] == "WIX_UPGRADE_DETECTED")
    assert upgrade["VersionMin"] == "" and upgrade["VersionMax"] == version
    downgrade = next(row for row in rows if row["ActionProperty"] == "WIX_DOWNGRADE_DETECTED")
    assert downgrade["VersionMin"] == version
    sequence = {
        row["Action"]: int(row["Sequence"]) for row in table(built, "InstallExecuteSequence")
    }
    assert sequence["FindRelatedProducts"] < sequence["AppSearch"]
    assert sequence["InstallValidate"] < sequence["RemoveExistingProducts"]
    assert sequence["RemoveExistingProducts"] < sequence["InstallInitialize"]
    conditions = {row["Condition"]: row["Description"] for row in table(built, "LaunchCondition")}
    assert "NOT WIX_DOWNGRADE_DETECTED" in conditions
    assert PRODUCT_NAME in conditions["NOT WIX_DOWNGRADE_DETECTED"]


def test_start_menu_shortcut_has_the_chinese_name(built: Path) -> None:
    (shortcut,) = table(built, "Shortcut")
    assert shortcut["Name"] == PRODUCT_NAME
    assert shortcut["Directory_"] == "ProgramMenuFolder"
    assert shortcut["Target"] == "[INSTALLDIR]bts-desk.exe"
    assert shortcut["WkDir"] == "INSTALLDIR"


def test_shortcut_and_programs_and_features_show_the_desk_icon(built: Path) -> None:
    (icon,) = table(built, "Icon")
    (shortcut,) = table(built, "Shortcut")
    assert shortcut["Icon_"] == icon["Name"] == properties(built)["ARPPRODUCTICON"]
    data = subprocess.run(
        ["msiinfo", "extract", str(built), f"Icon.{icon['Name']}"], capture_output=True, check=True
    ).stdout
    reserved, kind, count = struct.unpack_from("<HHH", data)
    assert (reserved, kind) == (0, 1), "an ICO file"
    sides = {data[6 + 16 * i] or 256 for i in range(count)}
    assert {16, 32, 48, 256} <= sides


def test_payload_goes_under_program_files(built: Path) -> None:
    directories = {row["Directory"]: row for row in table(built, "Directory")}
    assert directories["INSTALLDIR"]["Directory_Parent"] == "ProgramFiles64Folder"
    assert directories["INSTALLDIR"]["DefaultDir"] == "bts-desk"
    files = table(built, "File")
    assert sorted(row["FileName"] for row in files) == sorted(Path(p).name for p in PAYLOAD)
    components = {row["Component"]: row for row in table(built, "Component")}
    for row in components.values():
        assert int(row["Attributes"]) & COMPONENT_64BIT, f"{row['Component']} is not 64-bit"
    exe = next(row for row in files if row["FileName"] == "bts-desk.exe")
    assert components[exe["Component_"]]["Directory_"] == "INSTALLDIR"


def test_public_properties_are_written_to_the_registry_only_when_given(built: Path) -> None:
    registry = {row["Name"]: row for row in table(built, "Registry")}
    components = {row["Component"]: row for row in table(built, "Component")}
    for prop, setting in PROPERTIES.items():
        row = registry[setting]
        assert row["Root"] == HKLM and row["Key"] == REGISTRY_KEY
        assert row["Value"] == f"[{prop}]"
        component = components[row["Component_"]]
        assert component["Condition"] == prop, f"{setting} written even when {prop} is empty"
        assert int(component["Attributes"]) & COMPONENT_REGISTRY_KEYPATH


def test_readme_documents_every_property_the_msi_takes() -> None:
    """IT reads the README, the MSI reads PUBLIC_PROPERTIES: they must name the same ones."""
    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme.split("## Installing at a desk", 1)[1]
    table_rows = set(
        re.findall(r"^\| `([A-Z0-9_]+)` +\| `([a-z0-9_.]+)` +\|", section, re.MULTILINE)
    )
    built = {(p.name, p.setting) for p in load_packaging_module("msi_package").PUBLIC_PROPERTIES}
    assert table_rows == built == set(PROPERTIES.items())


def test_registry_names_are_keys_of_the_config_loader() -> None:
    defaults = Settings()
    for setting in PROPERTIES.values():
        section, key = setting.split(".")
        assert hasattr(getattr(defaults, section), key), f"{setting} is not a config key"


def test_upgrade_keeps_given_values_and_command_line_wins(built: Path) -> None:
    """A property is looked up in the registry (AppSearch); a value typed on the command line
    is saved before AppSearch and restored after it, in both sequences."""
    locators = {row["Signature_"]: row for row in table(built, "RegLocator")}
    search = {row["Property"]: row["Signature_"] for row in table(built, "AppSearch")}
    actions = {row["Action"]: row for row in table(built, "CustomAction")}
    for prop, setting in PROPERTIES.items():
        locator = locators[search[prop]]
        assert (locator["Root"], locator["Key"], locator["Name"]) == (HKLM, REGISTRY_KEY, setting)
        assert int(locator["Type"]) & 16, "the 64-bit registry view"
        save, restore = actions[f"Save_{prop}"], actions[f"Restore_{prop}"]
        assert (save["Source"], save["Target"]) == (f"CMDLINE_{prop}", f"[{prop}]")
        assert (restore["Source"], restore["Target"]) == (prop, f"[CMDLINE_{prop}]")
    for sequence_table in ("InstallUISequence", "InstallExecuteSequence"):
        rows = {row["Action"]: row for row in table(built, sequence_table)}
        app_search = int(rows["AppSearch"]["Sequence"])
        for prop in PROPERTIES:
            assert int(rows[f"Save_{prop}"]["Sequence"]) < app_search
            restore = rows[f"Restore_{prop}"]
            assert app_search < int(restore["Sequence"]) < int(rows["CostFinalize"]["Sequence"])
            assert restore["Condition"] == f"CMDLINE_{prop}"


def test_a_new_version_keeps_component_guids(tmp_path: Path, msi_tools: None) -> None:
    """Major upgrades need the same component GUIDs for the same files in every version."""
    msi_package = load_packaging_module("msi_package")
    payload = make_payload(tmp_path / "payload")
    builds = []
    for version in ("1.2.0", "1.3.0"):
        msi = msi_package.build_msi(payload, version, tmp_path / f"{version}.msi")
        builds.append(
            (properties(msi), {r["Component"]: r["ComponentId"] for r in table(msi, "Component")})
        )
    (old_props, old_guids), (new_props, new_guids) = builds
    assert old_guids == new_guids
    assert old_props["UpgradeCode"] == new_props["UpgradeCode"] == UPGRADE_CODE
    assert old_props["ProductCode"] != new_props["ProductCode"]
    assert (old_props["ProductVersion"], new_props["ProductVersion"]) == ("1.2.0", "1.3.0")


def test_a_bundle_without_the_windows_executable_is_refused(tmp_path: Path) -> None:
    msi_package = load_packaging_module("msi_package")
    (tmp_path / "bts-desk").write_text("a Linux bundle")
    with pytest.raises(FileNotFoundError, match=r"bts-desk\.exe"):
        msi_package.build_msi(tmp_path, "1.0.0", tmp_path / "x.msi")
