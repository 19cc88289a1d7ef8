"""IdMap against a plain dict, through merges and both the looped and vectorised paths."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cacheback.ann import _idmap
from cacheback.ann._idmap import IdMap

_IDS = st.integers(-5, 40) | st.sampled_from([2**63 - 1, -(2**63), 10**12])
_OPS = st.lists(st.tuples(st.sampled_from(["set", "pop", "bulk"]), _IDS, st.integers(0, 99)),
                max_size=80)


@pytest.fixture(autouse=True)
def small_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Merge after a few changes and bulk-set from three ids, so short runs cover every path."""
    monkeypatch.setattr(_idmap, "_MERGE_MIN", 4)
    monkeypatch.setattr(_idmap, "_LOOP_MAX", 2)


def _check(id_map: IdMap, model: dict[int, int]) -> None:
    assert len(id_map) == len(model)
    probe = np.array(sorted(set(model) | {-7, 0, 41}), dtype=np.int64)
    expected = [model.get(i, -1) for i in probe.tolist()]
    assert id_map.get_many(probe).tolist() == expected
    assert id_map.get_many(probe[:2]).tolist() == expected[:2]
    for i in probe.tolist():
        assert id_map.get(i) == model.get(i) and (i in id_map) == (i in model)


@settings(max_examples=60, deadline=None)
@given(ops=_OPS)
def test_behaves_like_a_dict(ops: list[tuple[str, int, int]]) -> None:
    id_map, model = IdMap(), {}
    for op, id, slot in ops:
        if op == "set":
            id_map.set(id, slot)
            model[id] = slot
        elif op == "pop":
            if id in model:
                assert id_map.pop(id) == model.pop(id)
            else:
                with pytest.raises(KeyError):
                    id_map.pop(id)
        else:
            ids = np.array(sorted({id, id + 1, id + 2} - {2**63, 2**63 + 1}), dtype=np.int64)
            id_map.set_many(ids, np.full(len(ids), slot))
            model.update(dict.fromkeys(ids.tolist(), slot))
        _check(id_map, model)


def test_from_arrays_refuses_repeated_ids_and_outsized_ids_are_unknown() -> None:
    id_map = IdMap.from_arrays(np.array([9, 3, 5]), np.array([0, 1, 2]))
    assert id_map.get_many(np.array([3, 5, 9, 4])).tolist() == [1, 2, 0, -1]
    assert id_map.get(2**70) is None and id_map.nbytes == 3 * 12
    with pytest.raises(ValueError, match="twice"):
        IdMap.from_arrays(np.array([1, 2, 1]), np.array([0, 1, 2]))
