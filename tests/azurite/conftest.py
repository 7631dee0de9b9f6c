"""Makes this folder self-sufficient: the session-wide Azurite fixture (see ``fixture.py``)."""

from .fixture import azurite  # noqa: F401  (fixtures are found by name)
