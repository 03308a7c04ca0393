"""The backend contract: every test runs on the fakes and on real qemu-img/QEMU, with one result.

A test that passes on real QEMU and fails on the fakes is a bug in the fakes.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from snaporacle.errors import BackendError, PathOutsideSandbox
from snaporacle.reference.backend import DISK_BLOCKS, DISK_SIZE, Call, ImageInfo, SnapshotAction

from .conftest import Backends, real_backends

ZERO = (0,) * DISK_BLOCKS


def data(**blocks: int) -> tuple[int, ...]:
    """A disk's expected data: ``data(b1=5)`` is block 1 holding 5, the rest zero."""
    out = list(ZERO)
    for key, value in blocks.items():
        out[int(key[1:])] = value
    return tuple(out)


# -- qemu-img and qemu-io on offline images ---------------------------------------------------


@pytest.mark.parametrize("fmt", ["qcow2", "raw"])
def test_create_write_read_round_trip(be: Backends, fmt: str) -> None:
    path = be.disk("a.img", fmt)
    assert be.images.read(path, fmt) == ZERO
    be.images.write(path, fmt, 1, 5)
    be.images.write(path, fmt, DISK_BLOCKS - 1, 255)
    assert be.images.read(path, fmt) == data(b1=5, b15=255)
    assert be.images.info_chain(path) == (ImageInfo(path, fmt, None, ()),)


def test_create_over_an_existing_image_overwrites_it(be: Backends) -> None:
    path = be.disk("a.qcow2")
    be.images.write(path, "qcow2", 2, 9)
    be.images.snapshot_create(path, "s")
    be.images.create(path, "qcow2")
    assert be.images.read(path, "qcow2") == ZERO
    assert be.images.snapshot_list(path) == ()


def test_create_failures_leave_no_file(be: Backends) -> None:
    missing = be.path("missing.qcow2")
    cases = [
        dict(path=be.path("o1.qcow2"), fmt="qcow2", backing=missing, backing_fmt="qcow2"),
        dict(path=be.path("nodir/o2.qcow2"), fmt="qcow2"),
        dict(path=be.path("o3.raw"), fmt="raw", backing=be.disk("base.raw", "raw"),
             backing_fmt="raw"),
        dict(path=be.path("o4.qcow2"), fmt="qcow2", backing=be.path("base.raw")),
    ]
    for case in cases:
        with pytest.raises(BackendError):
            be.images.create(**case)  # type: ignore[arg-type]
        assert not be.images.exists(str(case["path"]))
    assert be.images.files() == (be.path("base.raw"),)


def test_overlay_chain_reads_through_backing(be: Backends) -> None:
    base = be.disk("base.qcow2")
    be.images.write(base, "qcow2", 0, 1)
    be.images.write(base, "qcow2", 1, 2)
    top = be.disk("top.qcow2", backing=base, backing_fmt="qcow2")
    be.images.write(top, "qcow2", 1, 3)
    assert be.images.read(top, "qcow2") == data(b0=1, b1=3)
    assert be.images.read(base, "qcow2") == data(b0=1, b1=2)
    assert [(i.path, i.backing) for i in be.images.info_chain(top)] == [(top, base), (base, None)]


def test_raw_backing_under_a_qcow2_overlay(be: Backends) -> None:
    base = be.disk("base.raw", "raw")
    be.images.write(base, "raw", 3, 4)
    top = be.disk("top.qcow2", backing=base, backing_fmt="raw")
    assert be.images.read(top, "qcow2") == data(b3=4)
    assert [i.format for i in be.images.info_chain(top)] == ["qcow2", "raw"]


def test_internal_snapshots_round_trip(be: Backends) -> None:
    path = be.disk("a.qcow2")
    be.images.write(path, "qcow2", 0, 1)
    be.images.snapshot_create(path, "one")
    be.images.write(path, "qcow2", 0, 2)
    be.images.write(path, "qcow2", 4, 2)
    be.images.snapshot_create(path, "two")
    be.images.snapshot_apply(path, "one")
    assert be.images.read(path, "qcow2") == data(b0=1)
    be.images.snapshot_apply(path, "two")
    assert be.images.read(path, "qcow2") == data(b0=2, b4=2)
    be.images.snapshot_delete(path, "one")
    assert be.images.snapshot_list(path) == ("two",)
    assert be.images.info_chain(path)[0].tags == ("two",)


