"""Keys to namespaces: salted HMAC, one salt per database, created once even under a race."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from cacheback.proxy._tenant import NamespaceError, Tenants, caller_key, load_salt


@pytest.mark.parametrize("headers, key", [
    ({"authorization": "Bearer sk-1"}, "sk-1"),
    ({"authorization": "bearer   sk-2 "}, "sk-2"),
    ({"x-api-key": "sk-ant", "authorization": "Bearer other"}, "sk-ant"),
    ({"authorization": "Basic abc"}, None),
    ({"authorization": "Bearer "}, None),
    ({}, None),
])
def test_caller_key(headers: dict[str, str], key: str | None) -> None:
    assert caller_key(headers) == key


def test_namespaces_depend_on_key_and_salt() -> None:
    one, other = Tenants(b"s" * 32), Tenants(b"t" * 32)
    assert one.namespace("sk-a", None) == one.namespace("sk-a", None)
    assert one.namespace("sk-a", None) != one.namespace("sk-b", None)
    assert one.namespace("sk-a", None) != other.namespace("sk-a", None)
    assert "sk-a" not in one.namespace("sk-a", None)


def test_requested_namespace_by_mode() -> None:
    by_key, by_header = Tenants(b"s" * 32, "api-key"), Tenants(b"s" * 32, "header")
    assert by_key.namespace("sk-a", "team") == by_key.namespace("sk-a", None) + "/team"
    assert by_key.namespace("sk-a", "team") != by_key.namespace("sk-b", "team")
    assert by_header.namespace("sk-a", "team") == by_header.namespace("sk-b", "team") == "ns:team"
    with pytest.raises(NamespaceError):
        by_key.namespace("sk-a", "x" * 129)


def test_salt_is_created_once_and_shared(tmp_path: Path) -> None:
    db = str(tmp_path / "sub" / "cache.db")
    with ThreadPoolExecutor(8) as pool:
        salts = set(pool.map(lambda _: load_salt(db), range(16)))
    assert len(salts) == 1 and len(salts.pop()) == 32
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["cache.db.salt"]
    assert load_salt(":memory:") != load_salt(":memory:")


def test_a_damaged_salt_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "c.db.salt").write_text("not hex")
    with pytest.raises(OSError, match="valid salt"):
        load_salt(str(tmp_path / "c.db"))


@pytest.mark.parametrize(("headers", "expected"), [
    ({"authorization": "Bearer\tsk-abc"}, "sk-abc"),
    ({"authorization": "bearer   sk-abc  "}, "sk-abc"),
    ({"authorization": "Bearer sk-a b"}, None),
    ({"authorization": "Bearer sk-\x01abc"}, None),
    ({"authorization": "Bearer "}, None),
    ({"authorization": "Basic dXNlcg=="}, None),
    ({"x-api-key": " sk-ant-1 "}, "sk-ant-1"),
    ({"x-api-key": "sk-ant\t1"}, None),
])
def test_caller_key_reads_only_well_formed_keys(headers: dict[str, str], expected: str | None) -> None:
    assert caller_key(headers) == expected
