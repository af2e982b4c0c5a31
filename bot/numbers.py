"""Numbers as the room's language writes them: "7,5" and "1.234" in German, "7.5" and "1,234" in English."""
from __future__ import annotations



def format_decimal(value: float, format: str, locale: str) -> str:
    """Babel's, imported when a number is first shown: its locale data stays out of an idle bot (issue 15)."""
    from babel.numbers import format_decimal as babel_format

    return babel_format(value, format=format, locale=locale)


def format_number(value: float, lang: str, digits: int = 1) -> str:
    """value rounded to at most `digits` decimals, without trailing zeros (7.50 -> "7,5", 2.0 -> "2")."""
    pattern = "#,##0" + ("." + "#" * digits if digits > 0 else "")
    return format_decimal(value, format=pattern, locale=lang)


def format_fixed(value: float, lang: str, digits: int = 1) -> str:
    """value with exactly `digits` decimals (7.0 -> "7,0"), for columns that line up."""
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return format_decimal(value, format=pattern, locale=lang)
