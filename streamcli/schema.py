"""--schema and --schema-list: the schema's three forms, strict mode, the answer's check.

A JSON Schema from a file, inline JSON or the concise form; whether OpenAI's strict mode
can take it; the check of the final answer against it. `jsonschema` is imported only
here, and only when a schema is given.

The concise form (llm's): fields separated by commas, or by newlines when there are any
(then a description may hold commas); each field is `name [type][: description]`, type
`str` (the default), `int`, `float` or `bool`; every field required, no others allowed.
`--schema-list` asks for a list of such objects as `{"items": [...]}` on every protocol (as
llm's --schema-multi): OpenAI's strict mode needs an object at the root, and one shape
for every provider keeps scripts simple.

How a protocol renders a Schema: `schema.json` (the JSON Schema to send and to check
against), `schema.name` (a name for it, ^[A-Za-z0-9_-]{1,64}$), `schema.strict` (it
qualifies for OpenAI's strict mode; `schema.why_not_strict` says why not).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from streamcli import safejson
from streamcli.errors import SchemaMismatch, UsageError
from streamcli.redact import clip

_TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}
_NAME = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Schema:
    json: dict
    name: str
    strict: bool
    why_not_strict: str | None
    as_list: bool = False


def parse(text: str | dict, as_list: bool = False) -> Schema:
    """SCHEMA: inline JSON (it starts with `{`), a file holding JSON, or the concise form;
    or a JSON Schema already parsed (a dict, e.g. from a batch item). A schema that cannot
    be used is a UsageError (exit 2, nothing sent)."""
    try:
        body = text if isinstance(text, dict) else _load(text)
        if not isinstance(body, dict):
            raise UsageError("--schema must be a JSON object (a JSON Schema)")
        _check_schema(body)
        if as_list:
            body = {"type": "object", "properties": {"items": {"type": "array", "items": body}},
                    "required": ["items"], "additionalProperties": False}
        why = why_not_strict(body)
    except RecursionError:
        raise UsageError("--schema is nested too deeply to be used") from None
    title = body.get("title") if isinstance(body.get("title"), str) else ""
    name = _NAME.sub("_", title).strip("_")[:64] or ("items" if as_list else "answer")
    return Schema(body, name, why is None, why, as_list)


def _load(text: str):
    stripped = text.strip().lstrip("\ufeff")  # a byte order mark is no part of the JSON
    if not stripped:
        raise UsageError("--schema is empty")
    if stripped.startswith(("{", "[")) or stripped in ("true", "false", "null"):
        try:
            return safejson.loads(stripped)
        except ValueError as exc:
            raise UsageError(f"--schema is not valid JSON: {exc}") from None
    if stripped == "-":
        raise UsageError("--schema - : a schema is not read from stdin; give a file, "
                         "<(command) or the schema itself")
    if os.path.exists(text) and not os.path.isdir(text):  # a file, <(command), /dev/fd/N
        return _read_file(text)
    if "\n" not in text and ("/" in text or stripped.endswith(".json")):
        what = "is a directory" if os.path.isdir(text) else "no such file"
        raise UsageError(f"--schema {text}: {what}")
    return concise(text)


MAX_FILE_BYTES = 64 * 1024 * 1024  # far beyond any schema; /dev/zero is not read forever


def _read_file(path: str):
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read --schema file {path}: {exc.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise UsageError(f"--schema file {path} is larger than 64 MB")
    try:
        return safejson.loads(data.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"--schema file {path} is not valid JSON: {exc}") from None


def concise(text: str) -> dict:
    """The concise form to a JSON Schema object."""
    fields = text.split("\n") if "\n" in text else text.split(",")
    properties: dict[str, dict] = {}
    for field in (f.strip() for f in fields):
        if not field:
            continue
        spec, sep, description = field.partition(":")
        words = spec.split()
        if not words:
            raise UsageError(f"--schema: field {field!r} has no name before ':'")
        if len(words) > 2:
            raise UsageError(f"--schema: field {spec.strip()!r} is not 'name [type]'")
        name, kind = words[0], (words[1] if len(words) > 1 else "str")
        if name.startswith("-"):  # `--schema -m MODEL ...`: the schema was left out
            raise UsageError(f"--schema: field {name!r} looks like an option: was the "
                             "schema left out after --schema?")
        if kind not in _TYPES:
            raise UsageError(f"--schema: unknown type {kind!r} for field {name!r} (use "
                             f"{', '.join(_TYPES)})")
        if name in properties:
            raise UsageError(f"--schema: field {name!r} is given twice")
        properties[name] = {"type": _TYPES[kind]}
        if description.strip():
            properties[name]["description"] = description.strip()
    if not properties:
        raise UsageError("--schema: no fields in the concise form")
    return {"type": "object", "properties": properties, "required": list(properties),
            "additionalProperties": False}


def _check_schema(body: dict) -> None:
    """A valid JSON Schema by its own metaschema ($schema, else draft 2020-12), whose
    references resolve."""
    import jsonschema  # only with --schema: ~50 ms of imports
    if not isinstance(body.get("$schema", ""), str):
        raise UsageError("--schema: $schema must be a string (the URI of a JSON Schema "
                         "dialect)")
    cls = jsonschema.validators.validator_for(body, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(body)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.path)
        raise UsageError(f"--schema is not a valid JSON Schema: {_short(exc.message)}"
                         + (f" (at {where})" if where else "")) from None
    from streamcli import schemarefs
    schemarefs.check(body, body.get("$schema", cls.META_SCHEMA["$schema"]))


# OpenAI structured outputs, "Supported schemas": the root an object (not anyOf), every
# object with additionalProperties false and every property required, no allOf, not,
# dependentRequired, dependentSchemas, if, then, else (oneOf and patternProperties are
# not in the supported list either); at most 5000 properties and 10 levels of nesting
# (developers.openai.com/api/docs/guides/structured-outputs).
_UNSUPPORTED = ("allOf", "not", "dependentRequired", "dependentSchemas", "if", "then", "else",
                "oneOf", "patternProperties")


def why_not_strict(body: dict) -> str | None:
    """None when `body` qualifies for strict mode; else the first reason it does not."""
    if body.get("type") != "object" or "anyOf" in body:
        return "the root is not an object"
    count = [0]
    return _walk(body, "$", 0, count) or (
        f"it has {count[0]} properties (strict mode takes 5000)" if count[0] > 5000 else None)


_TYPED = frozenset({"type", "$ref", "anyOf"})


def _walk(node, path: str, depth: int, count: list) -> str | None:
    if not isinstance(node, dict):  # true, false
        return f"{path} has no type"
    if depth > 10:
        return f"{path} is nested deeper than 10 levels"
    for key in _UNSUPPORTED:
        if key in node:
            return f"{path} uses {key}"
    # Strict mode wants every subschema typed ("schema must have a 'type' key"), arrays
    # with their items: {} or a bare description are not enough.
    if not _TYPED & node.keys():
        return f"{path} has no type"
    if node.get("type") == "array" and "items" not in node:
        return f"{path} is an array without items"
    if node.get("type") == "object" or "properties" in node:
        props = node.get("properties") or {}
        count[0] += len(props)
        if node.get("additionalProperties") is not False:
            return f"{path} does not set additionalProperties to false"
        missing = [p for p in props if p not in (node.get("required") or ())]
        if missing:
            return f"{path}.{missing[0]} is not required"
    children = [(f"{path}.{k}", v, 1) for k, v in (node.get("properties") or {}).items()]
    children += [(f"{path}[]", node["items"], 1)] if "items" in node else []
    children += [(f"{path}.anyOf[{i}]", v, 0) for i, v in enumerate(node.get("anyOf") or ())]
    for defs in ("$defs", "definitions"):
        children += [(f"{path}.{defs}.{k}", v, 0) for k, v in (node.get(defs) or {}).items()]
    for child_path, child, step in children:
        why = _walk(child, child_path, depth + step, count)
        if why:
            return why
    return None


def check(schema: Schema, text: str, stop: str | None) -> Any:
    """The answer's JSON value when `text` is JSON valid against the schema; else
    SchemaMismatch (exit 10) with the first reason. `stop`: the normalized stop reason."""
    if stop == "refusal":
        raise SchemaMismatch("--schema: the model refused to answer (stop reason refusal)")
    if stop == "max_tokens":
        raise SchemaMismatch("--schema: the answer was cut off at the token limit, so its "
                             "JSON is incomplete; raise --max-tokens")
    try:
        value = safejson.loads(text)
    except ValueError as exc:
        what = "empty" if not text.strip() else f"not JSON ({exc})"
        raise SchemaMismatch(f"--schema: the answer is {what}") from None
    except RecursionError:
        raise SchemaMismatch("--schema: the answer is nested too deeply to check") from None
    import jsonschema
    cls = jsonschema.validators.validator_for(schema.json,
                                              default=jsonschema.Draft202012Validator)
    try:
        error = jsonschema.exceptions.best_match(cls(schema.json).iter_errors(value))
    except RecursionError:
        raise SchemaMismatch("--schema: the answer is nested too deeply to check") from None
    except Exception as exc:  # a reference jsonschema cannot follow (referencing's errors)
        raise SchemaMismatch(f"--schema: cannot check the answer: {_short(str(exc))}") from None
    if error is not None:
        raise SchemaMismatch(f"--schema: the answer does not match at {error.json_path}: "
                             f"{_short(error.message)}")
    return value


def _short(message: str, limit: int = 300) -> str:
    """jsonschema's message, which quotes the answer: the run's secrets masked (a server
    could echo one in the answer) before it is cut, so that none is cut in two."""
    return clip(message, limit)
