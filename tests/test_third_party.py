"""snaporacle used as a third party would: installed from a wheel, outside any checkout, with an
adapter of the user's own package registered by entry point.

The wheel and the user's package are installed with ``pip --target`` into a temporary folder that
goes first on ``PYTHONPATH``, so the commands below run the installed copy, not this checkout.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

USER_PACKAGE = {
    "pyproject.toml": """
        [build-system]
        requires = ["setuptools>=68"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "mydriver"
        version = "1.0"

        [project.entry-points."snaporacle.adapters"]
        mydriver = "mydriver:MyAdapter"
        mydriver-broken = "mydriver:BrokenAdapter"
    """,
    "mydriver.py": """
        from snaporacle import FakeAdapter
        from snaporacle.reference import ReferenceDriver


        class MyAdapter(FakeAdapter):
            name = "mydriver"


        class SkipsDiskOnlyTags(ReferenceDriver):
            '''Records an offline disk-only internal snapshot but never takes it.'''

            def _take_offline(self, record, plan, undo):
                if plan.cell is not None and plan.cell.disk_only:
                    return
                super()._take_offline(record, plan, undo)


        class BrokenAdapter(FakeAdapter):
            name = "mydriver-broken"

            def __init__(self, **options):
                super().__init__(driver_class=SkipsDiskOnlyTags, **options)
    """,
}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment whose PYTHONPATH holds snaporacle's wheel and the user's package."""
    base = tmp_path_factory.mktemp("third-party")
    wheels = base / "wheels"
    user = base / "mydriver"
    user.mkdir()
    for name, text in USER_PACKAGE.items():
        (user / name).write_text(textwrap.dedent(text).lstrip())
    target = base / "site"
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels),
                    str(REPO), str(user)], check=True, capture_output=True)
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target),
                    *map(str, sorted(wheels.glob("*.whl")))], check=True, capture_output=True)
    env = dict(os.environ, PYTHONPATH=str(target))
    work = base / "work"
    work.mkdir()
    return {"env": env, "cwd": str(work), "site": str(target)}  # type: ignore[dict-item]


def _run(installed: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=installed["cwd"], env=installed["env"],  # type: ignore[arg-type]
        capture_output=True, text=True, timeout=600,
    )


def test_the_installed_copy_is_the_one_that_runs(installed: dict[str, str]) -> None:
    done = _run(installed, "-c", "import snaporacle; print(snaporacle.__file__)")
    assert done.stdout.startswith(installed["site"]), done.stdout + done.stderr


def test_the_shipped_corpus_replays_by_name_outside_a_checkout(installed: dict[str, str]) -> None:
    done = _run(installed, "-m", "snaporacle", "replay", "libvirt-current", "traces",
                "xml/manifest.toml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "profile  64 checked" in done.stdout
    assert "xml " in done.stdout and "trace " in done.stdout


def test_the_contract_runs_on_the_users_adapter_with_one_command(installed: dict[str, str]) -> None:
    done = _run(installed, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--pyargs",
                "snaporacle.testing", "--snap-adapter", "mydriver")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_a_broken_adapter_fails_the_contract_with_its_trace(installed: dict[str, str]) -> None:
    done = _run(installed, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--pyargs",
                "snaporacle.testing", "--snap-adapter", "mydriver-broken")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "snaporacle divergence" in done.stdout
    assert "DISK_ONLY" in done.stdout
    saved = sorted(Path(installed["cwd"], ".snaporacle", "traces").glob("*.json"))
    assert saved, done.stdout
    replayed = _run(installed, "-m", "snaporacle", "replay", "--adapter", "mydriver-broken",
                    str(saved[0]))
    assert replayed.returncode == 1 and "DIVERGED" in replayed.stdout


def test_an_adapter_class_without_the_keywords_is_refused_in_one_line(
    installed: dict[str, str],
) -> None:
    done = _run(installed, "-m", "snaporacle", "explore", "--adapter", "collections:OrderedDict",
                "--examples", "1")
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
