"""``python -m mlflow_registry_ext.events`` prints the payload examples table of docs/webhooks.md."""

from mlflow_registry_ext.events.payloads import markdown_table

if __name__ == "__main__":  # pragma: no cover - printed for the docs
    print(markdown_table())
