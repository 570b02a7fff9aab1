"""The database driver behind a URI as people write it (``postgresql://``, ``mysql://``).

SQLAlchemy picks a default driver for a URI without ``+driver`` (2.1: psycopg 3 for
``postgresql://``, mysqlclient for ``mysql://``), which need not be the one installed. The
``postgres`` extra installs psycopg2 and the ``mysql`` extra PyMySQL, so a driver-less URI is
given the installed driver (SQLAlchemy's default when it is importable); with none installed it
is refused with one line naming the package to install and the URI form that works.

Example:
    >>> with_installed_driver("mysql://root@127.0.0.1/test")   # PyMySQL installed, not mysqlclient
    'mysql+pymysql://root@127.0.0.1/test'
"""

from __future__ import annotations

import importlib.util

from mlflow_registry_ext.errors import InvalidInput

__all__ = ["with_installed_driver"]

#: For each driver-less scheme: (driver name, module), SQLAlchemy's default first.
_DRIVERS = {
    "postgresql": (("psycopg", "psycopg"), ("psycopg2", "psycopg2"), ("pg8000", "pg8000")),
    "mysql": (("mysqldb", "MySQLdb"), ("pymysql", "pymysql"), ("mysqlconnector", "mysql.connector")),
}
_EXTRA = {"postgresql": ("postgres", "psycopg2"), "mysql": ("mysql", "pymysql")}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def with_installed_driver(uri: str) -> str:
    """``uri`` with an installed driver named when it names none (other URIs pass through).

    Raises:
        InvalidInput: A driver-less PostgreSQL or MySQL URI and no driver for it installed.
    """
    scheme, sep, rest = uri.partition("://")
    if not sep or scheme not in _DRIVERS:
        return uri
    for position, (driver, module) in enumerate(_DRIVERS[scheme]):
        if _installed(module):
            return uri if position == 0 else f"{scheme}+{driver}://{rest}"
    extra, driver = _EXTRA[scheme]
    raise InvalidInput(
        f"No {scheme} driver is installed: pip install 'mlflow-registry-ext[{extra}]', then "
        f"{scheme}://... or {scheme}+{driver}://... works"
    )
