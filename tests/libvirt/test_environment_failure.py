"""A QEMU that dies under libvirt is an environment failure, not a finding about snapshots."""

from __future__ import annotations

import os
import signal
import time

import pytest

from snaporacle.adapters.libvirt import LibvirtAdapter
from snaporacle.errors import EnvironmentFailure, StepTimeout
from snaporacle.model.ops import CreateSnapshot, DefineDomain, StartDomain

from .conftest import domain, qemu_processes


def _kill_qemu(adapter: LibvirtAdapter) -> None:
    pids = qemu_processes(adapter.root)
    assert pids, "no QEMU process to kill"
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while qemu_processes(adapter.root) and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_killed_qemu_is_reported_by_observe_as_an_environment_failure(
    embed: LibvirtAdapter,
) -> None:
    spec = domain()
    assert embed.apply(DefineDomain(spec)).error is None
    assert embed.apply(StartDomain(spec.name)).error is None
    _kill_qemu(embed)
    deadline = time.monotonic() + 10
    while True:  # libvirt notices the monitor's end-of-file in its event loop
        try:
            embed.observe()
        except EnvironmentFailure as failure:
            assert "died under libvirt" in str(failure) and spec.name in str(failure)
            break
        assert time.monotonic() < deadline, "the dead QEMU was never reported"
        time.sleep(0.1)


def test_an_operation_on_a_domain_whose_qemu_died_raises_instead_of_refusing(
    embed: LibvirtAdapter,
) -> None:
    spec = domain()
    embed.apply(DefineDomain(spec))
    embed.apply(StartDomain(spec.name))
    _kill_qemu(embed)
    time.sleep(1.0)
    xml = "<domainsnapshot><name>s1</name><memory snapshot='internal'/></domainsnapshot>"
    with pytest.raises(EnvironmentFailure, match="died under libvirt"):
        embed.apply(CreateSnapshot(spec.name, xml))


def test_a_step_that_hangs_is_cut_short_and_named(embed: LibvirtAdapter) -> None:
    spec = domain()
    embed.apply(DefineDomain(spec))
    embed.apply(StartDomain(spec.name))
    for pid in qemu_processes(embed.root):
        os.kill(pid, signal.SIGSTOP)  # QEMU answers nothing from now on
    embed.step_timeout = 3.0
    xml = "<domainsnapshot><name>s1</name><memory snapshot='internal'/></domainsnapshot>"
    started = time.monotonic()
    with pytest.raises(StepTimeout, match="create on domain dom: libvirt gave no answer within 3 s"):
        embed.apply(CreateSnapshot(spec.name, xml))
    assert time.monotonic() - started < 30
    assert qemu_processes(embed.root) == []
