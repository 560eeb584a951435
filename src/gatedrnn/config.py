"""One config dialect for every run: a dataclass whose fields carry their help, their check and their choices.

A config is a ``Config`` dataclass whose fields are made with ``option``::

    @dataclass
    class MyConfig(Config):
        hidden_size: int = option(16, "hidden units per layer", check=check_int)
        cell: str = option("lstm", "recurrent cell", choices=lambda: sorted(CELLS))

From that one declaration come ``validate()`` (every check, one ``UserError`` line each; the sizes every config
names alike bounded by ``SIZE_LIMITS``), ``to_dict``/``from_dict`` (unknown keys refused), ``describe()`` (the
aligned listing printed at the start of a run) and, through ``add_config_flags``, the command-line flags
(``--hidden-size``), each with its help text and its default. A config file (``load_config_file``: JSON, or TOML;
one line for a duplicated key, bytes that are not UTF-8, absurd nesting or digits) holds the same names; flags
override it. Nothing here knows any particular config: the applications declare theirs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
import types
import typing
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Callable

import numpy

from gatedrnn.errors import MissingDependency, UserError, check_choice, check_finite_number, is_integer, is_real, show


def option(default, help: str, *, check=None, choices=None, group: str | None = None, flag: bool = True):
    """A config field: ``default``, its ``help`` text, an optional ``check(name, value)`` (one of the helpers of
    ``gatedrnn.errors``), ``choices`` (a sequence, or a no-argument callable returning one), the flag ``group``
    it is listed under, and whether it gets a command-line flag at all."""
    meta = {"help": help, "check": check, "choices": choices, "group": group, "flag": flag}
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def choices_of(f: dataclasses.Field):
    c = f.metadata.get("choices")
    return c() if callable(c) else c


@dataclass
class Config:
    """Base class of every run configuration (see the module docstring)."""

    def validate(self):
        """Check every field's type (its annotation: ``int``, ``float`` finite, ``str``, ``bool``, ``list[...]``,
        ``| None``), then its choices and its check; subclasses add cross-field checks after ``super().validate()``."""
        hints = typing.get_type_hints(type(self))
        for f in fields(self):
            value = getattr(self, f.name)
            check_type(f.name, value, hints[f.name])
            options = choices_of(f)
            if options is not None:
                for v in (value if isinstance(value, list) else [value]):
                    if not (v is None and _optional(type(self), f.name)):
                        check_choice(f.name, v, options)
            _check_limit(f.name, value, _unwrap(hints[f.name])[0] is int)
            check = f.metadata.get("check")
            if check is not None:
                check(f.name, value)
            if _unwrap(hints[f.name])[0] is float:   # NaN and Inf never pass, whatever the field's check
                for v in (value if isinstance(value, list) else [value]):
                    if v is not None:
                        check_finite_number(f.name, v)
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict):
        """Build and validate; keys that are not fields are refused with the list of the known ones."""
        if not isinstance(d, dict):
            raise UserError(f"{cls.__name__}: expected a mapping of field names to values, got {type(d).__name__}")
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(d) - set(names))
        if unknown:
            raise UserError(f"{cls.__name__}: expected keys among {names}, got unknown {unknown}")
        return cls(**d).validate()

    @classmethod
    def from_sources(cls, config_file=None, flags: dict | None = None, base: dict | None = None):
        """The config of a run: ``base`` (e.g. a preset's values), then the fields of ``config_file`` (JSON or TOML,
        e.g. a run's ``config.json``), then ``flags`` (the fields given on the command line), validated."""
        from_file = load_config_file(config_file) if config_file else {}
        return cls.from_dict({**(base or {}), **from_file, **(flags or {})})

    def replace(self, **changes):
        """A copy with ``changes`` applied (``None`` values ignored), validated."""
        return type(self).from_dict({**self.to_dict(), **{k: v for k, v in changes.items() if v is not None}})

    def describe(self) -> str:
        """The config as aligned ``name = value`` lines, for the top of a run's log."""
        width = max(len(f.name) for f in fields(self))
        return "\n".join(f"  {f.name:<{width}} = {getattr(self, f.name)!r}" for f in fields(self))


# The most a size field may ask for, by the names every config shares (DEVELOPERS.md: the same names everywhere), so
# that a hidden_size or batch_size of 1e12 in a config file or a flag is one line here, not a MemoryError (or
# hours of swapping) when the model or the batch is allocated. Generous: far beyond what NumPy trains.
SIZE_LIMITS = {"hidden_size": 16_384, "embed_size": 16_384, "num_layers": 256, "batch_size": 65_536,
               "eval_batch_size": 65_536, "time_size": 100_000}


INT_LIMIT = 2**64   # any integer field: beyond, no meaning as a size, a step or a seed (and products of such overflow floats)


def _check_limit(name: str, value, int_field: bool) -> None:
    limit = SIZE_LIMITS.get(name)
    for v in (value if isinstance(value, list) else [value]):
        if is_integer(v) and limit is not None and v > limit:
            raise UserError(f"{name}: expected a positive integer of at most {limit:,}, got {show(v)}")
        if int_field and is_integer(v) and abs(v) > INT_LIMIT:
            raise UserError(f"{name}: expected an integer of magnitude at most 2**64, got {show(v)}")


# a field's base type -> (what one value is, what a list holds, the test; None: isinstance)
_KINDS: dict[type, tuple[str, str, Callable[[Any], bool] | None]] = {
    int: ("an integer", "integers", is_integer), float: ("a number", "numbers", is_real),
    str: ("a string", "strings", None), bool: ("true or false", "booleans", None)}


def _fits(base, v) -> bool:
    if base is bool:
        return isinstance(v, (bool, numpy.bool_))
    test = _KINDS[base][2] if base in _KINDS else None
    if test is not None:
        return test(v)
    return isinstance(v, base) if isinstance(base, type) else True


def check_type(name: str, value, annotation) -> None:
    """``value`` matches a field's annotation: an ``int`` field holds an integer (not a bool), a ``float`` field a
    number (finiteness is checked after the field's own check, whose message is more precise), ``str``/``bool``
    fields a string/a bool, ``list[X]`` a list of those, ``X | None`` also None."""
    base, optional, many = _unwrap(annotation)
    one, many_of = _KINDS.get(base, (getattr(base, "__name__", str(base)),) * 2)[:2]
    if value is None and optional:
        return
    if many:
        if not isinstance(value, list) or not all(_fits(base, v) for v in value):
            raise UserError(f"{name}: expected a list of {many_of}{' or None' if optional else ''}, got {show(value)}")
    elif not _fits(base, value):
        raise UserError(f"{name}: expected {one}{' or None' if optional else ''}, got {show(value)}")


# -- files ---------------------------------------------------------------------------------------------
MAX_DEPTH = 64      # nesting of the JSON and TOML a user hands in (a config needs 2 levels, meta.json a few)


def load_config_file(path) -> dict:
    """The mapping in a JSON (``.json``) or TOML (``.toml``) file; a one-line ``UserError`` when it is not one: bytes
    that are not UTF-8, a syntax error, a key given twice, an integer of over 1,000 digits, nesting over
    ``MAX_DEPTH`` levels."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--config {path}: expected a JSON or TOML file, got {'no such file' if not path.exists() else 'a folder'}")
    what = f"--config {path}"
    if path.suffix.lower() == ".toml":
        d = _parse_toml(decode_text(path.read_bytes(), what), what)
    else:
        d = parse_json(path.read_bytes(), what, expected="JSON (or a .toml file)")
    if not isinstance(d, dict):
        raise UserError(f"--config {path}: expected a mapping of field names to values, got {type(d).__name__}")
    return d


def _parse_toml(text: str, what: str) -> dict:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            raise MissingDependency("reading a TOML config on Python 3.10 needs tomli: pip install tomli") from None
    _check_toml_nesting(text, what)
    try:
        d = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{what}: expected TOML, got a syntax error ({exc})") from None
    except ValueError as exc:        # tomllib's int() of over 4,300 digits: Python's limit, not a TOMLDecodeError
        raise UserError(f"{what}: expected numbers of a sensible size, got {str(exc)[:80]}") from None
    except RecursionError:           # tomllib parses nested arrays and inline tables recursively
        raise UserError(f"{what}: expected TOML nested at most {MAX_DEPTH} levels deep, got far deeper") from None
    check_depth(d, what)
    return d


# TOML's strings (multi-line first) and comments, in one pass so that neither hides inside the other
_TOML_TEXT = re.compile(r'("""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\')|#[^\n]*')
_TOML_PART = r"(?:[A-Za-z0-9_-]+|s)"
_TOML_DOTTED = re.compile(rf"{_TOML_PART}(?:[ \t]*\.[ \t]*{_TOML_PART}){{{MAX_DEPTH},}}")


