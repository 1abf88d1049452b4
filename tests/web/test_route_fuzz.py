"""Every route and method, signed out and as an admin, fed hostile raw input: never a 5xx.

The routes are read off the app (`app.routes`), so a new route is fuzzed without anyone
listing it. Each gets hostile path parameters, query strings and bodies: empty, large but
under the body limit, binary garbage, invalid UTF-8, malformed and deeply nested JSON, wrong
and broken content types, multipart without a boundary, and bodies that are otherwise valid
but carry NUL or a lone surrogate in every text field (JSON from the OpenAPI schema, forms
from the route's form fields), each aimed at a fresh alert so an earlier probe's state change
cannot mask a later one's failure.
"""

from __future__ import annotations

import enum
import json
import random
import re
import types
import typing
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import BaseModel
from starlette.routing import Mount

from monitor.runtime import Runtime
from monitor.web import create_app
from tests.web.conftest import Seeded, login, seed_alert

PATH_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")
#: path parameter values no route should choke on (already URL-encoded where needed)
HOSTILE_PATH = ("0", "-1", str(2**63), str(2**64), "9" * 400, "1.5", "1e3", "abc", "%00",
                "%ff%fe", "%ED%A0%80", "..%2f..%2fetc%2fpasswd", "%20", "%C3%A9", "a" * 3000)
#: query values for each declared query parameter (URL-encoded)
HOSTILE_QUERY = ("%00", "%ff%fe", "%ED%A0%80", "-1", "18446744073709551616", "nan",
                 "2024-02-30", "x" * 3000)
#: whole query strings, whatever the route declares
HOSTILE_QUERY_STRINGS = ("%ff=%ff", "&&&=&=", "a=1&" * 2000, "page=1&page=x",
                         "state=open%00&q=%00", "%00=%00")
#: text that JSON can carry but neither database driver can store as it is
UNSTORABLE = ("\x00", "a\x00b", "\ud800", "x\udfffy")
#: form values that decode to NUL, and to what a lone surrogate looks like in UTF-8
UNSTORABLE_FORM = ("%00", "a%00b", "%ED%A0%80")
#: valid path parameters that name nothing
ABSENT = {"alert_id": "987654321", "username": "no-such-user", "request_id": "987654321",
          "hold_id": "987654321", "rule_id": "987654321"}
EXTRA_METHODS = ("PUT", "PATCH", "DELETE")
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Probe:
    """One request: method, URL (encoded), body and content type, and what it is for."""

    method: str
    url: str
    content: bytes | None = None
    content_type: str | None = None
    label: str = ""


@dataclass(frozen=True)
class Operation:
    """A route's path and one of its methods, with FastAPI's view of its parameters."""

    method: str
    path: str
    dependant: Dependant | None


def operations(app: FastAPI) -> list[Operation]:
    """Every (method, path) the app routes, included routers and the static mount's files too."""
    ops: list[Operation] = []
    # iter_route_contexts flattens included routers (app.routes lists them unexpanded).
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, Mount):
            ops += [Operation(m, f"{route.path}/{{path}}", None) for m in ("GET", "HEAD")]
            continue
        assert isinstance(context.path, str), route
        dependant = route.dependant if isinstance(route, APIRoute) else None
        ops += [Operation(m, context.path, dependant) for m in sorted(context.methods or {"GET"})]
    return ops


def _walk(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _walk(sub)


def _model(annotation: Any) -> type[BaseModel] | None:
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def query_names(dependant: Dependant | None) -> list[str]:
    """The query parameters a route reads, a parameter model's fields included."""
    names: list[str] = []
    for dep in _walk(dependant) if dependant else ():
        for field in dep.query_params:
            model = _model(field.field_info.annotation)
            names += list(model.model_fields) if model else [field.alias]
    return names


def form_fields(dependant: Dependant | None) -> dict[str, Any]:
    """A form route's fields and their annotations (empty for JSON and body-less routes)."""
    fields: dict[str, Any] = {}
    for dep in _walk(dependant) if dependant else ():
        for field in dep.body_params:
            if type(field.field_info).__name__ == "Form":
                fields[field.alias] = field.field_info.annotation
    return fields


def _reads_body(dependant: Dependant | None) -> bool:
    return any(dep.body_params for dep in _walk(dependant)) if dependant else False


def _enum_of(annotation: Any) -> type[enum.Enum] | None:
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, enum.Enum):
            return candidate
    return None


