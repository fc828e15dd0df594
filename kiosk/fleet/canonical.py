"""Strict JSON in, canonical JSON out: the bytes a fleet bundle's signature is over.

`canonical_json` is the JSON Canonicalization Scheme, RFC 8785 (JCS), so any implementation (a
JavaScript `JSON.stringify` with sorted keys, a Go or Rust JCS library) reproduces the same bytes:

- no whitespace; object members sorted by their names' UTF-16 code units (RFC 8785 section 3.2.3);
- strings as `JSON.stringify` writes them: `"` and `\\` escaped, \\b \\f \\n \\r \\t in short form, other
  control characters as \\u00xx (lower-case hex), everything else as itself, in UTF-8;
- numbers as ECMAScript's Number.prototype.toString (RFC 8785 section 3.2.2.3): `120.0` is `120`,
  `1e-7` is `1e-7`, `0.000001` is `0.000001`. An integer beyond +-2^53 is refused: other
  implementations read every JSON number as an IEEE double and would not get it back exactly.

`loads_strict` reads what a JavaScript or Go parser would read the same way, and refuses the rest
with a clear message: duplicate member names (parsers disagree on which wins), NaN and Infinity
(not JSON), numbers too large for a double, and escaped lone surrogates (not Unicode text).
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

MAX_SAFE_INTEGER = 2**53 - 1


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise ValueError(f"duplicate member name {name!r}")
        result[name] = value
    return result


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:20]} is too large for a JSON number (an IEEE double)")
    return value


def _integer(text: str) -> int:
    # Before Python's own limit on digits says it in its words; no setting has an integer this long.
    if len(text) > 40:
        raise ValueError(f"integer {text[:20]}... is too long for a JSON number")
    return int(text)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads_strict(raw: bytes) -> Any:
    """The JSON value in `raw` (UTF-8); ValueError with a one-line reason when it is not plain JSON."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text (byte {exc.start})") from None
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_float=_finite, parse_int=_integer,
                           parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise ValueError("not JSON this kiosk reads: nested too deeply") from None
    # A ValueError of the hooks above passes as it is: its message is the reason.
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("a string holds an escaped lone surrogate (\\ud800-\\udfff): not Unicode text") from None
    return value


def _number(value: int | float) -> str:
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise ValueError(f"integer {value} is beyond +-2^53: not exact in every JSON implementation")
        return str(value)
    if not math.isfinite(value):
        raise ValueError(f"{value} is not a JSON number")
    if value == 0:
        return "0"  # -0 too, as in ECMAScript
    if value < 0:
        return "-" + _number(-value)
    # The shortest digits that read back as the same double (Python's repr, as ECMAScript's), then
    # ECMAScript's layout of digits `s` (k of them) and exponent `n`: value = 0.s * 10^n.
    sign, digits, exponent = Decimal(repr(value)).as_tuple()
    s = "".join(map(str, digits)).rstrip("0") or "0"
    n = len(digits) + int(exponent)
    k = len(s)
    if k <= n <= 21:
        return s + "0" * (n - k)
    if 0 < n <= 21:
        return f"{s[:n]}.{s[n:]}"
    if -6 < n <= 0:
        return "0." + "0" * -n + s
    e = n - 1
    mantissa = s if k == 1 else f"{s[0]}.{s[1:]}"
    return f"{mantissa}e{'+' if e > 0 else '-'}{abs(e)}"


def _write(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, (int, float)):
        out.append(_number(value))
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out)
        out.append("]")
    elif isinstance(value, dict):
        if not all(isinstance(name, str) for name in value):
            raise ValueError("a JSON object's member names are strings")
        out.append("{")
        for i, name in enumerate(sorted(value, key=lambda name: name.encode("utf-16-be", "surrogatepass"))):
            if i:
                out.append(",")
            out.append(json.dumps(name, ensure_ascii=False))
            out.append(":")
            _write(value[name], out)
        out.append("}")
    else:
        raise ValueError(f"a {type(value).__name__} is not a JSON value")


def canonical_json(value: Any) -> bytes:
    """`value` (as `json.loads` makes them: dict, list, str, int, float, bool, None) in RFC 8785 form."""
    out: list[str] = []
    try:
        _write(value, out)
        return "".join(out).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("a string holds a lone surrogate: not Unicode text") from None
    except RecursionError:
        raise ValueError("nested too deeply") from None
