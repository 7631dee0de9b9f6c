"""Azurite, the Azure Storage emulator from npm, as a real blob service for tests (``fixture.py``)."""