def _check_toml_nesting(text: str, what: str) -> None:
    """Refuse nesting over ``MAX_DEPTH`` levels before tomllib sees it: it recurses into nested arrays and inline
    tables, and its work on a dotted key (``a.b.c = 1``) grows with the square of the key's parts (a key of 100,000
    parts would take hours and all the memory). Strings become ``s`` and comments go, then the brackets are counted
    and the dotted keys measured."""
    bare = _TOML_TEXT.sub(lambda m: "s" if m.group(1) else "", text)
    steps = numpy.frombuffer(bare.encode("utf-8"), dtype=numpy.uint8)
    depth = numpy.cumsum(numpy.isin(steps, (91, 123)).astype(numpy.int64) - numpy.isin(steps, (93, 125)))  # [{ ]}
    if (depth.size and int(depth.max()) > MAX_DEPTH) or _TOML_DOTTED.search(bare):
        raise UserError(f"{what}: expected TOML nested at most {MAX_DEPTH} levels deep, got deeper")


def decode_text(data: bytes, what: str) -> str:
    """UTF-8 bytes (a leading byte-order mark dropped) as text, or one line saying where they are not."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(f"{what}: expected UTF-8 text, got undecodable bytes ({exc.reason} at byte {exc.start})") from None


def parse_json(data, what: str, *, expected: str = "JSON"):
    """The value of JSON text (str or UTF-8 bytes) that a user hands in: a config file, a checkpoint's meta.json, a
    vocabulary. One ``UserError`` line, "``what``: expected ``expected``, got ...", for bytes that are not UTF-8, a
    syntax error, a key given twice in one object (JSON parsers keep the last one without a word), an integer
    of over 1,000 digits, or nesting over ``MAX_DEPTH`` levels."""
    text = decode_text(bytes(data), what) if isinstance(data, (bytes, bytearray)) else data
    try:
        value = json.loads(text, parse_int=lambda digits: bounded_json_int(what, digits),
                           object_pairs_hook=lambda pairs: _unique_keys(pairs, what))
    except json.JSONDecodeError as exc:
        raise UserError(f"{what}: expected {expected}, got text that is not valid JSON ({exc})") from None
    except RecursionError:           # the decoder recurses once per level of nesting
        raise UserError(f"{what}: expected JSON nested at most {MAX_DEPTH} levels deep, got far deeper") from None
    check_depth(value, what)
    return value


def _unique_keys(pairs: list, what: str) -> dict:
    d = dict(pairs)
    if len(d) < len(pairs):
        seen: set = set()
        for k, _ in pairs:
            if k in seen:
                raise UserError(f"{what}: expected each key once in an object, got {show(k)} twice")
            seen.add(k)
    return d


def check_depth(value, what: str) -> None:
    """Refuse lists and mappings nested over ``MAX_DEPTH`` levels (every later ``repr`` or walk would recurse)."""
    level, depth = [value], 0
    while level:
        depth += 1
        if depth > MAX_DEPTH:
            raise UserError(f"{what}: expected data nested at most {MAX_DEPTH} levels deep, got deeper")
        level = [c for v in level for c in (v.values() if isinstance(v, dict) else v if isinstance(v, list) else ())
                 if isinstance(c, (dict, list))]


def bounded_json_int(what: str, digits: str) -> int:
    """``json.loads``' ``parse_int`` for files a user hands in: Python refuses to turn over 4,300 digits into an int
    with a ValueError that is not a JSONDecodeError, so refuse anything over 1,000 digits first, as one line."""
    if len(digits.lstrip("-")) > 1000:
        raise UserError(f"{what}: expected numbers of a sensible size, got an integer of {len(digits):,} digits")
    return int(digits)


# -- command-line flags ---------------------------------------------------------------------------------
NONE = "none"          # what a flag of an optional field takes to mean None
_GIVEN_NONE = object()  # what its parser returns, to tell "set to None" from "not given"


def _optional(cls, name) -> bool:
    return _unwrap(typing.get_type_hints(cls)[name])[1]


def _unwrap(tp):
    """-> (base type, optional?, is a list?) of a field annotation such as ``int | None`` or ``list[str]``."""
    optional = False
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        optional = len(args) < len(typing.get_args(tp))
        tp = args[0]
    if typing.get_origin(tp) is list:
        return typing.get_args(tp)[0], optional, True
    return tp, optional, False


def _parser_for(base, optional: bool, name: str):
    def parse(text: str):
        if optional and text.lower() == NONE:
            return _GIVEN_NONE
        try:
            return base(text)
        except ValueError:
            kind = {int: "an integer", float: "a number"}.get(base, base.__name__)
            raise argparse.ArgumentTypeError(f"expected {kind}{' or none' if optional else ''}, got {text!r}") from None
    parse.__name__ = base.__name__
    return parse


def add_config_file_flag(parser) -> None:
    """``--config FILE``, the flag of every command whose run has a config: the fields from a file, flags over them."""
    parser.add_argument("--config", default=None, metavar="FILE", help="a JSON or TOML file of config fields, e.g. a "
                        "run's config.json; the flags override it")


def add_config_flags(parser, cls, *, skip=(), shown: dict | None = None) -> None:
    """Add a ``--field-name`` flag for every field of ``cls`` (but those in ``skip`` or declared ``flag=False``),
    in argument groups by the fields' ``group``. Every flag defaults to ``None`` (= not given: the config file
    or the preset decides); the help ends with the default, or with ``shown[name]`` when given (presets)."""
    hints = typing.get_type_hints(cls)
    groups: dict = {}
    defaults = cls()
    for f in fields(cls):
        if f.name in skip or not f.metadata.get("flag", True):
            continue
        base, optional, many = _unwrap(hints[f.name])
        group = f.metadata.get("group")
        target = parser if group is None else groups.setdefault(group, parser.add_argument_group(group))
        default = (shown or {}).get(f.name, repr(getattr(defaults, f.name)))
        text = f"{f.metadata.get('help', '')} (default: {default})".replace("%", "%%")
        kw: dict[str, Any] = {"dest": f.name, "default": None, "help": text}
        options = choices_of(f)
        if base is bool:
            kw["action"] = argparse.BooleanOptionalAction
        else:
            kw["type"] = _parser_for(base, optional, f.name)
            kw["metavar"] = "{" + ",".join(map(str, options)) + "}" if options else f.name.upper()
            if many:
                kw["nargs"] = "+"
        target.add_argument("--" + f.name.replace("_", "-"), **kw)


def given_flags(cls, args) -> dict:
    """The fields of ``cls`` set on the command line (flags left at ``None`` are not given)."""
    out: dict[str, Any] = {}
    for f in fields(cls):
        if hasattr(args, f.name):
            v = getattr(args, f.name)
            if v is _GIVEN_NONE:
                out[f.name] = None
            elif isinstance(v, list):
                out[f.name] = [None if x is _GIVEN_NONE else x for x in v]
            elif v is not None:
                out[f.name] = v
    return out