def test_duplicate_tags_are_kept_and_deleted_one_at_a_time(be: Backends) -> None:
    path = be.disk("a.qcow2")
    be.images.snapshot_create(path, "s")
    be.images.write(path, "qcow2", 0, 7)
    be.images.snapshot_create(path, "s")
    assert be.images.snapshot_list(path) == ("s", "s")
    be.images.snapshot_apply(path, "s")
    assert be.images.read(path, "qcow2") == ZERO
    be.images.snapshot_delete(path, "s")
    assert be.images.snapshot_list(path) == ("s",)
    be.images.snapshot_apply(path, "s")
    assert be.images.read(path, "qcow2") == data(b0=7)


def test_snapshot_of_an_overlay_holds_only_its_own_data(be: Backends) -> None:
    base = be.disk("base.qcow2")
    top = be.disk("top.qcow2", backing=base, backing_fmt="qcow2")
    be.images.write(top, "qcow2", 1, 1)
    be.images.snapshot_create(top, "s")
    be.images.write(top, "qcow2", 1, 2)
    be.images.snapshot_apply(top, "s")
    assert be.images.read(top, "qcow2") == data(b1=1)
    assert be.images.snapshot_list(base) == ()


def test_missing_tags_fail(be: Backends) -> None:
    path = be.disk("a.qcow2")
    be.images.snapshot_create(path, "s")
    with pytest.raises(BackendError, match="snapshot_apply"):
        be.images.snapshot_apply(path, "nope")
    with pytest.raises(BackendError, match="snapshot_delete"):
        be.images.snapshot_delete(path, "nope")
    assert be.images.snapshot_list(path) == ("s",)


def test_raw_images_hold_no_internal_snapshots(be: Backends) -> None:
    path = be.disk("a.raw", "raw")
    for verb in (be.images.snapshot_create, be.images.snapshot_apply, be.images.snapshot_delete):
        with pytest.raises(BackendError):
            verb(path, "s")
    assert be.images.snapshot_list(path) == ()


def test_commit_moves_overlay_data_into_backing_and_empties_it(be: Backends) -> None:
    base = be.disk("base.qcow2")
    be.images.write(base, "qcow2", 0, 1)
    top = be.disk("top.qcow2", backing=base, backing_fmt="qcow2")
    be.images.write(top, "qcow2", 0, 9)
    be.images.write(top, "qcow2", 5, 9)
    be.images.commit(top)
    assert be.images.read(base, "qcow2") == data(b0=9, b5=9)
    assert be.images.read(top, "qcow2") == data(b0=9, b5=9)
    be.images.write(base, "qcow2", 5, 3)
    assert be.images.read(top, "qcow2") == data(b0=9, b5=3), "the overlay was not emptied"
    assert be.images.exists(top)


def test_commit_without_backing_fails(be: Backends) -> None:
    with pytest.raises(BackendError, match="commit"):
        be.images.commit(be.disk("a.qcow2"))


def test_files_exists_remove_makedirs(be: Backends) -> None:
    be.images.makedirs(be.path("d/e"))
    a = be.disk("d/e/a.qcow2")
    b = be.disk("b.raw", "raw")
    assert be.images.files() == tuple(sorted([a, b]))
    assert be.images.exists(be.path("d")) and be.images.exists(a)
    be.images.remove(a)
    assert not be.images.exists(a)
    assert be.images.files() == (b,)
    with pytest.raises(BackendError, match="remove"):
        be.images.remove(a)


