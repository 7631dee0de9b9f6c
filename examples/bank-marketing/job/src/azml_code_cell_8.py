pass  # %%azml_submit --compute cpu-cluster --return model_metrics
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, precision_score, recall_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

categorical = list(customers[FEATURES].select_dtypes(exclude="number").columns)
numeric = [c for c in FEATURES if c not in categorical]
train, test = train_test_split(customers, test_size=0.25, random_state=0, stratify=customers[TARGET])
model = make_pipeline(
    ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), categorical), ("num", StandardScaler(), numeric)]),
    LogisticRegression(max_iter=1000),
)
model.fit(train[FEATURES], train[TARGET])
predicted = model.predict(test[FEATURES])
probability = model.predict_proba(test[FEATURES])[:, 1]
model_metrics = {
    "rows": len(customers),
    "accuracy": round(float(accuracy_score(test[TARGET], predicted)), 4),
    "precision": round(float(precision_score(test[TARGET], predicted)), 4),
    "recall": round(float(recall_score(test[TARGET], predicted)), 4),
    "roc_auc": round(float(roc_auc_score(test[TARGET], probability)), 4),
}
print(model_metrics)
