"""The published JSONL schema (streamcli/jsonl.schema.json), loaded once, and the checks
of --jsonl, --no-stream, `streamcli logs --json` and `streamcli batch` output against it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

import streamcli

SCHEMA_PATH = Path(streamcli.__file__).parent / "jsonl.schema.json"
SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
jsonschema.Draft202012Validator.check_schema(SCHEMA)
EVENT_VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
RESULT_VALIDATOR = jsonschema.Draft202012Validator({"$defs": SCHEMA["$defs"],
                                                    "$ref": "#/$defs/result"})
BATCH_VALIDATOR = jsonschema.Draft202012Validator({"$defs": SCHEMA["$defs"],
                                                   "$ref": "#/$defs/batch_line"})


def strict_loads(text: str):
    """json.loads that accepts RFC 8259 JSON only: Python's json reads NaN, Infinity and
    -Infinity, which no other JSON reader does, and writes them unless told not to."""
    def reject(name: str):
        raise AssertionError(f"{name} in the output is not JSON (RFC 8259): {text[:200]!r}")
    return json.loads(text, parse_constant=reject)


def jsonl_events(out: bytes) -> list[dict]:
    """Every line of a --jsonl output, each validated against the schema, with the
    framing rules checked: UTF-8, one object per line, `start` first, `end` last, once each."""
    text = out.decode("utf-8")
    assert text.endswith("\n"), out[-200:]
    lines = text[:-1].split("\n")
    events = []
    for line in lines:
        assert line and line == line.strip(), f"blank or padded line: {line!r}"
        obj = strict_loads(line)
        EVENT_VALIDATOR.validate(obj)
        events.append(obj)
    types = [e["type"] for e in events]
    assert types[0] == "start" and types.count("start") == 1, types
    assert types[-1] == "end" and types.count("end") == 1, types
    return events


def result_object(out: bytes) -> dict:
    """The --no-stream output: exactly one JSON object, then one newline, schema-valid."""
    text = out.decode("utf-8")
    assert text.endswith("\n") and text.count("\n") == 1, out[-200:]
    obj = strict_loads(text)
    RESULT_VALIDATOR.validate(obj)
    return obj


def batch_lines(out: bytes) -> list[dict]:
    """The lines of `streamcli batch run`/`results` output: UTF-8, whole lines (the last
    one ends in a newline), each one schema-valid object."""
    if not out:
        return []
    text = out.decode("utf-8")
    assert text.endswith("\n"), out[-200:]
    lines = []
    for line in text[:-1].split("\n"):
        obj = json.loads(line)
        BATCH_VALIDATOR.validate(obj)
        lines.append(obj)
    return lines


LOG_VALIDATORS = {kind: jsonschema.Draft202012Validator({"$defs": SCHEMA["$defs"],
                                                         "$ref": f"#/$defs/log_{kind}"})
                  for kind in ("exchange", "conversation")}


def log_lines(out: bytes, kind: str) -> list[dict]:
    """The JSON lines of `streamcli logs ... --json` (kind "exchange" or "conversation"),
    each validated against the schema."""
    text = out.decode("utf-8")
    assert text == "" or text.endswith("\n"), out[-200:]
    objs = [json.loads(line) for line in text.splitlines()]
    for obj in objs:
        LOG_VALIDATORS[kind].validate(obj)
    return objs