def _is_text(annotation: Any) -> bool:
    if annotation is str:
        return True
    origin = typing.get_origin(annotation)
    return origin in (typing.Union, types.UnionType) and str in typing.get_args(annotation)


def _example(schema: dict[str, Any], defs: dict[str, Any], text: str, number: int) -> Any:
    """A value valid for a JSON schema, with `text` in every free-text string."""
    if "$ref" in schema:
        return _example(defs[schema["$ref"].rsplit("/", 1)[1]], defs, text, number)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"]
            return _example(options[0], defs, text, number)
    kind = schema.get("type")
    if kind == "object":
        return {k: _example(v, defs, text, number)
                for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return [_example(schema.get("items", {}), defs, text, number)]
    if kind == "integer":
        return number
    if kind == "boolean":
        return False
    if schema.get("format") == "date":
        return "2024-01-01"
    return text + "x" * max(0, schema.get("minLength", 0) - len(text))


def json_bodies(app: FastAPI) -> dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]]:
    """(method, path) -> the JSON request body's schema and the schema's definitions."""
    spec = app.openapi()
    defs = spec.get("components", {}).get("schemas", {})
    found = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            schema = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            if "schema" in schema:
                found[(method.upper(), path)] = (schema["schema"], defs)
    return found


def raw_bodies(limit: int) -> list[tuple[str, bytes, str | None]]:
    """(label, body, content type) sent to every route."""
    rng = random.Random(14)
    garbage = rng.randbytes(4096)
    big = limit - 4096
    nested = b"[" * 100_000 + b"]" * 100_000
    return [
        ("empty", b"", None),
        ("empty json", b"", "application/json"),
        ("empty form", b"", FORM),
        ("large json", json.dumps({"body": "a" * big, "ids": [1] * 10}).encode(),
         "application/json"),
        ("large form", b"note=" + b"a" * big + b"&action=note", FORM),
        ("large text", b"\xe2\x80\xae" * (big // 3), "text/plain; charset=utf-8"),
        ("garbage", garbage, "application/octet-stream"),
        ("garbage json", garbage, "application/json"),
        ("garbage form", garbage, FORM),
        ("garbage no type", garbage, None),
        ("invalid utf-8 json", b'{"body": "\xff\xfe\xed\xa0\x80", "note": "\xc0\xaf"}',
         "application/json"),
        ("invalid utf-8 form", b"note=\xff\xfe&username=\xed\xa0\x80", FORM),
        ("truncated json", b'{"ids": [1,', "application/json"),
        ("nested json", nested, "application/json"),
        ("json null", b"null", "application/json"),
        ("json list", b"[]", "application/json"),
        ("json string", b'"x"', "application/json"),
        ("json huge number", b"1" * 5000, "application/json"),
        ("json inf", b'{"ids": [1e999], "body": NaN}', "application/json"),
        ("json duplicate keys", b'{"body": "a", "body": {"x": []}}', "application/json"),
        ("json as text", b'{"body": "x"}', "text/plain"),
        ("json as form", b'{"body": "x"}', FORM),
        ("form as json", b"body=x&note=y", "application/json"),
        ("xml", b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>',
         "application/xml"),
        ("utf-16 json", '{"body": "x"}'.encode("utf-16"), "application/json; charset=utf-16"),
        ("bogus charset", b'{"body": "x"}', "application/json; charset=klingon"),
        ("multipart no boundary", b"--x\r\n\r\n--x--\r\n", "multipart/form-data"),
        ("multipart empty boundary", b"--x\r\n", "multipart/form-data; boundary="),
        ("multipart garbage", garbage, "multipart/form-data; boundary=zz"),
        ("broken content type", b"a=b", "totally/bogus;;;=="),
        ("content type params", b"a=b", 'application/x-www-form-urlencoded; charset="'),
        ("nul form", b"note=%00&body=%00&handover=%00&username=%00&password=%00", FORM),
        ("nul json", json.dumps({k: "\x00\ud800" for k in (
            "body", "note", "handover", "username", "display_name", "email", "to", "reason",
            "action", "role")}).encode(), "application/json"),
    ]


class AlertPool:
    """Fresh alerts to aim state-changing probes at, one per probe."""

    def __init__(self, runtime: Runtime, *, seeded: Seeded, fresh: bool) -> None:
        self.runtime = runtime
        self.seeded = seeded
        #: signed out, no probe changes an alert: the seeded ones do
        self.make_fresh = fresh
        self.count = 0

    def fresh(self, *, safeguarding: bool) -> int:
        """A new open alert (in the safeguarding lane when asked)."""
        if not self.make_fresh:
            return self.seeded.safeguarding if safeguarding else self.seeded.abuse
        self.count += 1
        label = "safeguarding" if safeguarding else "abuse"
        return seed_alert(self.runtime, text=f"fuzz target {self.count}", labels=[label],
                          severity="critical" if safeguarding else "high",
                          queue="safeguarding" if safeguarding else "moderation",
                          external_id=f"fuzz-{self.count}")


def _fill(path: str, values: dict[str, str]) -> str:
    return PATH_PARAM.sub(lambda m: values[m.group(1)], path)


def probes(app: FastAPI, valid: dict[str, str], pool: AlertPool, csrf: str,
           limit: int) -> Iterator[tuple[Operation, Probe]]:
    """Every hostile request for every operation, in route order."""
    bodies = raw_bodies(limit)
    schemas = json_bodies(app)
    seen_paths: set[str] = set()
    for op in operations(app):
        url = _fill(op.path, valid)
        for name in PATH_PARAM.findall(op.path):
            for value in HOSTILE_PATH:
                yield op, Probe(op.method, _fill(op.path, {**valid, name: value}),
                                label=f"path {name}={value[:20]}")
        for name in query_names(op.dependant):
            for value in HOSTILE_QUERY:
                yield op, Probe(op.method, f"{url}?{name}={value}",
                                label=f"query {name}={value[:20]}")
        for query in HOSTILE_QUERY_STRINGS:
            yield op, Probe(op.method, f"{url}?{query}", label=f"query {query[:20]}")
        # A route that reads no body does the same work whatever the body is; an id that
        # names nothing keeps that work short (evidence packs and password hashes are slow).
        body_url = url if _reads_body(op.dependant) else _fill(op.path, {**valid, **ABSENT})
        for label, content, ctype in bodies:
            yield op, Probe(op.method, body_url, content, ctype, label)
        yield from _valid_but_unstorable(op, valid, pool, csrf, schemas)
        if op.path not in seen_paths:
            seen_paths.add(op.path)
            for method in EXTRA_METHODS:
                yield op, Probe(method, url, b"{}", "application/json", "unrouted method")


def _valid_but_unstorable(
    op: Operation, valid: dict[str, str], pool: AlertPool, csrf: str,
    schemas: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]],
) -> Iterator[tuple[Operation, Probe]]:
    """Bodies that pass validation and carry NUL or a lone surrogate in each text field."""

    def target() -> tuple[str, int]:
        alert = pool.fresh(safeguarding="acknowledge" in op.path)
        return _fill(op.path, {**valid, "alert_id": str(alert)}), alert

    if (op.method, op.path) in schemas:
        schema, defs = schemas[(op.method, op.path)]
        for text in UNSTORABLE:
            url, alert = target()
            body = json.dumps(_example(schema, defs, text, alert)).encode()
            yield op, Probe(op.method, url, body, "application/json",
                            f"valid json with {text!r}")
    fields = form_fields(op.dependant)
    if not fields:
        return
    enums = {name: _enum_of(a) for name, a in fields.items() if _enum_of(a) is not None}
    choices = [(name, member.value) for name, kind in enums.items()
               for member in kind] or [("", "")]  # type: ignore[union-attr]
    for enum_name, enum_value in choices:
        for text in UNSTORABLE_FORM:
            form = {name: next(iter(kind)).value  # type: ignore[union-attr]
                    for name, kind in enums.items()}
            if enum_name:
                form[enum_name] = enum_value
            pairs = [f"{quote(k)}={quote(str(v))}" for k, v in form.items()]
            pairs += [f"{quote(k)}={text}" for k, a in fields.items()
                      if k not in enums and _is_text(a)]
            pairs.append(urlencode({"csrftoken": csrf}))
            url, alert = target()
            pairs.append(urlencode({"ids": alert}))
            yield op, Probe(op.method, url, "&".join(pairs).encode(), FORM,
                            f"valid form {enum_name}={enum_value} with {text}")


