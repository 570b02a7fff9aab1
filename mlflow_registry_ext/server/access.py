"""Who may call what (the ``access`` level of each :class:`~mlflow_registry_ext.api.Operation`).

With authentication on (``MLFLOW_GOVERNANCE_AUTH=basic``) MLflow has already refused requests
without valid credentials (401); then:

* MLflow admins may do everything;
* ``read``/``update``: MLflow's permission on the registered model the call is about (the
  same permission MLflow checks for reading it or setting its aliases);
* ``reviewer``: approve, reject, cancel and comment need read permission on the model; whether
  the user may *decide* is the policy's call (eligible reviewers, no self-approval), made by the
  approval store and refused with 403;
* ``admin``: webhooks and the delivery log (they expose URLs and can replay every event);
* lists across models (approval requests, audit entries) show only what the user may read;
  audit entries about no model (webhook changes) only to admins.

With ``MLFLOW_GOVERNANCE_AUTH=proxy`` the trusted proxy's header names the user (requests without
it answered 401 already); there are no per-model grants, so every user may read and update every
model, and the admins are the users listed in ``MLFLOW_GOVERNANCE_ADMINS``.

With authentication off every caller acts as the server's own identity, so nothing that depends
on *who* acts is accepted: approving, rejecting, cancelling and commenting answer 401
``UNAUTHENTICATED``. Everything else is open, as MLflow itself is without auth.
"""

from __future__ import annotations

from mlflow.exceptions import MlflowException

from mlflow_registry_ext.errors import PermissionDenied, Unauthenticated
from mlflow_registry_ext.server import auth

__all__ = ["Access"]

_NEEDS_AUTH = (
    "Reviewer actions (approve, reject, cancel, comment) need an authenticated user: without "
    "authentication every caller would act as the server itself. Start the server with "
    "MLFLOW_GOVERNANCE_AUTH=basic (MLflow's users) or MLFLOW_GOVERNANCE_AUTH=proxy (a trusted proxy's header)"
)


class Access:
    """The authorization of the current request.

    Attributes:
        mode: ``basic`` or ``proxy``, or ``None`` when authentication is off.
        user: The authenticated user (``None`` when authentication is off).
    """

    def __init__(self, mode: str | None, user: str | None):
        self.mode = mode
        self.user = user

    @classmethod
    def current(cls) -> Access:
        mode = auth.active_mode()
        return cls(mode, auth.authenticated_user() if mode else None)

    @property
    def enabled(self) -> bool:
        """Whether authentication is on."""
        return self.mode is not None

    @property
    def admin(self) -> bool:
        """Whether the user may do everything (always, when authentication is off)."""
        if not self.enabled:
            return True
        return self.user is not None and auth.is_admin(self.user)

    def require_user(self) -> None:
        """Refuse (401) unless a user is authenticated."""
        if self.user is None:
            raise Unauthenticated(_NEEDS_AUTH if not self.enabled else "You are not authenticated")

    def require_admin(self) -> None:
        if not self.admin:
            who = "an MLflow admin" if self.mode == "basic" else "listed in MLFLOW_GOVERNANCE_ADMINS"
            raise PermissionDenied(f"{self.user} is not {who}; webhooks and deliveries need an admin")

    def _permission(self, model: str):
        return auth.model_permission(model)

    def can_read(self, model: str | None) -> bool:
        """Whether the user may read ``model`` (``None``: entries about no model, admins only)."""
        if self.admin:
            return True
        if model is None:
            return False
        try:
            return bool(self._permission(model).can_read)
        except MlflowException:
            return False

    def require_read(self, model: str) -> None:
        if not self.admin and not self._permission(model).can_read:
            raise PermissionDenied(f"{self.user} may not read registered model {model!r}")

    def require_update(self, model: str) -> None:
        if not self.admin and not self._permission(model).can_update:
            raise PermissionDenied(f"{self.user} may not change registered model {model!r}")

    def check(self, level: str, model: str | None) -> None:
        """What the wrapper checks before the view runs, for ``level`` and the model the inputs
        name (``None`` when the model is known only once the view loads its resource)."""
        if level == "reviewer":
            self.require_user()
        if not self.enabled:
            return
        if level == "admin":
            self.require_admin()
        elif level in ("read", "reviewer") and model is not None:
            self.require_read(model)
        elif level == "update" and model is not None:
            self.require_update(model)
