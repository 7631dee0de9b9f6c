"""Step 2: feature engineering (rush hour flag, vendor flag)."""

import argparse

from common import read_rows, write_rows

parser = argparse.ArgumentParser()
parser.add_argument("--clean_data", required=True)
parser.add_argument("--transformed_data", required=True)
args = parser.parse_args()

rows = read_rows(args.clean_data, "merged.csv")
for row in rows:
    row["rush_hour"] = 1 if int(row["pickup_hour"]) in (7, 8, 17, 18, 19) else 0
    row["is_yellow"] = 1 if row["vendor"] == "yellow" else 0
print(f"transform: {len(rows)} rows, {sum(r['rush_hour'] for r in rows)} in rush hour")
write_rows(args.transformed_data, "features.csv", rows)
