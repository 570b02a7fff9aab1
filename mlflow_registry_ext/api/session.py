"""Who the caller is."""

from mlflow_registry_ext.api.operation import Answer, Operation


class Session(Answer):
    user: str
    authenticated: bool
    admin: bool
    auth: str | None = None
    governed: bool | None = None
    can_decide: bool | None = None


WHOAMI = Operation("whoami", "GET", "/whoami", "Who the server takes the caller to be, and what the server offers",
                   "session", "user", response=Session)

OPERATIONS = (WHOAMI,)
