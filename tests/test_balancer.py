"""Consistent hashing and conversation keys of the balancer, without a network."""

from collections import Counter

import pytest

from balancer.keys import conversation_key
from balancer.ring import HashRing

NODES = ["http://127.0.0.1:5101", "http://127.0.0.1:5102", "http://127.0.0.1:5103"]


def test_a_conversation_always_goes_to_the_same_replica_first() -> None:
    ring = HashRing(NODES)
    assert all(ring.order(f"web-{i}") == HashRing(list(reversed(NODES))).order(f"web-{i}") for i in range(200))
    assert all(sorted(ring.order(f"sms-{i}")) == sorted(NODES) for i in range(50))


def test_load_spreads_and_losing_a_replica_moves_only_its_conversations() -> None:
    ring, smaller = HashRing(NODES), HashRing(NODES[:2])
    owners = {f"c{i}": ring.order(f"c{i}")[0] for i in range(3000)}
    shares = Counter(owners.values())
    assert min(shares.values()) > 3000 / 3 * 0.6
    for key, owner in owners.items():
        if owner != NODES[2]:
            assert smaller.order(key)[0] == owner
        else:
            # The failover target is the next replica on the full ring.
            assert smaller.order(key)[0] == ring.order(key)[1]


def test_an_empty_ring_is_refused() -> None:
    with pytest.raises(ValueError):
        HashRing([])


@pytest.mark.parametrize(
    "content_type, body, key",
    [
        ("application/json", b'{"sender": "abc", "message": "hi"}', "abc"),
        ("application/json; charset=utf-8", b'{"sender": 42}', "42"),
        ("application/x-www-form-urlencoded", b"Body=hola&From=%2B13055550111&To=%2B1555", "+13055550111"),
        ("application/json", b"not json", None),
        ("application/json", b"[1, 2]", None),
        ("application/json", b'{"sender": ""}', None),
        ("application/x-www-form-urlencoded", b"Body=hi", None),
        ("text/plain", b"sender=x", None),
        ("", b"", None),
    ],
)
def test_conversation_key_is_read_like_the_channels_read_it(content_type: str, body: bytes, key) -> None:
    assert conversation_key(content_type, body) == key