@dataclass
class Outcome:
    """What one identity's run saw."""

    sent: int
    statuses: Counter[int]
    server_errors: list[str]
    answered: dict[str, set[int]]
    relogins: int


def run_fuzz(runtime: Runtime, seeded: Seeded, accounts: dict[str, tuple[str, str]], *,
             signed_in: bool) -> Outcome:
    """Send every probe as one identity; re-sign-in whenever a probe ended the session."""
    app = create_app(runtime)
    # Exceptions reach the test, so one raised after a streamed answer began is seen too.
    client = TestClient(app)
    assert client.get("/login").status_code == 200
    csrf = client.cookies["csrftoken"]
    if signed_in:
        login(client, *accounts["admin"])
    valid = {"alert_id": str(seeded.abuse), "username": accounts["moderator"][0],
             "path": "app.css", "request_id": "1", "hold_id": "1", "rule_id": "1"}
    outcome = Outcome(0, Counter(), [], {}, 0)
    pool = AlertPool(runtime, seeded=seeded, fresh=signed_in)
    current: Operation | None = None
    for op, probe in probes(app, valid, pool, csrf, runtime.settings.web.max_body_bytes):
        if signed_in and op is not current:
            current = op
            if client.get("/api/v1/me").status_code != 200:
                outcome.relogins += 1
                login(client, *accounts["admin"])
        headers = {"content-type": probe.content_type} if probe.content_type else {}
        outcome.sent += 1
        where = f"{probe.method} {probe.url[:120]} [{probe.label}]"
        try:
            response = client.request(probe.method, probe.url, content=probe.content,
                                      headers=headers, follow_redirects=False)
        except Exception as exc:
            # The app raised: a 500, or a streamed answer cut short after its 200 was sent.
            outcome.server_errors.append(f"{where}: raised {type(exc).__name__}: {exc}"[:400])
            outcome.statuses[0] += 1
            continue
        outcome.statuses[response.status_code] += 1
        outcome.answered.setdefault(f"{op.method} {op.path}", set()).add(response.status_code)
        if response.status_code >= 500:
            outcome.server_errors.append(
                f"{where}: {response.status_code} {response.text[:200]!r}")
    client.close()
    print(f"\nfuzz signed_in={signed_in}: {outcome.sent} requests to "
          f"{len(outcome.answered)} operations, {pool.count} fresh alerts, "
          f"{outcome.relogins} re-sign-ins, statuses {sorted(outcome.statuses.items())}")
    return outcome


@pytest.mark.slow
@pytest.mark.parametrize("signed_in", [False, True], ids=["signed-out", "admin"])
def test_no_route_answers_hostile_input_with_a_server_error(
        runtime: Runtime, seeded: Seeded, accounts: dict[str, tuple[str, str]],
        signed_in: bool) -> None:
    outcome = run_fuzz(runtime, seeded, accounts, signed_in=signed_in)
    assert not outcome.server_errors, (
        f"{len(outcome.server_errors)} of {outcome.sent} requests got a server error:\n"
        + "\n".join(outcome.server_errors[:40]))
    # Not vacuous: every route was reached, and signed in, every API route got past the
    # session check at least once (a lost session would make every probe a 401).
    assert len(outcome.answered) >= 50
    assert outcome.sent >= 3000
    if signed_in:
        for name, statuses in outcome.answered.items():
            if " /api/v1/" in name:
                assert statuses - {401, 403}, f"{name} only answered {statuses}"
