"""Summarise a taxi trip sample by pickup hour; write the table to the named output and metrics to ./outputs."""

import argparse
import csv
import json
import os
from collections import defaultdict
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--trips", required=True)
parser.add_argument("--min_distance", type=float, default=0.0)
parser.add_argument("--summary", required=True)
args = parser.parse_args()

by_hour: dict[int, list[float]] = defaultdict(list)
with open(args.trips, newline="") as fh:
    for row in csv.DictReader(fh):
        if float(row["trip_distance"]) >= args.min_distance and float(row["fare_amount"]) > 0:
            by_hour[int(row["pickup_hour"])].append(float(row["fare_amount"]))

out = Path(args.summary)
out.mkdir(parents=True, exist_ok=True)
with open(out / "by_hour.csv", "w", newline="") as fh:
    writer = csv.writer(fh)
    writer.writerow(["pickup_hour", "trips", "mean_fare"])
    for hour in sorted(by_hour):
        fares = by_hour[hour]
        writer.writerow([hour, len(fares), round(sum(fares) / len(fares), 2)])

trips = sum(len(f) for f in by_hour.values())
print(os.environ.get("SUMMARY_TITLE", "Summary"))
print(f"{trips} trips of at least {args.min_distance} miles in {len(by_hour)} pickup hours")
Path("outputs").mkdir(exist_ok=True)
Path("outputs/metrics.json").write_text(json.dumps({"trips": trips, "hours": len(by_hour)}))
