"""streamcli.store: where the state database lives, how it is opened and migrated."""

from __future__ import annotations

import os
import stat

import pytest

from streamcli import store


@pytest.fixture
def parts(monkeypatch):
    """Registered parts for one test only."""
    registry: dict = {}
    monkeypatch.setattr(store, "_MIGRATIONS", registry)
    return registry


def test_path_from_the_variables(tmp_path):
    assert store.db_path({"STREAMCLI_DB": "/x/y.db"}) == "/x/y.db"
    assert store.db_path({"XDG_DATA_HOME": "/d", "HOME": "/h"}) == "/d/streamcli/logs.db"
    assert store.db_path({"HOME": "/h"}) == "/h/.local/share/streamcli/logs.db"


def test_created_private_whatever_the_umask(tmp_path, parts):
    environ = {"XDG_DATA_HOME": str(tmp_path / "data")}
    old = os.umask(0)
    try:
        store.connect(environ).close()
    finally:
        os.umask(old)
    path = store.db_path(environ)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700


def test_wal_and_each_part_migrated_once_in_order(tmp_path, parts):
    environ = {"STREAMCLI_DB": str(tmp_path / "s.db")}
    calls = []
    store.register("a", [lambda c: calls.append("a1") or c.execute("CREATE TABLE a (x)")])
    conn = store.connect(environ)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    store.register("a", [parts["a"][0], lambda c: calls.append("a2") or c.execute("ALTER TABLE a ADD y")])
    store.register("b", [lambda c: calls.append("b1")])
    store.connect(environ).close()
    store.connect(environ).close()
    assert calls == ["a1", "a2", "b1"]
    conn = store.connect(environ)
    assert dict(conn.execute("SELECT part, version FROM schema_versions")) == {"a": 2, "b": 1}


def test_a_failed_migration_changes_nothing(tmp_path, parts):
    environ = {"STREAMCLI_DB": str(tmp_path / "s.db")}

    def broken(conn):
        conn.execute("CREATE TABLE t (x)")
        raise RuntimeError("boom")
    store.register("p", [broken])
    with pytest.raises(RuntimeError):
        store.connect(environ)
    store.register("p", [lambda c: c.execute("CREATE TABLE t (x)")])
    conn = store.connect(environ)  # the table of the failed attempt was rolled back
    assert conn.execute("SELECT version FROM schema_versions WHERE part='p'").fetchone() == (1,)


def test_corrupt_or_missing_files_are_store_errors(tmp_path, parts):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"not a database" * 100)
    with pytest.raises(store.StoreError):
        store.connect({"STREAMCLI_DB": str(bad)})
    assert bad.read_bytes() == b"not a database" * 100  # never overwritten
    with pytest.raises(store.StoreError):
        store.connect({"STREAMCLI_DB": str(tmp_path / "none.db")}, create=False)
    assert not (tmp_path / "none.db").exists()


def test_setting_up_is_retried_while_another_process_holds_the_lock():
    """Switching a new file to WAL while other processes do the same fails at once with
    "database is locked" (SQLite does not wait on its busy handler there): the set-up is
    tried again until the timeout."""
    import sqlite3
    calls = []

    def step():
        calls.append(1)
        if len(calls) < 3:
            raise sqlite3.OperationalError("database is locked")
        return "done"
    assert store._retry_while_locked(step, timeout=5) == "done" and len(calls) == 3

    def always_locked():
        calls.append(1)
        raise sqlite3.OperationalError("database is locked")
    calls.clear()
    with pytest.raises(sqlite3.OperationalError):
        store._retry_while_locked(always_locked, timeout=0.05)
    assert len(calls) >= 2

    def other_error():
        calls.append(1)
        raise sqlite3.OperationalError("no such table: x")
    calls.clear()
    with pytest.raises(sqlite3.OperationalError):
        store._retry_while_locked(other_error, timeout=5)
    assert len(calls) == 1


def test_the_timeout_comes_from_the_environment():
    assert store.busy_timeout({}) == store.BUSY_TIMEOUT_S
    assert store.busy_timeout({"STREAMCLI_DB_TIMEOUT": "0.25"}) == 0.25
    for bad in ("x", "-1", "nan", "inf", "1e9"):
        assert store.busy_timeout({"STREAMCLI_DB_TIMEOUT": bad}) == store.BUSY_TIMEOUT_S


def test_a_read_only_connection_never_creates_anything(tmp_path, parts):
    missing = tmp_path / "none" / "s.db"
    with pytest.raises(store.StoreError):
        store.connect_readonly({"STREAMCLI_DB": str(missing)})
    assert not missing.parent.exists()
    environ = {"STREAMCLI_DB": str(tmp_path / "s.db")}
    store.register("a", [lambda c: c.execute("CREATE TABLE a (x)")])
    store.connect(environ).close()
    conn = store.connect_readonly(environ)
    import sqlite3
    with pytest.raises(sqlite3.OperationalError):
        conn.execute("INSERT INTO a VALUES (1)")
    conn.close()


def test_only_a_regular_file_is_ever_opened_or_changed(tmp_path, parts):
    """STREAMCLI_DB=/dev/null, a FIFO, a folder: a StoreError, and the thing untouched
    (as root, a chmod to 0600 would have locked everyone else out of /dev/null)."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo, 0o644)
    folder = tmp_path / "folder"
    folder.mkdir(mode=0o755)
    for path in (fifo, folder):
        with pytest.raises(store.StoreError):
            store.connect({"STREAMCLI_DB": str(path)})
        with pytest.raises(store.StoreError):
            store.connect({"STREAMCLI_DB": str(path)}, create=False)
        assert stat.S_IMODE(os.stat(path).st_mode) in (0o644, 0o755)
