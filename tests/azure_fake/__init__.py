"""Test infrastructure for the Azure backend: the real azure-ai-ml SDK against an in-process fake
of the Azure Machine Learning service (``service.py``), wired in through ``transport.py``, with a
JWT-minting ``credential.py`` and pytest ``fixtures.py``. ``test_sdk_against_fake.py`` proves it."""