def test_a_missing_image_fails_every_query(be: Backends) -> None:
    missing = be.path("missing.qcow2")
    with pytest.raises(BackendError):
        be.images.info_chain(missing)
    with pytest.raises(BackendError):
        be.images.snapshot_list(missing)
    with pytest.raises(BackendError):
        be.images.read(missing, "qcow2")


# -- names and chains that qemu-img cannot keep -----------------------------------------------


@pytest.mark.parametrize(
    "tag", ["x" * 256, "\u00e9" * 128, "a\0b"], ids=["256-ascii", "256-bytes-utf8", "nul"]
)
def test_tags_qcow2_cannot_keep_whole_are_refused_before_anything_runs(
    be: Backends, tag: str,
) -> None:
    """qemu-img would cut a tag to 255 bytes (inside a character even) and never find it again."""
    path = be.disk("a.qcow2")
    for verb in (be.images.snapshot_create, be.images.snapshot_apply, be.images.snapshot_delete):
        with pytest.raises(BackendError, match="NUL byte" if "\0" in tag else "at most 255"):
            verb(path, tag)
    monitor = be.launch(("vda", path, "qcow2"))
    for verb in (monitor.savevm, monitor.loadvm, monitor.delvm):
        with pytest.raises(BackendError, match="NUL byte" if "\0" in tag else "at most 255"):
            verb(tag)
    monitor.quit()
    assert be.images.snapshot_list(path) == ()


def test_a_tag_of_255_bytes_is_kept_whole(be: Backends) -> None:
    path = be.disk("a.qcow2")
    tag = "\u00e9" * 127 + "x"
    be.images.snapshot_create(path, tag)
    assert be.images.snapshot_list(path) == (tag,)
    be.images.snapshot_apply(path, tag)
    be.images.snapshot_delete(path, tag)


def test_a_nul_byte_in_a_path_is_refused_by_every_verb(be: Backends) -> None:
    good = be.disk("a.qcow2")
    bad = be.path("b\0.qcow2")
    calls = [
        lambda: be.images.create(bad, "qcow2"),
        lambda: be.images.create(be.path("o.qcow2"), "qcow2", backing=bad, backing_fmt="qcow2"),
        lambda: be.images.snapshot_create(bad, "s"),
        lambda: be.images.info_chain(bad),
        lambda: be.images.write(bad, "qcow2", 0, 1),
        lambda: be.images.read(bad, "qcow2"),
        lambda: be.images.exists(bad),
        lambda: be.images.remove(bad),
        lambda: be.launch(("vda", bad, "qcow2")),
    ]
    for call in calls:
        with pytest.raises(PathOutsideSandbox, match="NUL byte"):
            call()
    monitor = be.launch(("vda", good, "qcow2"))
    with pytest.raises(PathOutsideSandbox, match="NUL byte"):
        monitor.migrate_to_file(bad)
    with pytest.raises(PathOutsideSandbox, match="NUL byte"):
        monitor.transaction([SnapshotAction("vda", bad)])
    monitor.quit()
    assert be.images.files() == (good,)


def test_an_image_cannot_be_its_own_backing_file(be: Backends) -> None:
    path = be.disk("a.qcow2")
    be.images.write(path, "qcow2", 0, 7)
    with pytest.raises(BackendError, match="same filename as the backing file"):
        be.images.create(path, "qcow2", backing=path, backing_fmt="qcow2")
    assert be.images.read(path, "qcow2") == data(b0=7)
    assert be.images.info_chain(path) == (ImageInfo(path, "qcow2", None, ()),)


def test_a_backing_chain_that_loops_is_refused_not_walked_for_ever(be: Backends) -> None:
    a = be.disk("a.qcow2")
    b = be.disk("b.qcow2", backing=a, backing_fmt="qcow2")
    if be.kind == "real":  # only qemu-img rebase -u can close the loop
        subprocess.run(["qemu-img", "rebase", "-u", "-b", b, "-F", "qcow2", a], check=True)
    else:
        image = be.images.table[a]  # type: ignore[attr-defined]
        image.backing, image.backing_format = b, "qcow2"
    for call in (lambda: be.images.info_chain(b), lambda: be.images.read(b, "qcow2")):
        with pytest.raises(BackendError, match="loop"):
            call()


