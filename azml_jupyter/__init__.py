"""azml_jupyter: Azure Machine Learning from inside JupyterLab.

Importing this package must stay cheap: the Jupyter server loads it at start-up, so nothing here
imports azure.ai.ml, the engine or the server modules until they are used.
"""

try:
    from ._version import __version__
except ImportError:  # a source tree that was never built
    __version__ = "0.0.0.dev0"


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "azml-jupyter"}]


def _jupyter_server_extension_points():
    from .server.app import AzmlJupyterApp

    return [{"module": "azml_jupyter", "app": AzmlJupyterApp}]


def load_ipython_extension(ipython):
    """``%load_ext azml_jupyter`` registers the magics."""
    from .magic import load_ipython_extension as _load

    _load(ipython)
