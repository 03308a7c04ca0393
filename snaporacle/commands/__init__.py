"""The sub-commands of ``snaporacle``; each module has ``register(subparsers)``."""
