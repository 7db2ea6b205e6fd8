"""Values: the codec between Python values and the JSON that durable stores.

Workflow arguments and outputs, step outputs, messages, events and child workflows' inputs and
outputs are stored as jsonb, readable from psql and from any language. A value made only of
JSON types (None, bool, int, finite float, str, list, dict with str keys) is stored exactly as
it is. Other values are stored as a tag, a JSON object with the key "$type":

    datetime(2026, 12, 3, 10, tzinfo=timezone.utc)
        -> {"$type": "datetime", "value": "2026-12-03T10:00:00+00:00"}

| Python value | stored as |
| --- | --- |
| `datetime` | `{"$type": "datetime", "value": ISO 8601}`, plus `"zone": "Europe/Paris"` for a `zoneinfo.ZoneInfo` time zone (naive datetimes stay naive) |
| `date`, `time` | `{"$type": "date" or "time", "value": ISO 8601}` |
| `timedelta` | `{"$type": "timedelta", "value": "5400.25"}`: seconds as a decimal string (exact) |
| `Decimal` | `{"$type": "decimal", "value": "12.50"}` (str(d); NaN is refused) |
| `UUID` | `{"$type": "uuid", "value": "..."}` |
| `bytes`, `bytearray` | `{"$type": "bytes" or "bytearray", "value": base64 (RFC 4648, padded)}` |
| `tuple` | `{"$type": "tuple", "value": [...]}` |
| `set`, `frozenset` | `{"$type": "set" or "frozenset", "value": [...]}`, items in a fixed order |
| dict with a key that is not a str | `{"$type": "dict", "value": [[key, value], ...]}` |
| dict with a str key starting with "$" | `{"$type": "object", "value": {...}}` (escaped, so user data is never read as a tag) |
| `enum.Enum` member | `{"$type": "enum", "class": "module:QualName", "value": member.value}` |
| dataclass | `{"$type": "dataclass", "class": "module:QualName", "value": {field: value}}` (init fields) |
| `typing.NamedTuple` | `{"$type": "namedtuple", "class": "module:QualName", "value": {field: value}}` |
| pydantic (v2) model | `{"$type": "pydantic", "class": "module:QualName", "value": model.model_dump_json()}` (the model's own JSON, not tagged inside) |

Values inside tags (a tuple's items, a dataclass's fields, ...) are encoded the same way, so
they nest. A class is named "module:QualName" (or the name it was registered under with
register): decoding imports the module and takes the attribute, and uses it only if it is a
class of the expected kind (a dataclass for "dataclass", an Enum for "enum", ...): decoding
never calls anything else. A class defined inside a function cannot be imported, and is
refused when encoded unless registered. Subclasses of str, int, float, list and dict (other
than enums and named tuples) are stored as their base type.

Everything else (a function, a plain object, a float NaN or infinity, a generator) is refused
with InvalidValue naming what and where ("$" is the value, "$.key", "$[0]" its parts), at the
call that was given it (app.enqueue, app.send, durable.set_event, ...); a step returning it is
that step's failed try.

A value written by another language is decoded the same way: objects with a "$type" key are
tags (an unknown type raises InvalidValue); other objects are plain dicts.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import importlib
import json
import math
import re
import sys
import threading
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from .errors import InvalidValue

TYPE = "$type"
ARGS = "$args"
KWARGS = "$kwargs"

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_lock = threading.Lock()
_by_name: dict[str, type] = {}
_by_class: dict[type, str] = {}
_importable: dict[type, bool] = {}


class _Refused(Exception):
    """Internal: a part of a value cannot be encoded or decoded; path grows as it unwinds."""

    def __init__(self, reason: str, path: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.path = path

    def under(self, part: str) -> _Refused:
        self.path = part + self.path
        return self


# -- classes -------------------------------------------------------------------------------------


def register(cls: type, name: str | None = None) -> type:
    """Register cls (a dataclass, NamedTuple, Enum, pydantic model or exception class) under
    name (default "module:QualName"), process-wide: values and exceptions of cls are stored
    with that name and decoded back to cls by it, without an import. Needed for a class defined
    inside a function, or to keep a stored name when a class moves. Returns cls (usable as a
    decorator). ValueError when the name is taken by another class."""
    if not isinstance(cls, type):
        raise TypeError(f"register takes a class, not {type(cls).__name__}")
    key = name or f"{cls.__module__}:{cls.__qualname__}"
    with _lock:
        other = _by_name.get(key)
        if other is not None and other is not cls:
            raise ValueError(f"the name {key!r} is registered for another class, {other!r}")
        _by_name[key] = cls
        _by_class[cls] = key
    return cls


def class_name(cls: type) -> str:
    """The name cls is stored under: its registered name, else "module:QualName"."""
    return _by_class.get(cls) or f"{cls.__module__}:{cls.__qualname__}"


def _lookup(module: str, qualname: str) -> Any:
    obj: Any = sys.modules.get(module)
    if obj is None:
        obj = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def resolve(name: Any, accept: Callable[[type], bool]) -> type | None:
    """The class stored as name ("module:QualName" or a registered name) when it is a class
    that accept(cls) accepts, else None. Imports the module when it is not loaded yet (a
    module that fails to import gives None); calls nothing it finds."""
    if not isinstance(name, str):
        return None
    cls = _by_name.get(name)
    if cls is None:
        module, _, qualname = name.partition(":")
        if not (_NAME.fullmatch(module) and _NAME.fullmatch(qualname)):
            return None
        try:
            cls = _lookup(module, qualname)
        except Exception:  # noqa: BLE001 - an unknown or broken module: not resolvable
            return None
    if not isinstance(cls, type) or not accept(cls):
        return None
    return cls


def _checked_name(cls: type) -> str:
    """class_name(cls), after checking that it resolves back to cls (else _Refused)."""
    name = _by_class.get(cls)
    if name is not None:
        return name
    ok = _importable.get(cls)
    if ok is None:
        try:
            ok = _lookup(cls.__module__, cls.__qualname__) is cls
        except Exception:  # noqa: BLE001
            ok = False
        _importable[cls] = ok
    if not ok:
        raise _Refused(f"class {cls.__module__}:{cls.__qualname__} cannot be imported by that "
                       "name (defined inside a function?), so it could not be decoded: define "
                       "it at module level or register it (durable.register_type)")
    return f"{cls.__module__}:{cls.__qualname__}"


def _pydantic_model() -> type | None:
    module = sys.modules.get("pydantic")
    return getattr(module, "BaseModel", None) if module is not None else None


def _is_namedtuple(cls: type) -> bool:
    return issubclass(cls, tuple) and isinstance(getattr(cls, "_fields", None), tuple)


def _is_dataclass(cls: type) -> bool:
    return dataclasses.is_dataclass(cls)


def _is_enum(cls: type) -> bool:
    return issubclass(cls, enum.Enum)


def _is_pydantic(cls: type) -> bool:
    model = _pydantic_model()
    return model is not None and issubclass(cls, model)


# -- encode --------------------------------------------------------------------------------------


def _key_part(key: str) -> str:
    return f".{key}" if key.isidentifier() else f"[{json.dumps(key)}]"


def _seconds_text(td: timedelta) -> str:
    micro = (td.days * 86400 + td.seconds) * 1_000_000 + td.microseconds
    whole, frac = divmod(abs(micro), 1_000_000)
    text = str(whole) + (f".{frac:06d}".rstrip("0") if frac else "")
    return "-" + text if micro < 0 else text


def _tag(kind: str, value: Any, cls: type | None = None) -> dict[str, Any]:
    if cls is None:
        return {TYPE: kind, "value": value}
    return {TYPE: kind, "class": _checked_name(cls), "value": value}


def _enc_list(items: Any) -> list[Any]:
    out = []
    for i, item in enumerate(items):
        try:
            out.append(_enc(item))
        except _Refused as refused:
            raise refused.under(f"[{i}]") from None
    return out


def _enc_fields(pairs: Any) -> dict[str, Any]:
    out = {}
    for key, item in pairs:
        try:
            out[key] = _enc(item)
        except _Refused as refused:
            raise refused.under(_key_part(key)) from None
    return out


def _enc_dict(value: dict[Any, Any]) -> Any:
    if not all(type(key) is str for key in value):
        if all(isinstance(key, str) for key in value):  # str subclasses: as their text
            return _enc_dict({str.__str__(k): v for k, v in value.items()})
        pairs = []
        for i, (key, item) in enumerate(value.items()):
            try:
                pairs.append([_enc(key), _enc(item)])
            except _Refused as refused:
                raise refused.under(f"(item {i})") from None
        return {TYPE: "dict", "value": pairs}
    escape = False
    out: dict[str, Any] | None = None
    for i, (key, item) in enumerate(value.items()):
        if key.startswith("$"):
            escape = True
        try:
            encoded = _enc(item)
        except _Refused as refused:
            raise refused.under(_key_part(key)) from None
        if out is None and encoded is not item:
            out = dict(list(value.items())[:i])
        if out is not None:
            out[key] = encoded
    result = value if out is None else out
    return {TYPE: "object", "value": result} if escape else result


def _enc(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        if math.isfinite(value):
            return value
        raise _Refused(f"the float {value!r} (JSON has no NaN or infinity)")
    if kind is list:
        out = None
        for i, item in enumerate(value):
            try:
                encoded = _enc(item)
            except _Refused as refused:
                raise refused.under(f"[{i}]") from None
            if out is None and encoded is not item:
                out = value[:i]
            if out is not None:
                out.append(encoded)
        return value if out is None else out
    if kind is dict:
        return _enc_dict(value)
    if isinstance(value, enum.Enum):
        try:
            inner = _enc(value.value)
        except _Refused as refused:
            raise refused.under(".value") from None
        return _tag("enum", inner, kind)
    if isinstance(value, datetime):
        tagged = {TYPE: "datetime", "value": value.isoformat()}
        if isinstance(value.tzinfo, ZoneInfo) and value.tzinfo.key:
            tagged["zone"] = value.tzinfo.key
        return tagged
    if isinstance(value, date):
        return _tag("date", value.isoformat())
    if isinstance(value, time):
        return _tag("time", value.isoformat())
    if isinstance(value, timedelta):
        return _tag("timedelta", _seconds_text(value))
    if isinstance(value, Decimal):
        if value.is_nan():
            raise _Refused("a Decimal NaN")
        return _tag("decimal", str(value))
    if isinstance(value, UUID):
        return _tag("uuid", str(value))
    if isinstance(value, (bytes, bytearray)):
        return _tag("bytearray" if isinstance(value, bytearray) else "bytes",
                    base64.b64encode(value).decode("ascii"))
    if isinstance(value, tuple):
        if _is_namedtuple(kind):
            names: tuple[str, ...] = getattr(value, "_fields")  # noqa: B009 - a NamedTuple
            return _tag("namedtuple", _enc_fields(zip(names, value)), kind)
        return _tag("tuple", _enc_list(value))
    if isinstance(value, (set, frozenset)):
        items = _enc_list(value)
        items.sort(key=lambda item: json.dumps(item, sort_keys=True))
        return _tag("frozenset" if isinstance(value, frozenset) else "set", items)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = ((f.name, getattr(value, f.name)) for f in dataclasses.fields(value) if f.init)
        return _tag("dataclass", _enc_fields(fields), kind)
    model = _pydantic_model()
    if model is not None and isinstance(value, model):
        name = _checked_name(kind)
        try:
            dumped = json.loads(value.model_dump_json())  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001 - pydantic's own refusal, reported
            raise _Refused(f"the pydantic model {kind.__qualname__} cannot be dumped to JSON: "
                           f"{exc}") from None
        return {TYPE: "pydantic", "class": name, "value": dumped}
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        return _enc(float.__float__(value))
    if isinstance(value, list):
        return _enc(list(value))
    if isinstance(value, dict):
        return _enc_dict(dict(value))
    raise _Refused(f"{_describe(value)} is not a value durable can store (JSON types, datetime, "
                   "date, time, timedelta, Decimal, UUID, bytes, tuple, set, Enum, dataclass, "
                   "NamedTuple, pydantic model)")


def _describe(value: Any) -> str:
    kind = type(value)
    name = kind.__qualname__ if kind.__module__ == "builtins" else \
        f"{kind.__module__}.{kind.__qualname__}"
    if callable(value) and hasattr(value, "__qualname__"):
        return f"a {name} ({value.__qualname__})"
    return f"a value of type {name}"


def _refusal(what: str, refused: _Refused) -> InvalidValue:
    return InvalidValue(f"{what} cannot be stored: {refused.reason} at ${refused.path}")


def encode(value: Any, what: str = "the value") -> Any:
    """value as JSON-able Python data (see the module's table): a plain JSON value is returned
    as it is (the same object), others as tags. Raises InvalidValue naming what and where
    ("$.key[0]") for a value it cannot store, or one nested too deep (or holding itself)."""
    try:
        return _enc(value)
    except _Refused as refused:
        raise _refusal(what, refused) from None
    except RecursionError:
        raise InvalidValue(f"{what} cannot be stored: it is nested too deep, or holds "
                           "itself") from None


def encode_input(args: Any, kwargs: dict[str, Any] | None = None,
                 what: str = "the workflow's input") -> Any:
    """A workflow's input from its arguments: the list of encoded positional arguments, or
    {"$args": [...], "$kwargs": {name: value}} when there are keyword arguments. InvalidValue
    naming the argument when one cannot be stored."""
    try:
        encoded = _enc_list(args)
        if not kwargs:
            return encoded
        return {ARGS: encoded, KWARGS: _enc_fields(kwargs.items())}
    except _Refused as refused:
        if not kwargs or refused.path.startswith("["):
            raise _refusal(what, refused) from None
        raise InvalidValue(f"{what} cannot be stored: {refused.reason} at "
                           f"$kwargs{refused.path}") from None
    except RecursionError:
        raise InvalidValue(f"{what} cannot be stored: it is nested too deep, or holds "
                           "itself") from None


# -- decode --------------------------------------------------------------------------------------


def _jsonb_key(key: str) -> tuple[int, bytes]:
    data = key.encode()
    return len(data), data


def _dec(value: Any, order: bool) -> Any:
    kind = type(value)
    if kind is list:
        out = []
        for i, item in enumerate(value):
            try:
                out.append(_dec(item, order))
            except _Refused as refused:
                raise refused.under(f"[{i}]") from None
        return out
    if kind is dict:
        if TYPE in value:
            try:
                return _dec_tag(value, order)
            except _Refused:
                raise
            except Exception as exc:  # noqa: BLE001 - a malformed tag, reported
                raise _Refused(f"a malformed {value.get(TYPE)!r} tag ({exc})") from None
        keys = sorted(value, key=_jsonb_key) if order else value
        fields: dict[str, Any] = {}
        for key in keys:
            try:
                fields[key] = _dec(value[key], order)
            except _Refused as refused:
                raise refused.under(_key_part(key)) from None
        return fields
    if order and kind is float and value == 0.0:
        return 0.0  # jsonb's numeric has no negative zero: -0.0 is stored as 0.0
    if order and kind is float and value.is_integer() and "e" in repr(value):
        return int(Decimal(repr(value)))  # the decimal JSON wrote, as jsonb reads it
    return value


def _dec_items(items: Any, order: bool) -> list[Any]:
    if not isinstance(items, list):
        raise TypeError(f"its value is a {type(items).__name__}, not a list")
    out = []
    for i, item in enumerate(items):
        try:
            out.append(_dec(item, order))
        except _Refused as refused:
            raise refused.under(f".value[{i}]") from None
    return out


def _dec_fields(fields: Any, order: bool) -> dict[str, Any]:
    if not isinstance(fields, dict):
        raise TypeError(f"its value is a {type(fields).__name__}, not an object")
    out = {}
    for key in (sorted(fields, key=_jsonb_key) if order else fields):
        try:
            out[key] = _dec(fields[key], order)
        except _Refused as refused:
            raise refused.under(".value" + _key_part(key)) from None
    return out


def _class(tag: dict[str, Any], kind: str, accept: Callable[[type], bool]) -> type:
    cls = resolve(tag.get("class"), accept)
    if cls is None:
        raise _Refused(f"the class {tag.get('class')!r} of a {kind!r} tag is not an importable "
                       f"or registered {kind} class")
    return cls


def _datetime(text: str) -> datetime:
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)


def _dec_tag(tag: dict[str, Any], order: bool) -> Any:
    kind = tag[TYPE]
    value: Any = tag.get("value")
    if kind == "object":
        return _dec_fields(value, order)
    if kind == "tuple":
        return tuple(_dec_items(value, order))
    if kind == "set":
        return set(_dec_items(value, order))
    if kind == "frozenset":
        return frozenset(_dec_items(value, order))
    if kind == "dict":
        return {_dec(k, order): _dec(v, order) for k, v in value}
    if kind == "datetime":
        when = _datetime(value)
        zone = tag.get("zone")
        if zone is not None:
            when = when.astimezone(ZoneInfo(zone))
        return when
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "time":
        return time.fromisoformat(value)
    if kind == "timedelta":
        try:
            micro = Decimal(value) * 1_000_000
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a number of seconds") from None
        return timedelta(microseconds=int(micro))
    if kind == "decimal":
        return Decimal(value)
    if kind == "uuid":
        return UUID(value)
    if kind == "bytes":
        return base64.b64decode(value, validate=True)
    if kind == "bytearray":
        return bytearray(base64.b64decode(value, validate=True))
    if kind == "enum":
        return _class(tag, "enum", _is_enum)(_dec(value, order))
    if kind == "dataclass":
        return _class(tag, "dataclass", _is_dataclass)(**_dec_fields(value, order))
    if kind == "namedtuple":
        return _class(tag, "namedtuple", _is_namedtuple)(**_dec_fields(value, order))
    if kind == "pydantic":
        cls = _class(tag, "pydantic", _is_pydantic)
        return cls.model_validate_json(json.dumps(value))  # type: ignore[attr-defined]
    raise _Refused(f"an unknown type tag {kind!r} (written by a newer client or another "
                   "language?)")


def decode(data: Any, what: str = "the value") -> Any:
    """A stored value (JSON as Python data: dicts, lists, ...) as the Python value it was
    encoded from: tags decoded, everything else as it is, in new lists and dicts (changing
    what it returns never changes data). Raises InvalidValue naming what and where for a tag
    it cannot decode (an unknown type, a class it cannot import, malformed content)."""
    return _decode(data, what, False)


def decode_jsonb(data: Any, what: str = "the value") -> Any:
    """decode(data) as jsonb would give the value back after storing it: object keys in jsonb's
    order (shorter first, then by their bytes), integral floats JSON writes with an exponent
    (1e+16 and up) as the integers jsonb prints, and -0.0 as 0.0; for a value just encoded, so that it equals, in
    type and key order, what a replay will decode from the database."""
    return _decode(data, what, True)


def _decode(data: Any, what: str, order: bool) -> Any:
    try:
        return _dec(data, order)
    except _Refused as refused:
        raise InvalidValue(f"{what} cannot be decoded: {refused.reason} at "
                           f"${refused.path}") from None
    except RecursionError:
        raise InvalidValue(f"{what} cannot be decoded: it is nested too deep") from None


def decode_input(data: Any, what: str = "the workflow's input") -> tuple[list[Any], dict[str, Any]]:
    """A workflow's stored input as (positional arguments, keyword arguments), decoded: an
    object with exactly the keys "$args" (an array) and "$kwargs" (an object) is both; otherwise
    the input is positional only: a JSON array is the arguments, null none, any other value the
    one argument. TypeError for an object with exactly those two keys whose "$args" is not an
    array or whose "$kwargs" is not an object; InvalidValue for a value it cannot decode."""
    if data is None:
        return [], {}
    if type(data) is dict and data.keys() == {ARGS, KWARGS}:
        args, kwargs = data[ARGS], data[KWARGS]
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise TypeError(f'the input {{"{ARGS}": ..., "{KWARGS}": ...}} needs an array for '
                            f'"{ARGS}" and an object for "{KWARGS}", not {type(args).__name__} '
                            f"and {type(kwargs).__name__}")
        return decode(args, what), {k: decode(v, f"{what}, keyword argument {k}")
                                    for k, v in kwargs.items()}
    if type(data) is list:
        return decode(data, what), {}
    return [decode(data, what)], {}


def is_plain(value: Any) -> bool:
    """Whether value is plain JSON that encode stores as it is (no tag anywhere inside)."""
    try:
        encoded = _enc(value)
    except (_Refused, RecursionError):
        return False
    return encoded is value


__all__ = ["ARGS", "KWARGS", "TYPE", "class_name", "decode", "decode_input", "decode_jsonb",
           "encode", "encode_input", "is_plain", "register", "resolve"]