# -- the sandbox ------------------------------------------------------------------------------


def test_paths_outside_the_work_dir_are_refused_before_anything_runs(be: Backends) -> None:
    inside = be.disk("in.qcow2")
    outside = os.path.join(os.path.dirname(be.root), "out.qcow2")
    escapes = [outside, be.path("../out.qcow2"), "relative.qcow2", be.root]
    for bad in escapes:
        calls = [
            lambda p=bad: be.images.create(p, "qcow2"),
            lambda p=bad: be.images.create(be.path("o.qcow2"), "qcow2", backing=p,
                                           backing_fmt="qcow2"),
            lambda p=bad: be.images.snapshot_create(p, "s"),
            lambda p=bad: be.images.snapshot_apply(p, "s"),
            lambda p=bad: be.images.snapshot_delete(p, "s"),
            lambda p=bad: be.images.snapshot_list(p),
            lambda p=bad: be.images.info_chain(p),
            lambda p=bad: be.images.commit(p),
            lambda p=bad: be.images.write(p, "qcow2", 0, 1),
            lambda p=bad: be.images.read(p, "qcow2"),
            lambda p=bad: be.images.exists(p),
            lambda p=bad: be.images.remove(p),
            lambda p=bad: be.images.makedirs(p),
            lambda p=bad: be.launch(("vda", p, "qcow2")),
            lambda p=bad: be.launch(("vda", inside, "qcow2"), incoming=p),
        ]
        for call in calls:
            with pytest.raises(PathOutsideSandbox):
                call()
    monitor = be.launch(("vda", inside, "qcow2"))
    with pytest.raises(PathOutsideSandbox):
        monitor.migrate_to_file(outside)
    with pytest.raises(PathOutsideSandbox):
        monitor.transaction([SnapshotAction("vda", outside)])
    assert monitor.chain("vda") == (inside,)
    assert not os.path.exists(outside)
    assert be.images.files() == (inside,)


def test_a_symlink_out_of_the_work_dir_is_refused(tmp_path: Path) -> None:
    """Real backends only: the fakes keep no files on disk, so no link can point out."""
    os.makedirs(tmp_path / "work")
    be = real_backends(str(tmp_path / "work"))
    os.symlink(os.path.dirname(be.root), be.path("link"))
    with pytest.raises(PathOutsideSandbox):
        be.images.create(be.path("link/out.qcow2"), "qcow2")
    be.launcher.close()


# -- a running QEMU ---------------------------------------------------------------------------


def test_launch_run_states(be: Backends) -> None:
    path = be.disk("a.qcow2")
    monitor = be.launch(("vda", path, "qcow2"), paused=True)
    assert monitor.status() == "paused"
    monitor.cont()
    assert monitor.status() == "running"
    monitor.stop()
    monitor.stop()
    assert monitor.status() == "paused"
    assert monitor.chain("vda") == (path,)
    monitor.quit()
    monitor.quit()
    with pytest.raises(BackendError, match="status"):
        monitor.status()
    assert [c.verb for c in monitor.calls] == [
        "status", "cont", "status", "stop", "stop", "status", "chain", "quit", "quit", "status",
    ]


def test_running_disk_data_round_trip(be: Backends) -> None:
    a = be.disk("a.qcow2")
    b = be.disk("b.raw", "raw")
    be.images.write(a, "qcow2", 0, 1)
    monitor = be.launch(("vda", a, "qcow2"), ("vdb", b, "raw"))
    assert monitor.read("vda") == data(b0=1)
    monitor.write("vda", 2, 0x22)
    monitor.write("vdb", 3, 0x33)
    assert monitor.read("vda") == data(b0=1, b2=0x22)
    assert monitor.read("vdb") == data(b3=0x33)
    with pytest.raises(BackendError):
        monitor.read("vdz")
    with pytest.raises(BackendError):
        monitor.write("vdz", 0, 1)
    monitor.quit()
    assert be.images.read(a, "qcow2") == data(b0=1, b2=0x22)
    assert be.images.read(b, "raw") == data(b3=0x33)


