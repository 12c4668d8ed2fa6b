"""The quarantine store in SQL: held messages and claims (held), the audit log
(audit) and review accounts (users) over one connection and one group commit
(base); the SQLite and PostgreSQL backends supply the dialect.
"""

from __future__ import annotations

from gateway.quarantine.sql.base import Execute, Row, SqlBase
from gateway.quarantine.sql.held import HeldSql
from gateway.quarantine.sql.users import UsersSql

__all__ = ["Execute", "Row", "SqlBase", "SqlStore"]


class SqlStore(HeldSql, UsersSql):
    """QuarantineStore (and ReviewStore) over one DB-API connection; subclasses supply the dialect."""
