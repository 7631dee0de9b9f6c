"""Small helpers shared by the steps (standard library only, so any Python 3 environment runs them)."""

import csv
import json
from pathlib import Path

FEATURES = ["trip_distance", "passenger_count", "rush_hour", "is_yellow"]
TARGET = "fare_amount"


def read_rows(folder: str, name: str) -> list[dict]:
    with open(Path(folder) / name, newline="") as fh:
        return list(csv.DictReader(fh))


def write_rows(folder: str, name: str, rows: list[dict]) -> Path:
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    with open(path / name, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path / name


def write_json(folder: str, name: str, value) -> Path:
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    (path / name).write_text(json.dumps(value, indent=2))
    return path / name


def predict(model: dict, row: dict) -> float:
    return model["intercept"] + sum(w * float(row[f]) for w, f in zip(model["weights"], model["features"]))
