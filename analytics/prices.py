"""A user-supplied price table, for estimating cost from token counts next to the platform's ``list_cost``.

No price is built in: the platform's ``list_cost`` is the authoritative figure, and an estimate exists only when
the user gives ``--prices FILE``. Prices are per million tokens, in one currency, for the four token counts of a
model request, plus optionally: ``cache_creation_1h`` (1-hour cache writes; without it they are priced as
5-minute writes, ``cache_creation``), ``fast`` (the multiplier of every token price for requests that ran at
``speed: fast``: a number, or an object per token count) and, for the whole table, ``web_search`` (per 1,000
web search requests). JSON::

    {"currency": "USD", "web_search": 10,
     "models": {"claude-sonnet-4-6": {"input": 3, "output": 15, "cache_read": 0.3, "cache_creation": 3.75,
                                      "cache_creation_1h": 6, "fast": 6},
                "claude-haiku-*":   {"input": 1, "output": 5, "cache_read": 0.1, "cache_creation": 1.25}}}

or CSV with a header ``model,input,output,cache_read,cache_creation`` (and optionally ``cache_creation_1h``,
``fast``, ``web_search``, ``currency``). A model name may be a shell-style pattern (``*``, ``?``); an exact name
wins over a pattern, a longer pattern over a shorter.
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
OPTIONAL = ("cache_creation_1h", "fast", "web_search")
# Accepted spellings of each field (the API's token count names work too).
_ALIASES = {
    "input": ("input", "input_tokens"),
    "output": ("output", "output_tokens"),
    "cache_read": ("cache_read", "cache_read_input_tokens"),
    "cache_creation": ("cache_creation", "cache_creation_input_tokens", "cache_write"),
    "cache_creation_1h": ("cache_creation_1h", "cache_creation_1h_input_tokens", "cache_write_1h"),
}


@dataclass(frozen=True)
class Price:
    """Per million tokens."""

    pattern: str
    input: Decimal
    output: Decimal
    cache_read: Decimal
    cache_creation: Decimal  # 5-minute cache writes
    cache_creation_1h: Decimal | None = None  # 1-hour cache writes (None: priced as 5-minute writes)
    fast: tuple[Decimal, Decimal, Decimal, Decimal] = (Decimal(1),) * 4  # multipliers at speed fast, per FIELDS

    @property
    def one_hour(self) -> Decimal:
        return self.cache_creation if self.cache_creation_1h is None else self.cache_creation_1h


@dataclass(frozen=True)
class PriceTable:
    currency: str
    prices: tuple[Price, ...]
    source: str = ""
    web_search: Decimal | None = None  # per 1,000 web search requests

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
    one_hour = [a for a in _ALIASES["cache_creation_1h"] if entry.get(a) not in (None, "")]
    one_hour_price = _amount(entry[one_hour[0]], f"{where}: model {pattern!r} cache_creation_1h") if one_hour \
        else None
    fast = _fast(entry.get("fast"), f"{where}: model {pattern!r} fast")
    known = {alias for aliases in _ALIASES.values() for alias in aliases} | {"model", "currency", "fast",
                                                                              "web_search"}
    unknown = sorted(set(entry) - known)
    if unknown:
        raise ConfigError(f"{where}: model {pattern!r} has unknown field(s) {', '.join(map(repr, unknown))}; "
                          f"expected {', '.join(FIELDS + OPTIONAL)}")
    return Price(pattern, **values, cache_creation_1h=one_hour_price, fast=fast)


def _fast(value: Any, where: str) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """The fast-mode multipliers: none (1), one number for every token price, or an object per token count."""
    if value in (None, ""):
        return (Decimal(1),) * 4
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(FIELDS))
        if unknown:
            raise ConfigError(f"{where}: unknown field(s) {', '.join(map(repr, unknown))}; "
                              f"expected {', '.join(FIELDS)}")
        return tuple(_amount(value.get(name, 1), f"{where} {name}") for name in FIELDS)  # type: ignore[return-value]
    multiplier = _amount(value, where)
    return (multiplier,) * 4


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
    web_search = data.get("web_search")
    search = None if web_search in (None, "") else _amount(web_search, f"{source}: web_search (per 1,000)")
    return PriceTable(currency.strip().upper(), tuple(prices), source, search)


def _parse_csv(text: str, source: str) -> PriceTable:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "model" not in [f.strip() for f in reader.fieldnames]:
        raise ConfigError(f"{source}: expected JSON, or CSV with a header model,{','.join(FIELDS)}")
    prices, currencies, searches = [], set(), set()
    for line, row in enumerate(reader, start=2):
        entry = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        pattern = entry.get("model", "")
        if not pattern:
            raise ConfigError(f"{source}: line {line} has no model")
        if entry.get("currency"):
            currencies.add(entry["currency"].upper())
        if entry.get("web_search"):
            searches.add(_amount(entry["web_search"], f"{source}: line {line} web_search (per 1,000)"))
        prices.append(_price(pattern, entry, f"{source}: line {line}"))
    if len(searches) > 1:
        raise ConfigError(f"{source}: several web_search prices; web search is priced once for the table")
    if not prices:
        raise ConfigError(f"{source}: no prices in the file")
    if len(currencies) > 1:
        raise ConfigError(f"{source}: prices in several currencies ({', '.join(sorted(currencies))}); use one")
    return PriceTable(currencies.pop() if currencies else "USD", tuple(prices), source,
                      searches.pop() if searches else None)


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
