"""SQL of the review app's accounts."""

from __future__ import annotations

import builtins
import json

from gateway.quarantine.records import AuditEntry, LastAdminError, ReviewUser, utc_now
from gateway.quarantine.sql.audit import AuditSql
from gateway.quarantine.sql.base import Execute, Row, json_tuple

_USER_COLUMNS = "name, role, profiles, password_hash, disabled, created_at, session_epoch"


class UsersSql(AuditSql):
    """Review accounts: add, read, disable, end sessions."""

    def add_user(self, user: ReviewUser, audit: AuditEntry | None = None) -> bool:
        """Create ``user``; False when the name is taken."""
        if self.get_user(user.name) is not None:
            return False
        insert = ("INSERT INTO review_users (name, role, profiles, password_hash, disabled, created_at) "
                  "VALUES (?, ?, ?, ?, ?, ?)")
        params = [user.name, user.role, json.dumps(list(user.profiles)), user.password_hash,
                  int(user.disabled), self._time_in(utc_now())]

        def work(run: Execute) -> bool:
            run(insert, params)
            if audit is not None:
                self._append(run, audit, None)
            return True

        return self._transaction(work)

    def get_user(self, name: str) -> ReviewUser | None:
        """Return the account called ``name``, or None."""
        rows = self._read(f"SELECT {_USER_COLUMNS} FROM review_users WHERE name = ?", [name])
        return self._user(rows[0]) if rows else None

    def users(self) -> builtins.list[ReviewUser]:
        """Return every account, by name."""
        return [self._user(row) for row in
                self._read(f"SELECT {_USER_COLUMNS} FROM review_users ORDER BY name", [])]

    def disable_user(self, name: str, audit: AuditEntry | None = None) -> bool:
        """Disable ``name`` and end its sessions; False when there is no such enabled account.

        Raises LastAdminError instead of disabling the last enabled admin.
        """
        # The enabled admins are locked first (PostgreSQL; SQLite writers are serialised
        # anyway), so two admins disabling each other at once cannot both succeed.
        admins = ("SELECT COUNT(*) FROM (SELECT name FROM review_users WHERE role = 'admin' "
                  f"AND disabled = 0{self._for_update()}) AS enabled_admins")

        def work(run: Execute) -> bool:
            _, count = run(admins, [])
            _, target = run("SELECT role FROM review_users WHERE name = ? AND disabled = 0", [name])
            if target is None:
                return False
            if str(target[0]) == "admin" and count is not None and int(str(count[0])) <= 1:
                raise LastAdminError(f"{name!r} is the last enabled admin")
            run("UPDATE review_users SET disabled = 1, session_epoch = session_epoch + 1 WHERE name = ?",
                [name])
            if audit is not None:
                self._append(run, audit, None)
            return True

        return self._transaction(work)

    def end_sessions(self, name: str, audit: AuditEntry | None = None) -> None:
        """Bump ``name``'s session epoch, so every session issued to it so far is refused."""
        def work(run: Execute) -> None:
            run("UPDATE review_users SET session_epoch = session_epoch + 1 WHERE name = ?", [name])
            if audit is not None:
                self._append(run, audit, None)

        self._transaction(work)

    def set_password_hash(self, name: str, password_hash: str) -> None:
        """Replace the stored hash (a rehash with newer parameters)."""
        self._write("UPDATE review_users SET password_hash = ? WHERE name = ?", [password_hash, name])

    def _user(self, row: Row) -> ReviewUser:
        """Build a ReviewUser from a row in ``_USER_COLUMNS`` order."""
        name, role, profiles, password_hash, disabled, created, epoch = row
        return ReviewUser(str(name), str(role), tuple(str(p) for p in json_tuple(profiles)),
                          str(password_hash), bool(int(str(disabled))),
                          None if created is None else self._time_out(created), int(str(epoch)))
