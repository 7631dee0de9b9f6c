"""Step 1: merge the green and yellow samples and drop broken records."""

import argparse

from common import read_rows, write_rows

parser = argparse.ArgumentParser()
parser.add_argument("--raw_data", required=True)
parser.add_argument("--prep_data", required=True)
args = parser.parse_args()

rows = read_rows(args.raw_data, "green_tripdata.csv") + read_rows(args.raw_data, "yellow_tripdata.csv")
clean = [r for r in rows if float(r["fare_amount"]) > 0 and float(r["trip_distance"]) > 0]
print(f"prep: {len(rows)} trips read, {len(rows) - len(clean)} broken ones dropped, {len(clean)} kept")
write_rows(args.prep_data, "merged.csv", clean)
