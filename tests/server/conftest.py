"""Session-wide governance servers (see :mod:`tests.support.governance_servers`) and the browser
(see :mod:`tests.support.browser`)."""

from tests.support.browser import chromium  # noqa: F401
from tests.support.governance_servers import auth_server, open_server  # noqa: F401
