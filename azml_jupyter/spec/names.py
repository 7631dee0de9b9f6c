"""Azure ML naming rules (what the service accepts) and Azure-ML-style generated job names.

The SDK leaves most name checks to the service; we check before anything is stored so a bad name is a
clear 400 locally too, and a name that works locally also works on Azure ML.
"""

from __future__ import annotations

import re
import secrets
import string

from ..errors import InvalidName

# Job (run) names: letters, digits, "_" and "-", starting with a letter or digit, at most 255 characters.
JOB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$")
# Experiment names: the same, plus ".", at most 256 characters.
EXPERIMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,255}$")
# Data asset names: letters, digits, "_", "-" and ".", starting with a letter or digit.
ASSET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")
# Asset versions: letters, digits, "_", "-" and "." (Azure ML uses integers when it picks one).
ASSET_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,29}$")
# Compute names (AmlCompute): a letter first, then letters, digits and "-", 2 to 16 characters,
# not ending with "-".
COMPUTE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,14}[A-Za-z0-9]$")

_RULES = {
    "job": (JOB_NAME, "letters, digits, '_' and '-', starting with a letter or digit, at most 255 characters"),
    "experiment": (
        EXPERIMENT_NAME,
        "letters, digits, '_', '-' and '.', starting with a letter or digit, at most 256 characters",
    ),
    "data asset": (
        ASSET_NAME,
        "letters, digits, '_', '-' and '.', starting with a letter or digit, at most 255 characters",
    ),
    "data asset version": (
        ASSET_VERSION,
        "letters, digits, '_', '-' and '.', starting with a letter or digit, at most 30 characters",
    ),
    "compute": (
        COMPUTE_NAME,
        "2 to 16 characters: a letter first, then letters, digits and '-', not ending with '-'",
    ),
}


def check_name(kind: str, value: object) -> str:
    """Return ``value`` if it is a valid name of that kind; raise InvalidName saying the rule otherwise."""
    pattern, rule = _RULES[kind]
    if not isinstance(value, str) or not pattern.match(value):
        raise InvalidName(
            f"Invalid {kind} name {value!r}: use {rule}.",
            details={"kind": kind, "value": value, "rule": rule},
        )
    return value


_ADJECTIVES = (
    "amber",
    "bold",
    "brave",
    "calm",
    "clever",
    "coral",
    "crisp",
    "eager",
    "gentle",
    "happy",
    "jolly",
    "keen",
    "lively",
    "loyal",
    "mellow",
    "neat",
    "nimble",
    "plucky",
    "quiet",
    "rapid",
    "shiny",
    "silver",
    "sunny",
    "swift",
    "tidy",
    "witty",
)
_NOUNS = (
    "apple",
    "badger",
    "board",
    "brook",
    "cactus",
    "cloud",
    "duck",
    "falcon",
    "fig",
    "garden",
    "goat",
    "heron",
    "kettle",
    "lemon",
    "maple",
    "otter",
    "pepper",
    "plum",
    "river",
    "salmon",
    "seed",
    "spoon",
    "tiger",
    "tulip",
    "walrus",
    "yam",
)


def generate_job_name() -> str:
    """A name in Azure ML's own style, e.g. ``salmon_seed_sfw0n936y5``."""
    suffix = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(10))
    return f"{secrets.choice(_ADJECTIVES)}_{secrets.choice(_NOUNS)}_{suffix}"
