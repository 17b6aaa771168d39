"""The API's monetary amounts (``list_cost``, a budget's ``max_list_cost``): ``{"amount": "2500", "currency": "USD"}``.

The API documents ``amount`` as an integer decimal string in the currency's minor units: "2500" is $25.00, "50" is
fifty cents; a string, so no float rounding is ever applied. Every reader of amounts (transcripts, analytics) goes
through :func:`money_amount`, which turns one into major units as an exact Decimal.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

MICRO = Decimal("0.000001")

# ISO 4217 minor-unit exponents other than 2 (the API prices in USD today).
CURRENCY_EXPONENTS = {"JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3}


def money_amount(value: Any) -> tuple[Decimal | None, str | None]:
    """A monetary amount object of the API as (major units, currency); (None, ...) when it is not one.

    An integer string is minor units, as documented. A string with a decimal point cannot be minor units and is
    read as major units ("0.105944" is $0.105944), so an amount given that way is not misread a hundredfold.
    """
    if not isinstance(value, dict):
        return None, None
    amount, currency = value.get("amount"), value.get("currency")
    currency = currency.upper() if isinstance(currency, str) and currency else None
    if isinstance(amount, bool) or not isinstance(amount, str | int):
        return None, currency
    raw = str(amount).strip()
    try:
        parsed = Decimal(raw)
    except InvalidOperation:
        return None, currency
    if not parsed.is_finite():
        return None, currency
    if "." not in raw and "e" not in raw.lower():
        parsed = parsed.scaleb(-CURRENCY_EXPONENTS.get(currency or "USD", 2))
    if abs(parsed) >= Decimal(10) ** 14:
        return None, currency
    return parsed.quantize(MICRO), currency


def minor_units(amount: Decimal, currency: str = "USD") -> str:
    """An amount in major units as the API writes it: an integer string of minor units (rounded half up)."""
    exponent = CURRENCY_EXPONENTS.get(currency, 2)
    return str(int(amount.scaleb(exponent).quantize(Decimal(1), rounding="ROUND_HALF_UP")))


SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
MAX_DECIMALS = 6  # list costs and estimates are kept to the micro unit


def format_money(amount: Any, currency: str | None = "USD") -> str:
    """An amount in major units for people, in the one format every output uses (tables, transcripts, HTML).

    The currency's symbol before the number for USD, EUR, GBP and JPY (``$1,234.50``, ``€0.32``), else its code
    after it (``12.00 CHF``); no currency means the API's USD. Thousands separators; the currency's minor units
    (two decimals for most) when the amount is exact to them, else every significant decimal up to six
    (``$0.105944``), so a sub-cent cost is never shown as zero. Not a number: ``—``.
    """
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return "—"
    if not value.is_finite():
        return "—"
    code = (currency or "USD").upper()
    minor = CURRENCY_EXPONENTS.get(code, 2)
    value = value.quantize(Decimal(1).scaleb(-MAX_DECIMALS))
    exponent = int(value.normalize().as_tuple().exponent)
    decimals = max(minor, -exponent)  # the minor units, or more when the amount has more
    text = f"{abs(value):,.{decimals}f}"
    sign = "-" if value < 0 else ""
    symbol = SYMBOLS.get(code)
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {code}"
