"""Storage: the database, the tables, the hash-chained journal, users, migrations.

* ``db``: :class:`~counter.store.db.Database` (SQLite WAL + ``synchronous=FULL``
  with one writer per process, or PostgreSQL) and its transactions;
* ``tables``: the SQLModel tables (``registry_tables`` and ``web_tables`` hold
  those of the local adapters and of the web app);
* ``journal``: append to and verify the journal (``case_events``);
* ``users``: argon2 passwords, users and branches;
* ``migrate``: Alembic migrations configured in code (``counter db upgrade``);
* ``prepared``: hot-path statements compiled once.
"""