def test_savevm_loadvm_delvm(be: Backends) -> None:
    a, b = be.disk("a.qcow2"), be.disk("b.qcow2")
    monitor = be.launch(("vda", a, "qcow2"), ("vdb", b, "qcow2"))
    monitor.write("vda", 0, 1)
    monitor.savevm("s1")
    monitor.write("vda", 0, 2)
    monitor.write("vdb", 1, 2)
    monitor.savevm("s2")
    monitor.savevm("s2")
    monitor.loadvm("s1")
    assert (monitor.read("vda"), monitor.read("vdb")) == (data(b0=1), ZERO)
    assert monitor.status() == "running"
    monitor.stop()
    monitor.loadvm("s2")
    assert (monitor.read("vda"), monitor.read("vdb")) == (data(b0=2), data(b1=2))
    assert monitor.status() == "paused"
    monitor.delvm("s1")
    monitor.delvm("never-taken")
    monitor.quit()
    assert be.images.snapshot_list(a) == be.images.snapshot_list(b) == ("s2",)


@pytest.mark.parametrize("paused", [False, True])
def test_failed_loadvm_keeps_the_run_state_and_a_later_migrate_works(
    be: Backends, paused: bool,
) -> None:
    monitor = be.launch(("vda", be.disk("a.qcow2"), "qcow2"), paused=paused)
    monitor.write("vda", 0, 4)
    with pytest.raises(BackendError, match="loadvm"):
        monitor.loadvm("missing")
    assert monitor.status() == ("paused" if paused else "running")
    assert monitor.read("vda") == data(b0=4)
    monitor.migrate_to_file(be.path("mem"))
    assert monitor.status() == "postmigrate"


def test_a_disk_only_tag_cannot_be_loaded_by_loadvm(be: Backends) -> None:
    path = be.disk("a.qcow2")
    be.images.snapshot_create(path, "offline")
    monitor = be.launch(("vda", path, "qcow2"))
    with pytest.raises(BackendError, match="loadvm"):
        monitor.loadvm("offline")
    assert monitor.status() == "running"


def test_savevm_needs_every_disk_qcow2(be: Backends) -> None:
    raw = be.disk("b.raw", "raw")
    monitor = be.launch(("vda", be.disk("a.qcow2"), "qcow2"), ("vdb", raw, "raw"))
    for verb in (monitor.savevm, monitor.loadvm, monitor.delvm):
        with pytest.raises(BackendError, match="does not support snapshots"):
            verb("s")
    assert monitor.status() == "running"


def test_migrate_to_file_and_the_postmigrate_state(be: Backends) -> None:
    a = be.disk("a.qcow2")
    monitor = be.launch(("vda", a, "qcow2"))
    monitor.write("vda", 0, 6)
    monitor.migrate_to_file(be.path("mem"))
    assert be.images.exists(be.path("mem"))
    assert monitor.status() == "postmigrate"
    monitor.stop()
    assert monitor.status() == "postmigrate"
    assert monitor.read("vda") == data(b0=6)
    with pytest.raises(BackendError, match="inactive"):
        monitor.write("vda", 1, 1)
    with pytest.raises(BackendError, match="savevm"):
        monitor.savevm("s")
    with pytest.raises(BackendError, match="loadvm"):
        monitor.loadvm("s")
    with pytest.raises(BackendError, match="migrate_to_file"):
        monitor.migrate_to_file(be.path("mem2"))
    assert monitor.status() == "postmigrate"
    monitor.transaction([SnapshotAction("vda", be.path("o.qcow2"))])
    monitor.cont()
    assert monitor.status() == "running"
    monitor.write("vda", 1, 1)
    assert monitor.chain("vda") == (be.path("o.qcow2"), a)
    assert monitor.read("vda") == data(b0=6, b1=1)


