"""A /metrics body rendered by prometheus-client once, with one family of ages written per scrape.

Rendering a few thousand samples costs milliseconds; a scrape of a fresh cache should cost
microseconds. The families are encoded once (by the encoder `choose_encoder` picked, so the bytes
are prometheus-client's own); only the samples of the age family are left open, and each scrape
writes them as `now - value_at`, formatted as prometheus-client formats a sample value.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

Encoder = Callable[[Collector], bytes]
_format_value: Callable[[float], str] = floatToGoString  # how prometheus-client writes a sample value
_ZERO = b"0.0"  # floatToGoString(0.0): the placeholder each age sample is rendered with


class _Families:
    """Already built families, as a prometheus-client collector."""

    def __init__(self, families: Sequence[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        return self._families


@dataclass(frozen=True)
class Rendered:
    """An encoded exposition whose age samples are written at each scrape."""

    head: bytes  # every family before the age samples, and the age family's HELP/TYPE lines
    ages: tuple[tuple[bytes, float], ...]  # (the sample line up to its value, the wall time it counts from)
    tail: bytes  # every family after, and the format's end (`# EOF` in OpenMetrics)

    def body(self, now: float) -> bytes:
        """The exposition at wall time `now`."""
        parts = [self.head]
        written: dict[float, bytes] = {}  # the series of one refresh share their value_at
        for prefix, since in self.ages:
            value = written.get(since)
            if value is None:
                value = written[since] = _format_value(max(0.0, now - since)).encode() + b"\n"
            parts.append(prefix)
            parts.append(value)
        parts.append(self.tail)
        return b"".join(parts)


def render(families: Sequence[Metric], encoder: Encoder, ages: str, since: Callable[[Sample], float]) -> Rendered:
    """`families` as `encoder` writes them, except that each sample of the family named `ages` is
    written per scrape as `now - since(sample)` (never below 0)."""
    index = next(i for i, family in enumerate(families) if family.name == ages)
    eof = encoder(_Families(()))
    age_family = families[index]
    zeroed = copy.copy(age_family)
    zeroed.samples = [sample._replace(value=0.0) for sample in age_family.samples]
    lines = encoder(_Families((zeroed,))).removesuffix(eof).split(b"\n")[:-1]
    count = len(age_family.samples)
    header, sample_lines = lines[: len(lines) - count], lines[len(lines) - count :]
    open_lines = []
    for line, sample in zip(sample_lines, age_family.samples, strict=True):
        if not line.endswith(b" " + _ZERO):
            raise ValueError(f"cannot leave the value of {line!r} open: it does not end with ' {_ZERO.decode()}'")
        open_lines.append((line[: -len(_ZERO)], since(sample)))
    head = encoder(_Families(families[:index])).removesuffix(eof) + b"".join(line + b"\n" for line in header)
    return Rendered(head, tuple(open_lines), encoder(_Families(families[index + 1 :])))
