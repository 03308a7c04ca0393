"""``--workers`` on the embedded QEMU driver after this process used it: each worker must run its
domains in an embedded root of its own (a forked worker inherited this process's root, and two
workers then removed each other's domain files)."""

from __future__ import annotations

from snaporacle.adapters.libvirt import LibvirtAdapter
from snaporacle.parallel import Job, explore_parallel

#: libvirt 9.0's known findings that these few examples could reach (docs/FINDINGS.md)
KNOWN_CELLS = ("offline/memory=omit/disk=internal/disk-only",
               "offline/memory=no/disk=internal/disk-only")


def test_two_workers_each_run_in_their_own_root(embed: LibvirtAdapter) -> None:
    # ``embed`` keeps this process's embedded driver open while the workers run theirs
    job = Job("libvirt", "qemu:///embed", None, 4, 5, 11, "none", 3, None, KNOWN_CELLS)
    result = explore_parallel(job, 2, sweep=False)
    assert result.environment_failures == ()
    assert [d.differences for d in result.divergences] == []
    assert result.coverage.examples >= 4
