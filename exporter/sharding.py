"""Which shard owns a repository: rendezvous (highest random weight) hashing over a stable hash.

Each repository gets a weight for every shard index, a hash of the index and its case-folded
`owner/name`; the shard with the highest weight owns it. Every process computes the same owner
from the name alone, so shards need no coordination, and going from N to N+1 shards moves only
the repositories whose new shard outweighs their old owner: about 1/(N+1) of them, all onto the
new shard, none between the shards that stay. The hash is blake2b, the same in every process and
on every machine (Python's `hash()` is salted per process and would give each shard its own answer).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass


def weight(repo: str, index: int) -> int:
    """The 64-bit rendezvous weight of `repo` (case-folded, as GitHub names ignore case) for shard `index`."""
    digest = hashlib.blake2b(f"{index}\0{repo.casefold()}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def owner_of(repo: str, shards: int) -> int:
    """The index, from 0 to `shards` - 1, of the shard that owns `repo`."""
    if shards < 1:
        raise ValueError(f"shards must be at least 1, not {shards}")
    return max(range(shards), key=lambda index: weight(repo, index))


def owned(repos: Iterable[str], index: int, shards: int) -> tuple[str, ...]:
    """The repositories of `repos` that shard `index` of `shards` owns, in their order."""
    return Shard(index, shards).select(repos)


@dataclass(frozen=True)
class Shard:
    """This process's place among the shards: index `index` of `count`."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError(f"shard index {self.index} is not in 0..{self.count - 1}")

    def owns(self, repo: str) -> bool:
        """True when this shard refreshes `repo`."""
        return self.count == 1 or owner_of(repo, self.count) == self.index

    def select(self, repos: Iterable[str]) -> tuple[str, ...]:
        """The repositories of `repos` this shard owns, in their order."""
        return tuple(repo for repo in repos if self.owns(repo))


def sharded(repos: Callable[[], Sequence[str]], shard: Shard) -> Callable[[], Sequence[str]]:
    """The repository set of a refresh: what `repos` answers at that refresh, that this shard owns."""
    if shard.count == 1:
        return repos
    return lambda: shard.select(repos())
