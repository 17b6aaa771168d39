"""A user-supplied price table, for estimating cost from token counts next to the platform's ``list_cost``.

No price is built in: the platform's ``list_cost`` is the authoritative figure, and an estimate exists only when
the user gives ``--prices FILE``. Prices are per million tokens, in one currency, for the four token counts of a
model request. JSON::

    {"currency": "USD",
     "models": {"claude-sonnet-4-6": {"input": 3, "output": 15, "cache_read": 0.3, "cache_creation": 3.75},
                "claude-haiku-*":   {"input": 1, "output": 5, "cache_read": 0.1, "cache_creation": 1.25}}}

or CSV with a header ``model,input,output,cache_read,cache_creation`` (and optionally ``currency``). A model name
may be a shell-style pattern (``*``, ``?``); an exact name wins over a pattern, a longer pattern over a shorter.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from recorder.errors import ConfigError

FIELDS = ("input", "output", "cache_read", "cache_creation")
# Accepted spellings of each field (the API's token count names work too).
_ALIASES = {
    "input": ("input", "input_tokens"),
    "output": ("output", "output_tokens"),
    "cache_read": ("cache_read", "cache_read_input_tokens"),
    "cache_creation": ("cache_creation", "cache_creation_input_tokens", "cache_write"),
}


@dataclass(frozen=True)
class Price:
    """Per million tokens."""

    pattern: str
    input: Decimal
    output: Decimal
    cache_read: Decimal
    cache_creation: Decimal


@dataclass(frozen=True)
class PriceTable:
    currency: str
    prices: tuple[Price, ...]
    source: str = ""

    def lookup(self, model: str | None) -> Price | None:
        """The price of ``model``: an exact entry, else the longest matching pattern, else None."""
        if not model:
            return None
        for price in self.prices:
            if price.pattern == model:
                return price
        matches = [p for p in self.prices if fnmatch.fnmatchcase(model, p.pattern)]
        return max(matches, key=lambda p: len(p.pattern)) if matches else None


def _amount(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or value is None or value == "":
        raise ConfigError(f"{where}: expected a price per million tokens, got {value!r}")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ConfigError(f"{where}: expected a price per million tokens, got {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise ConfigError(f"{where}: a price must be a non-negative number, got {value!r}")
    return amount


def _price(pattern: str, entry: dict[str, Any], where: str) -> Price:
    values = {}
    for name in FIELDS:
        found = [alias for alias in _ALIASES[name] if alias in entry and entry[alias] not in (None, "")]
        if not found:
            raise ConfigError(f"{where}: model {pattern!r} has no {name!r} price (per million tokens)")
        values[name] = _amount(entry[found[0]], f"{where}: model {pattern!r} {name}")
    known = {alias for aliases in _ALIASES.values() for alias in aliases} | {"model", "currency"}
    unknown = sorted(set(entry) - known)
    if unknown:
        raise ConfigError(f"{where}: model {pattern!r} has unknown field(s) {', '.join(map(repr, unknown))}; "
                          f"expected {', '.join(FIELDS)}")
    return Price(pattern, **values)


def parse(text: str, source: str = "prices") -> PriceTable:
    """A price table from JSON or CSV text (JSON when it starts with ``{``)."""
    if text.lstrip().startswith("{"):
        return _parse_json(text, source)
    return _parse_csv(text, source)


def _parse_json(text: str, source: str) -> PriceTable:
    try:
        data = json.loads(text)
    except ValueError as err:
        raise ConfigError(f"{source}: not valid JSON ({err})") from None
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, dict) or not models:
        raise ConfigError(f'{source}: expected {{"currency": "USD", "models": {{"MODEL": {{"input": ..., ...}}}}}}')
    currency = data.get("currency", "USD")
    if not isinstance(currency, str) or not currency.strip():
        raise ConfigError(f"{source}: currency must be a code like USD")
    prices = []
    for pattern, entry in models.items():
        if not isinstance(entry, dict):
            raise ConfigError(f"{source}: model {pattern!r} must map to an object of prices")
        prices.append(_price(pattern, entry, source))
    return PriceTable(currency.strip().upper(), tuple(prices), source)


def _parse_csv(text: str, source: str) -> PriceTable:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "model" not in [f.strip() for f in reader.fieldnames]:
        raise ConfigError(f"{source}: expected JSON, or CSV with a header model,{','.join(FIELDS)}")
    prices, currencies = [], set()
    for line, row in enumerate(reader, start=2):
        entry = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        pattern = entry.get("model", "")
        if not pattern:
            raise ConfigError(f"{source}: line {line} has no model")
        if entry.get("currency"):
            currencies.add(entry["currency"].upper())
        prices.append(_price(pattern, entry, f"{source}: line {line}"))
    if not prices:
        raise ConfigError(f"{source}: no prices in the file")
    if len(currencies) > 1:
        raise ConfigError(f"{source}: prices in several currencies ({', '.join(sorted(currencies))}); use one")
    return PriceTable(currencies.pop() if currencies else "USD", tuple(prices), source)


def load(path: str | Path) -> PriceTable:
    """Read a price table file; ConfigError (one line) when it is missing or malformed."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"--prices {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"--prices {path}: cannot read it ({err})") from None
    return parse(text, str(path))
