"""Step 5: score the predictions (reads the model from train and the predictions from predict)."""

import argparse
import json
import math
from pathlib import Path

from common import read_rows, write_json

parser = argparse.ArgumentParser()
parser.add_argument("--predictions", required=True)
parser.add_argument("--model", required=True)
parser.add_argument("--score_report", required=True)
args = parser.parse_args()

model = json.loads((Path(args.model) / "model.json").read_text())
rows = read_rows(args.predictions, "predictions.csv")
errors = [float(r["predicted"]) - float(r["actual"]) for r in rows]
actual = [float(r["actual"]) for r in rows]
mean = sum(actual) / len(actual)
rmse = math.sqrt(sum(e * e for e in errors) / len(errors))
mae = sum(abs(e) for e in errors) / len(errors)
r2 = 1 - sum(e * e for e in errors) / sum((a - mean) ** 2 for a in actual)
metrics = {"rmse": round(rmse, 4), "mae": round(mae, 4), "r2": round(r2, 4), "test_rows": len(rows), "trained_on": model["trained_on"]}
report = Path(args.score_report)
report.mkdir(parents=True, exist_ok=True)
(report / "score.txt").write_text(
    "NYC taxi fare model\n"
    f"  trained on {model['trained_on']} trips, scored on {len(rows)}\n"
    f"  RMSE {metrics['rmse']}  MAE {metrics['mae']}  R^2 {metrics['r2']}\n"
)
write_json(args.score_report, "metrics.json", metrics)
print((report / "score.txt").read_text())
