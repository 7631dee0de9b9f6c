"""Step 4: predict fares for the held-out trips with the trained model."""

import argparse
import json
from pathlib import Path

from common import TARGET, predict, read_rows, write_rows

parser = argparse.ArgumentParser()
parser.add_argument("--model_input", required=True)
parser.add_argument("--test_data", required=True)
parser.add_argument("--predictions", required=True)
args = parser.parse_args()

model = json.loads((Path(args.model_input) / "model.json").read_text())
rows = read_rows(args.test_data, "test.csv")
out = [{"actual": r[TARGET], "predicted": round(predict(model, r), 3)} for r in rows]
print(f"predict: {len(out)} predictions")
write_rows(args.predictions, "predictions.csv", out)
