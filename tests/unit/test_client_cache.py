"""The API client cache stays bounded: made-up app ids cannot grow it without end."""

from publicpay.bootstrap import ClientCache


def test_made_up_app_ids_do_not_grow_the_cache_past_its_bound() -> None:
    cache = ClientCache(ttl_s=60.0, max_entries=100)
    for n in range(1_000):
        cache.put(f"fake{n}", None)
    assert len(cache) <= 100
    assert cache.get("fake999") == (True, None)  # the newest is kept


def test_a_dropped_client_is_read_again() -> None:
    cache = ClientCache()
    cache.put("pp_1", None)
    cache.drop("pp_1")
    assert cache.get("pp_1") == (False, None)