def test_migrate_into_a_missing_directory_fails(be: Backends) -> None:
    monitor = be.launch(("vda", be.disk("a.qcow2"), "qcow2"))
    with pytest.raises(BackendError, match="migrate_to_file"):
        monitor.migrate_to_file(be.path("nodir/mem"))
    assert monitor.status() == "running"
    assert not be.images.exists(be.path("nodir/mem"))


@pytest.mark.parametrize("paused", [False, True])
def test_restore_from_a_memory_file(be: Backends, paused: bool) -> None:
    a = be.disk("a.qcow2")
    monitor = be.launch(("vda", a, "qcow2"))
    monitor.write("vda", 0, 8)
    monitor.migrate_to_file(be.path("mem"))
    monitor.quit()
    restored = be.launch(("vda", a, "qcow2"), paused=paused, incoming=be.path("mem"))
    assert restored.status() == ("paused" if paused else "running")
    assert restored.read("vda") == data(b0=8)
    restored.write("vda", 1, 1)


def test_restore_from_a_missing_or_bad_file_fails(be: Backends) -> None:
    a = be.disk("a.qcow2")
    for bad in (be.path("missing"), a):
        with pytest.raises(BackendError, match="launch"):
            be.launch(("vda", be.disk("b.qcow2"), "qcow2"), incoming=bad)
    be.launch(("vda", a, "qcow2")).quit()


def test_transaction_switches_every_disk(be: Backends) -> None:
    a, b = be.disk("a.qcow2"), be.disk("b.raw", "raw")
    monitor = be.launch(("vda", a, "qcow2"), ("vdb", b, "raw"))
    monitor.write("vda", 0, 1)
    oa, ob = be.path("a.o1"), be.path("b.o1")
    monitor.transaction([SnapshotAction("vda", oa), SnapshotAction("vdb", ob)])
    assert (monitor.chain("vda"), monitor.chain("vdb")) == ((oa, a), (ob, b))
    monitor.write("vda", 0, 2)
    monitor.write("vdb", 1, 2)
    oa2 = be.path("a.o2")
    monitor.transaction([SnapshotAction("vda", oa2)])
    assert monitor.chain("vda") == (oa2, oa, a)
    assert monitor.read("vda") == data(b0=2)
    monitor.quit()
    assert be.images.read(a, "qcow2") == data(b0=1)
    assert be.images.read(b, "raw") == ZERO
    assert be.images.read(ob, "qcow2") == data(b1=2)
    assert [i.path for i in be.images.info_chain(oa2)] == [oa2, oa, a]


def test_active_commit_pivots_onto_the_backing_image(be: Backends) -> None:
    a = be.disk("a.qcow2")
    monitor = be.launch(("vda", a, "qcow2"))
    monitor.write("vda", 0, 1)
    overlay = be.path("a.o1")
    monitor.transaction([SnapshotAction("vda", overlay)])
    monitor.write("vda", 1, 2)
    monitor.commit("vda")
    assert monitor.chain("vda") == (a,)
    assert monitor.read("vda") == data(b0=1, b1=2)
    monitor.write("vda", 2, 3)  # the disk now runs on the base image
    with pytest.raises(BackendError, match="commit"):
        monitor.commit("vda")  # nothing left to commit into
    monitor.quit()
    be.images.remove(overlay)
    assert be.images.read(a, "qcow2") == data(b0=1, b1=2, b2=3)
    assert [i.path for i in be.images.info_chain(a)] == [a]


def test_a_failed_transaction_switches_no_disk(be: Backends) -> None:
    a, b = be.disk("a.qcow2"), be.disk("b.qcow2")
    monitor = be.launch(("vda", a, "qcow2"), ("vdb", b, "qcow2"))
    good = be.path("a.o1")
    with pytest.raises(BackendError, match="transaction"):
        monitor.transaction([SnapshotAction("vda", good),
                             SnapshotAction("vdb", be.path("nodir/b.o1"))])
    assert (monitor.chain("vda"), monitor.chain("vdb")) == ((a,), (b,))
    with pytest.raises(BackendError, match="transaction"):
        monitor.transaction([SnapshotAction("vda", be.path("a.o2")), SnapshotAction("vdb", a)])
    with pytest.raises(BackendError, match="transaction"):
        monitor.transaction([SnapshotAction("vdz", be.path("z.o1"))])
    assert (monitor.chain("vda"), monitor.chain("vdb")) == ((a,), (b,))
    monitor.write("vda", 0, 3)
    monitor.quit()
    assert be.images.read(a, "qcow2") == data(b0=3)
    assert be.images.files() == tuple(sorted([a, b, good, be.path("a.o2")]))


