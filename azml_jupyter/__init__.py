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


# The notebook API, imported on first use so that importing the package stays cheap.
_NOTEBOOK_API = ("submit_cells", "submit_notebook", "notebook_job", "export_notebook", "Job", "JobFailed", "last_job")


def __getattr__(name: str):
    if name in _NOTEBOOK_API:
        from . import notebook

        return getattr(notebook, name)
    raise AttributeError(f"module 'azml_jupyter' has no attribute {name!r}")
