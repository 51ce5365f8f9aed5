"""Connections kept open between requests, in the server only (SQLite and PostgreSQL alike)."""


class ServerPool:
    """Mixin for a playhouse.pool database: keeps its connections in the pool only while
    `keep_connections` is set, which `python app.py serve` does (marac.db.keep_connections). Everywhere
    else (tests, commands, the benchmark's generator) db.close() closes the connection for real, as the
    code there expects: SQLite's last close writes the WAL back into the file, and a test's PostgreSQL
    database can be dropped only once nobody is connected to it."""

    keep_connections = False

    def _close(self, conn, close_conn=False):
        super()._close(conn, close_conn=close_conn or not self.keep_connections)
