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
