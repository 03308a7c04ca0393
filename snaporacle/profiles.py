"""Finding the shipped corpus and reading profile files: by name in ``corpus/profiles/`` or by path.

The corpus ships inside the package (``snaporacle/corpus``), so an installed snaporacle finds its
own profiles, traces and XML cases by name, outside any checkout.
"""

from __future__ import annotations

from pathlib import Path

from .errors import ProfileError
from .model.profile import Profile, parse_profile

#: The shipped corpus, and its folder of profiles.
CORPUS_DIR = Path(__file__).parent / "corpus"
PROFILE_DIR = CORPUS_DIR / "profiles"


def profile_names() -> list[str]:
    """The names of the shipped profiles, sorted."""
    return sorted(path.stem for path in PROFILE_DIR.glob("*.toml"))


def profile_path(name_or_path: str) -> Path:
    """The file a ``--profile`` value names: a shipped profile's name, or a path to a file."""
    candidate = PROFILE_DIR / f"{name_or_path}.toml"
    if "/" not in name_or_path and candidate.is_file():
        return candidate
    path = Path(name_or_path)
    if path.is_file():
        return path
    raise ProfileError(
        f"no profile {name_or_path!r}: give a file path or one of {', '.join(profile_names())}"
    )


def load_profile(name_or_path: str) -> Profile:
    """Read and validate a profile by name or path; errors name the file, line and cell."""
    path = profile_path(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ProfileError(f"{path}: cannot read the profile: {err}") from err
    return parse_profile(text, str(path))


def corpus_path(name_or_path: str) -> Path:
    """A corpus file or folder: a path that exists, else a shipped profile's name, else a part
    of the shipped corpus (``traces``, ``corpus/traces``, ``xml/manifest.toml``...)."""
    path = Path(name_or_path)
    if path.exists():
        return path
    if "/" not in name_or_path and (PROFILE_DIR / f"{name_or_path}.toml").is_file():
        return PROFILE_DIR / f"{name_or_path}.toml"
    inside = CORPUS_DIR / name_or_path.removeprefix("corpus/")
    if name_or_path.strip("/") and ".." not in Path(name_or_path).parts and inside.exists():
        return inside
    return path
