"""Session-wide governance servers (see :mod:`tests.support.governance_servers`)."""

from tests.support.governance_servers import auth_server, open_server  # noqa: F401
