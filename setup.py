# Metadata lives in pyproject.toml; this file lists the packages, which pyproject.toml cannot: the lakehouse
# package, and the repository's top-level `contracts/` folder (the contracts' source of truth) installed as
# the package `lakehouse.contract_files` with a data package per layer folder, so an installed lakehouse
# (wheel or `pip install -e .`) finds its contracts without a checkout. It also keeps `pip install -e .`
# working with older tooling.
from pathlib import Path

from setuptools import find_packages, setup

CONTRACTS_PACKAGE = "lakehouse.contract_files"
CONTRACTS_FOLDER = Path(__file__).resolve().parent / "contracts"
LAYER_FOLDERS = sorted(
    folder.name
    for folder in CONTRACTS_FOLDER.iterdir()
    if folder.is_dir() and not folder.name.startswith(("_", "."))
)

setup(
    packages=[
        *find_packages(include=["lakehouse", "lakehouse.*"]),
        CONTRACTS_PACKAGE,
        *(f"{CONTRACTS_PACKAGE}.{layer}" for layer in LAYER_FOLDERS),
    ],
    package_dir={CONTRACTS_PACKAGE: "contracts"},
    package_data={
        CONTRACTS_PACKAGE: ["*.json"],
        **{f"{CONTRACTS_PACKAGE}.{layer}": ["*.yaml", "*.yml", "*.json"] for layer in LAYER_FOLDERS},
    },
)
