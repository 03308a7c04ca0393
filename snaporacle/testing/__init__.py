"""The adapter contract as a pytest suite that ships with snaporacle.

Run it on any adapter, from any repository::

    pytest --pyargs snaporacle.testing --snap-adapter NAME [--snap-uri URI] [--snap-profile P]

``NAME`` is a registered adapter (entry point ``snaporacle.adapters``) or ``package.module:Class``.
"""
