"""A witness that listens for ``audit.checkpoint`` webhook deliveries (``audit witness --serve``).

Each POST must carry a valid Standard Webhooks signature for the subscription's secret (401
otherwise). An ``audit.checkpoint`` event is offered to the :class:`~.witness_state.WitnessState`
with the consistency proof it carries: 200 ``{"accepted": true, ...}`` when held, 409 in MLflow's
error shape when it does not extend the newest held checkpoint (the dispatcher then retries and
the subscription's delivery log shows the refusal), 400 for a note not signed by the log's key.
Other events are answered 200 and ignored, so one subscription to ``*`` is fine.

Requests are handled one at a time, so accepting is never racy.

Example:
    >>> server = make_server(state, "whsec_...", "127.0.0.1", 8099)   # doctest: +SKIP
    >>> server.serve_forever()                                         # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
from http.server import BaseHTTPRequestHandler, HTTPServer

from mlflow.exceptions import MlflowException

from mlflow_registry_ext.audit.witness_state import ProofSource, WitnessState
from mlflow_registry_ext.events.signing import WebhookVerificationError, verify

__all__ = ["make_server", "MAX_BODY"]

_log = logging.getLogger(__name__)
#: Largest delivery accepted (a checkpoint event is well under 4 KiB).
MAX_BODY = 1024 * 1024


def _handler(state: WitnessState, secrets: list[str], proof_source: ProofSource | None):
    class Handler(BaseHTTPRequestHandler):
        server_version = "mlflow-registry-ext-witness"

        def log_message(self, fmt, *args):  # quieter than stderr per request
            _log.info("%s " + fmt, self.address_string(), *args)

        def _answer(self, status: int, body: dict) -> None:
            raw = json.dumps(body, sort_keys=True).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def _error(self, status: int, code: str, message: str) -> None:
            self._answer(status, {"error_code": code, "message": message})

        def do_GET(self):  # noqa: N802 - http.server's naming
            latest = state.latest()
            self._answer(200, {"latest": None if latest is None else latest.to_dict()})

        def do_POST(self):  # noqa: N802
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if not 0 <= length <= MAX_BODY:
                return self._error(400, "INVALID_PARAMETER_VALUE", "missing or too large Content-Length")
            body = self.rfile.read(length)
            try:
                event = verify(body, dict(self.headers.items()), secrets)
            except WebhookVerificationError as exc:
                return self._error(401, "UNAUTHENTICATED", f"bad webhook signature: {exc}")
            if not isinstance(event, dict) or event.get("type") != "audit.checkpoint":
                return self._answer(200, {"accepted": False, "ignored": True})
            data = event.get("data") if isinstance(event.get("data"), dict) else {}
            note = data.get("note")
            if not isinstance(note, str):
                return self._error(400, "INVALID_PARAMETER_VALUE", "the audit.checkpoint event carries no note")
            proof = data.get("consistency")
            proof_from = data.get("previous_size")
            try:
                accepted = state.offer(note, proof if isinstance(proof, list) else None,
                                       proof_from=proof_from if isinstance(proof_from, int) else None,
                                       proof_source=proof_source)
            except MlflowException as exc:
                status = exc.get_http_status_code()
                _log.warning("Checkpoint refused: %s", exc.message)
                return self._error(status if 400 <= status < 500 else 409, exc.error_code, exc.message)
            self._answer(200, {"accepted": True, **accepted.to_dict()})

    return Handler


def make_server(state: WitnessState, secret: str | list[str], host: str, port: int,
                proof_source: ProofSource | None = None) -> HTTPServer:
    """An HTTP server on ``host:port`` (port 0: any free one) feeding ``state``."""
    secrets = [secret] if isinstance(secret, str) else list(secret)
    return HTTPServer((host, port), _handler(state, secrets, proof_source))
