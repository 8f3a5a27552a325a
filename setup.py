"""Package discovery for the wheel.

drivers/ and resources/ live at the top of the repository (DESIGN.md) but are shipped inside the
wheel under the project's import name, as ``bts_desk.drivers`` and ``bts_desk.resources``; a
bare top-level ``drivers`` package would clash with other distributions.
"""

from setuptools import find_packages, setup

MAPPED = {"bts_desk.drivers": "drivers", "bts_desk.resources": "resources"}

packages = find_packages(include=["bts_desk", "bts_desk.*"])
for name, directory in MAPPED.items():
    packages.append(name)
    packages += [f"{name}.{sub}" for sub in find_packages(directory)]

setup(packages=packages, package_dir=MAPPED)
