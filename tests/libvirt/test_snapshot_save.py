"""On the running libvirt: a running domain's second internal checkpoint of a name whose tag is
still in the image fails on 11.3 (QMP snapshot-save) and replaces the tag on 9.0 (HMP savevm),
in lockstep with the model under the profile measured there (whose cells name the mechanism)."""

from __future__ import annotations

from snaporacle.adapters.libvirt import LibvirtAdapter
from snaporacle.lockstep import Lockstep
from snaporacle.model.modes import Mechanism, Outcome
from snaporacle.model.profile import Accepted
from snaporacle.profiles import load_profile
from tests.test_snapshot_save import EXPECTED, reuse_steps


def test_a_reused_tag_gets_the_measured_answer(embed: LibvirtAdapter) -> None:
    name = embed.measured_name()
    profile = load_profile(name)
    assert name in EXPECTED, f"measure tests/test_snapshot_save.py on {name}"
    lockstep = Lockstep(embed, profile)
    lockstep.reset()
    for op in reuse_steps(embed.root):
        result, _ = lockstep.step(op)
    assert (result.outcome, result.error) == EXPECTED[name], result.message
    mechanisms = {m for e in profile.entries if isinstance(e.verdict, Accepted)
                  for m in e.verdict.mechanisms}
    failed = result.outcome is Outcome.FAILED
    assert (Mechanism.SNAPSHOT_SAVE in mechanisms) is failed
    assert (Mechanism.SAVEVM in mechanisms) is not failed
