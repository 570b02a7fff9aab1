"""Real models for dossier tests: sklearn on the bundled breast-cancer data, logged with datasets,
metrics recorded on the evaluation dataset, and git tags."""

from __future__ import annotations

import mlflow
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split

CARD_TAGS = {
    "model_card.intended_use": "Flag tumours for a second read by a radiologist.",
    "model_card.limitations": "Trained on one hospital's data (Wisconsin, 1995).",
    "model_card.training_data": "sklearn breast cancer, 70% split",
    "model_card.evaluation_data": "sklearn breast cancer, 30% holdout",
    "model_card.ethical_considerations": "A person makes every diagnosis.",
}


def _data():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return train_test_split(X, y, test_size=0.3, random_state=0)


def log_version(model_name: str, *, C: float = 1.0, features: int | None = None, commit: str = "0" * 40,
                card_tags: dict | None = None) -> tuple[str, dict]:
    """Train, log and register one version; returns ``(version, metrics)``."""
    X_train, X_test, y_train, y_test = _data()
    if features:
        X_train, X_test = X_train.iloc[:, :features], X_test.iloc[:, :features]
    train, test = X_train.assign(target=y_train), X_test.assign(target=y_test)
    train_ds = mlflow.data.from_pandas(train, source="sklearn.datasets.load_breast_cancer", name="cancer-train",
                                       targets="target")
    test_ds = mlflow.data.from_pandas(test, source="sklearn.datasets.load_breast_cancer", name="cancer-test",
                                      targets="target")
    tags = {"mlflow.source.git.commit": commit, "mlflow.source.git.repoURL": "https://git.example/risk/cancer",
            "mlflow.source.name": "train.py"}
    with mlflow.start_run(tags=tags):
        mlflow.log_input(train_ds, context="training")
        mlflow.log_input(test_ds, context="eval")
        mlflow.log_params({"C": C, "features": features or X_train.shape[1]})
        model = LogisticRegression(C=C, max_iter=5000).fit(X_train, y_train)
        info = mlflow.sklearn.log_model(model, name="model", input_example=X_train.head(2),
                                        registered_model_name=model_name)
        proba = model.predict_proba(X_test)[:, 1]
        metrics = {"auc": roc_auc_score(y_test, proba), "log_loss": log_loss(y_test, proba),
                   "accuracy": accuracy_score(y_test, proba > 0.5)}
        for key, value in metrics.items():
            mlflow.log_metric(key, value, dataset=test_ds, model_id=info.model_id)
    version = str(info.registered_model_version)
    client = mlflow.MlflowClient()
    for key, value in (card_tags or {}).items():
        client.set_model_version_tag(model_name, version, key, value)
    return version, metrics
