"""Where the explorer remembers the examples that failed: a Hypothesis example database.

``open_database(spec)``: ``"none"`` for no database; ``redis://HOST:PORT[/DB]`` for Hypothesis'
``RedisExampleDatabase`` (shared between machines; ``pip install snaporacle[redis]``); anything
else is a directory (default :data:`DEFAULT_DATABASE`, ``.snaporacle/examples`` under the current
directory). A failure found once is replayed first by the next run that uses the same database.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase

from .errors import SnaporacleError

#: The database a run uses unless told otherwise, relative to the current directory.
DEFAULT_DATABASE = str(Path(".snaporacle") / "examples")


def open_database(spec: str | None) -> ExampleDatabase | None:
    """The example database named by ``spec`` (see the module docstring)."""
    if spec is None:
        spec = DEFAULT_DATABASE
    if spec.lower() == "none":
        return None
    if spec.startswith(("redis://", "rediss://", "unix://")):
        try:
            import redis
            from hypothesis.extra.redis import RedisExampleDatabase
        except ImportError:
            raise SnaporacleError(
                f"--database {spec}: the redis client is not installed; "
                "pip install 'snaporacle[redis]'"
            ) from None
        return RedisExampleDatabase(redis.Redis.from_url(spec))
    return DirectoryBasedExampleDatabase(spec)
