"""A JSON Schema's references: each resolves inside the schema, and none loops in place.

jsonschema would find either only when an answer reaches the reference, after the request
was paid for: an unresolvable one as an exception, a loop that reads nothing of the answer
(`{"$ref": "#"}`, a -> b -> a) as a RecursionError on any answer. Both are exit 2 here,
before anything is sent. `referencing` (jsonschema's own resolver) resolves them.
"""

from __future__ import annotations

from streamcli.errors import UsageError

_REFS = ("$ref", "$dynamicRef")
# Subschemas applied to the same value as their parent: a cycle through these and
# references never moves into the answer, so it never ends.
_IN_PLACE_LISTS = ("allOf", "anyOf", "oneOf")
_IN_PLACE = ("not", "if", "then", "else")
_DATA = ("const", "enum", "default", "examples")  # values, not schemas


def check(body: dict, dialect: str) -> None:
    """`body`: the schema; `dialect`: its $schema URI (the metaschema it was checked by)."""
    import referencing.jsonschema
    spec = referencing.jsonschema.specification_with(
        dialect, default=referencing.jsonschema.DRAFT202012)
    resolver = referencing.Registry().resolver_with_root(spec.create_resource(body))
    edges: dict[int, list] = {}
    _walk(body, resolver, "$", edges)
    _refuse_loops(edges)


def _walk(node, resolver, path: str, edges: dict) -> None:
    """Resolve every reference under `node`; note each schema's in-place successors. A
    subschema with its own "$id" starts another base URI: its references are left to
    jsonschema."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            _walk(item, resolver, f"{path}[{i}]", edges)
        return
    if not isinstance(node, dict) or (path != "$" and "$id" in node):
        return
    nexts = edges.setdefault(id(node), [])
    for key in _REFS:
        ref = node.get(key)
        if isinstance(ref, str):
            nexts.append((_lookup(resolver, key, ref, path), f"the {key} {ref!r} at {path}"))
    nexts += [(sub, None) for key in _IN_PLACE_LISTS if isinstance(node.get(key), list)
              for sub in node[key]]
    nexts += [(node[key], None) for key in _IN_PLACE if key in node]
    for key, value in node.items():
        if key not in _DATA:
            _walk(value, resolver, f"{path}.{key}", edges)


def _lookup(resolver, key: str, ref: str, path: str):
    import referencing.exceptions
    try:
        return resolver.lookup(ref).contents
    except referencing.exceptions.Unresolvable:
        raise UsageError(f"--schema: the {key} {ref!r} at {path} cannot be resolved "
                         "(only references inside the schema are followed)") from None


def _refuse_loops(edges: dict) -> None:
    """A cycle of in-place steps (it passes a reference: parsed JSON is a tree), found
    depth-first, iteratively (a schema may be 200 levels deep)."""
    state: dict[int, int] = {}  # 1: on the current path, 2: done
    for start in edges:
        if start in state:
            continue
        stack = [(start, iter(edges[start]), None)]  # (schema, successors, how reached)
        state[start] = 1
        while stack:
            node, successors, _ = stack[-1]
            step = next(successors, None)
            if step is None:
                state[node] = 2
                stack.pop()
                continue
            target, via = step
            tid = id(target)
            if tid not in edges or state.get(tid) == 2:
                continue  # not a schema, or known not to loop
            if state.get(tid) == 1:
                on_loop = [v for n, _, v in stack[[n for n, _, _ in stack].index(tid) + 1:]]
                said = next(v for v in (via, *on_loop) if v is not None)
                raise UsageError(f"--schema: {said} leads back to where it started without "
                                 "reading any of the answer (a loop no answer could pass)")
            state[tid] = 1
            stack.append((tid, iter(edges[tid]), via))