# -- locks between a running QEMU and the image tool ------------------------------------------


def test_images_of_a_running_domain_are_locked(be: Backends) -> None:
    base = be.disk("base.qcow2")
    top = be.disk("top.qcow2", backing=base, backing_fmt="qcow2")
    other = be.disk("other.qcow2")
    monitor = be.launch(("vda", top, "qcow2"))
    for path in (top, base):
        for call in (
            lambda p=path: be.images.snapshot_create(p, "s"),
            lambda p=path: be.images.write(p, "qcow2", 0, 1),
            lambda p=path: be.images.create(p, "qcow2"),
        ):
            with pytest.raises(BackendError, match="lock"):
                call()
    with pytest.raises(BackendError, match="lock"):
        be.images.commit(top)
    with pytest.raises(BackendError, match="lock"):
        be.images.read(top, "qcow2")
    assert be.images.read(base, "qcow2") == ZERO
    assert [i.path for i in be.images.info_chain(top)] == [top, base]
    assert be.images.snapshot_list(top) == ()
    be.images.create(be.path("second.qcow2"), "qcow2", backing=top, backing_fmt="qcow2")
    with pytest.raises(BackendError, match="launch"):
        be.launch(("vda", top, "qcow2"), name="other")
    with pytest.raises(BackendError, match="launch"):
        be.launch(("vda", other, "qcow2"))
    second = be.launch(("vda", be.disk("b2.qcow2", backing=base, backing_fmt="qcow2"), "qcow2"),
                       name="other")
    second.quit()
    monitor.migrate_to_file(be.path("mem"))
    be.images.write(top, "qcow2", 0, 1)
    monitor.quit()
    be.images.snapshot_create(top, "s")
    assert be.images.read(top, "qcow2") == data(b0=1)


def test_a_transaction_onto_an_unused_image_overwrites_it(be: Backends) -> None:
    a, old = be.disk("a.qcow2"), be.disk("old.qcow2")
    be.images.write(old, "qcow2", 0, 3)
    be.images.snapshot_create(old, "s")
    monitor = be.launch(("vda", a, "qcow2"))
    monitor.transaction([SnapshotAction("vda", old)])
    assert monitor.chain("vda") == (old, a)
    assert monitor.read("vda") == ZERO
    monitor.quit()
    assert be.images.snapshot_list(old) == ()


def test_every_call_is_recorded(be: Backends) -> None:
    a = be.disk("a.qcow2")
    be.images.write(a, "qcow2", 0, 1)
    be.images.snapshot_create(a, "s")
    with pytest.raises(BackendError):
        be.images.snapshot_apply(a, "nope")
    assert be.images.calls[-4:] == [
        Call("create", (a, "qcow2", str(DISK_SIZE), "", "")),
        Call("write", (a, "qcow2", "0", "1")),
        Call("snapshot_create", (a, "s")),
        Call("snapshot_apply", (a, "nope")),
    ]
    monitor = be.launch(("vda", a, "qcow2"), paused=True)
    monitor.savevm("t")
    monitor.transaction([SnapshotAction("vda", be.path("o"))])
    monitor.migrate_to_file(be.path("mem"))
    assert be.launcher.calls == [Call("launch", ("dom", f"vda={a}:qcow2", "paused"))]
    assert monitor.calls == [
        Call("savevm", ("t",)),
        Call("transaction", (f"vda={be.path('o')}",)),
        Call("migrate_to_file", (be.path("mem"),)),
    ]
