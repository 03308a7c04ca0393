"""libvirt's own snapshot XML round-trip data, run through snaporacle byte for byte.

The files live outside the repository (``shared/conformance/libvirt-xml2xml``, beside it; env
``SNAPORACLE_SHARED_DIR`` names another ``shared`` folder) and are never copied into it. The table
below is the one of that folder's README: libvirt's ``qemudomainsnapshotxml2xmltest.c``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from snaporacle.model.snapshot_xml import FormatOptions, reformat_snapshot, validate_snapshot_xml


def _shared_dir() -> Path:
    override = os.environ.get("SNAPORACLE_SHARED_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "shared"


DATA = _shared_dir() / "conformance" / "libvirt-xml2xml"

UUID_A = "9d37b878-a7cc-9f9a-b78f-49b3abad25a8"
UUID_B = "c7a5fdbd-edaf-9455-926a-d65c16db1809"
UUID_C = "14beef2c-8cae-4ea8-bf55-e48fe0cd4b73"

# name, mode, uuid, creation time, extra ("internal" or "running")
CASES = [
    ("all_parameters", "out->out", UUID_A, None, "internal"),
    ("disk_snapshot_redefine", "out->out", UUID_B, None, "internal"),
    ("full_domain", "out->out", UUID_B, None, "internal"),
    ("noparent_nodescription_noactive", "out->out", None, None, ""),
    ("noparent_nodescription", "out->out", None, None, "internal"),
    ("noparent", "out->out", UUID_A, None, ""),
    ("metadata", "out->out", UUID_B, None, ""),
    ("external_vm_redefine", "out->out", UUID_B, None, ""),
    ("memory-snapshot-inactivedomain", "out->out", UUID_C, None, ""),
    ("empty", "in->out", UUID_A, 1386166249, ""),
    ("noparent", "in->out", UUID_A, 1272917631, "running"),
    ("external_vm", "in->out", None, 1555419243, ""),
    ("disk_snapshot", "in->out", None, 1555419243, ""),
    ("disk_driver_name_null", "in->out", None, 1555419243, ""),
    ("disk-seclabel", "in->out", UUID_A, 581484660, ""),
    ("qcow2-metadata-cache", "in->out", UUID_A, 1386166249, ""),
    ("name_and_description", "in->in", None, None, ""),
    ("description_only", "in->in", None, None, ""),
    ("name_only", "in->in", None, None, ""),
]

pytestmark = pytest.mark.skipif(
    not DATA.is_dir(),
    reason=f"libvirt's round-trip data is not at {DATA} (the shared/ folder beside the "
    "repository; set SNAPORACLE_SHARED_DIR to its location)",
)


def test_the_table_covers_every_file() -> None:
    """Every file of the folder is read or expected by a case, so none is silently left out."""
    referenced = set()
    for name, mode, *_ in CASES:
        source_dir, expected_dir = mode.split("->")
        referenced |= {(source_dir, name), (expected_dir, name)}
    on_disk = {(path.parent.name, path.stem) for path in DATA.glob("*/*.xml")}
    assert on_disk == referenced


@pytest.mark.parametrize(
    ("name", "mode", "uuid", "creation_time", "extra"),
    CASES,
    ids=[f"{mode}:{name}" for name, mode, *_ in CASES],
)
def test_libvirt_round_trip(
    name: str, mode: str, uuid: str | None, creation_time: int | None, extra: str
) -> None:
    source_dir, expected_dir = mode.split("->")
    source = DATA / source_dir / f"{name}.xml"
    expected = (DATA / expected_dir / f"{name}.xml").read_text(encoding="utf-8")
    options = FormatOptions(
        redefine=source_dir == "out",
        internal=extra == "internal",
        running=extra == "running",
        creation_time=creation_time,
        uuid=uuid,
    )
    output = reformat_snapshot(source.read_bytes(), options, source=source.name)
    assert output == expected
    validate_snapshot_xml(output, source=f"output of {name}")
