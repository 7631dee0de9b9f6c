"""Step 3: split into train and test sets and fit a linear regression (least squares)."""

import argparse
import random

from common import FEATURES, TARGET, read_rows, write_json, write_rows

parser = argparse.ArgumentParser()
parser.add_argument("--training_data", required=True)
parser.add_argument("--test_split_ratio", type=float, default=0.3)
parser.add_argument("--model_output", required=True)
parser.add_argument("--test_data", required=True)
args = parser.parse_args()

rows = read_rows(args.training_data, "features.csv")
random.Random(42).shuffle(rows)
cut = int(len(rows) * (1 - args.test_split_ratio))
train, test = rows[:cut], rows[cut:]

# normal equations (X^T X) b = X^T y, solved by Gaussian elimination
X = [[1.0] + [float(r[f]) for f in FEATURES] for r in train]
y = [float(r[TARGET]) for r in train]
n = len(X[0])
A = [[sum(row[i] * row[j] for row in X) for j in range(n)] + [sum(row[i] * t for row, t in zip(X, y))] for i in range(n)]
for col in range(n):
    pivot = max(range(col, n), key=lambda r: abs(A[r][col]))
    A[col], A[pivot] = A[pivot], A[col]
    for r in range(n):
        if r != col:
            factor = A[r][col] / A[col][col]
            A[r] = [a - factor * b for a, b in zip(A[r], A[col])]
coefficients = [A[i][n] / A[i][i] for i in range(n)]
model = {"intercept": coefficients[0], "weights": coefficients[1:], "features": FEATURES, "trained_on": len(train)}
print(f"train: fitted on {len(train)} rows, held out {len(test)}; weights {[round(w, 3) for w in model['weights']]}")
write_json(args.model_output, "model.json", model)
write_rows(args.test_data, "test.csv", test)
