"""Consistent hashing: each conversation id maps to one backend, and to the same one
for as long as it is healthy; when it is not, to the next one on the ring."""

import bisect
import hashlib
from typing import Dict, List, Sequence

VIRTUAL_NODES = 64


def _point(value: str) -> int:
    return int.from_bytes(hashlib.blake2b(value.encode("utf-8"), digest_size=8).digest(), "big")


class HashRing:
    """Backends placed on a hash ring, each at many points so load spreads evenly."""

    def __init__(self, nodes: Sequence[str], virtual_nodes: int = VIRTUAL_NODES) -> None:
        if not nodes:
            raise ValueError("a hash ring needs at least one node")
        self.nodes = list(dict.fromkeys(nodes))
        owners: Dict[int, str] = {}
        for node in self.nodes:
            for i in range(virtual_nodes):
                owners[_point(f"{node}#{i}")] = node
        self._points = sorted(owners)
        self._owners = [owners[p] for p in self._points]

    def order(self, key: str) -> List[str]:
        """Every backend, in the order to try them for this key: its owner first."""
        start = bisect.bisect(self._points, _point(key)) % len(self._points)
        seen: List[str] = []
        for i in range(len(self._points)):
            node = self._owners[(start + i) % len(self._points)]
            if node not in seen:
                seen.append(node)
                if len(seen) == len(self.nodes):
                    break
        return seen
