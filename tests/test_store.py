"""The per-browser store: least recently used out first, expiry, the byte bound, threads."""

import threading

import pytest

from nnviz.training.store import SessionStore


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make_store(max_bytes: int = 100, ttl_s: float = 60) -> tuple[SessionStore, FakeClock]:
    clock = FakeClock()
    return SessionStore(max_bytes=max_bytes, ttl_s=ttl_s, clock=clock), clock


def test_values_are_kept_by_reference_and_tokens_are_independent():
    store, _ = make_store()
    mine, theirs = {"model": object()}, {"model": object()}
    assert store.put("a", mine, 10) and store.put("b", theirs, 10)
    assert store.get("a") is mine and store.get("b") is theirs
    assert store.get("c") is None
    store.put("a", {"model": "new"}, 10)  # replacing one token's value leaves the other alone
    assert store.get("a") == {"model": "new"} and store.get("b") is theirs
    assert store.nbytes == 20 and len(store) == 2


def test_the_least_recently_used_entry_goes_first_when_over_the_bound():
    store, _ = make_store(max_bytes=30)
    for token in "abc":
        store.put(token, token, 10)
    store.get("a")  # a is now used more recently than b
    store.put("d", "d", 10)
    assert "b" not in store and all(t in store for t in "acd")
    store.put("e", "e", 20)  # needs two slots: c, then a go
    assert [t for t in "abcde" if t in store] == ["d", "e"] and store.nbytes == 30


def test_replacing_a_value_counts_only_its_new_size():
    store, _ = make_store(max_bytes=30)
    store.put("a", 1, 20)
    store.put("a", 2, 25)
    assert store.nbytes == 25 and store.get("a") == 2


def test_an_entry_bigger_than_the_bound_is_not_kept_and_drops_the_old_one():
    store, _ = make_store(max_bytes=30)
    store.put("a", "small", 10)
    store.put("b", "other", 10)
    assert store.put("a", "huge", 31) is False
    assert store.get("a") is None and store.get("b") == "other" and store.nbytes == 10


def test_entries_expire_ttl_after_their_last_use():
    store, clock = make_store(ttl_s=60)
    store.put("a", "A", 1)
    store.put("b", "B", 1)
    clock.now = 50
    assert store.get("a") == "A"  # refreshes a, not b
    clock.now = 70
    assert store.get("b") is None and store.get("a") == "A"
    clock.now = 200
    assert store.get("a") is None and len(store) == 0 and store.nbytes == 0


def test_discard_forgets_one_token():
    store, _ = make_store()
    store.put("a", "A", 5)
    store.put("b", "B", 5)
    store.discard("a")
    store.discard("never-there")
    assert store.get("a") is None and store.get("b") == "B" and store.nbytes == 5


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        ({"max_bytes": 0, "ttl_s": 1}, "max_bytes=0"),
        ({"max_bytes": 1.5, "ttl_s": 1}, "max_bytes=1.5"),
        ({"max_bytes": 10, "ttl_s": 0}, "ttl_s=0"),
    ],
)
def test_bad_bounds_are_named(kwargs, names):
    with pytest.raises(ValueError, match=names):
        SessionStore(**kwargs)


def test_bad_tokens_and_sizes_are_named():
    store, _ = make_store()
    with pytest.raises(ValueError, match="token=''"):
        store.put("", 1, 1)
    with pytest.raises(ValueError, match="token=None"):
        store.get(None)
    with pytest.raises(ValueError, match="nbytes=-1"):
        store.put("a", 1, -1)


def test_the_bounds_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("NNVIZ_STORE_MB", "2")
    monkeypatch.setenv("NNVIZ_STORE_TTL_H", "0.5")
    store = SessionStore.from_env()
    assert (store.max_bytes, store.ttl_s) == (2 * 2**20, 1800)
    monkeypatch.setenv("NNVIZ_STORE_MB", "lots")
    with pytest.raises(ValueError, match="NNVIZ_STORE_MB='lots'"):
        SessionStore.from_env()
    monkeypatch.setenv("NNVIZ_STORE_MB", "-1")
    with pytest.raises(ValueError, match="must both be above 0"):
        SessionStore.from_env()


def test_several_threads_at_once_keep_the_byte_count_and_the_bound():
    store, _ = make_store(max_bytes=1000)
    errors = []

    def work(worker: int) -> None:
        try:
            for i in range(2000):
                token = f"{worker}-{i % 50}"
                store.put(token, (worker, i), 1 + i % 7)
                value = store.get(token)
                assert value is None or value[0] == worker  # never another thread's value
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert store.nbytes <= 1000
    assert store.nbytes == sum(store._entries[t].nbytes for t in store._entries)
