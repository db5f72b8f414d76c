"""`ace data review DIR`: the review page, served on loopback.

    GET  /                       the page (static/review.html, review.js, review.css)
    GET  /api/facets             the filters' values and counts, the scores and their ranges
    GET  /api/items?...          one page of the grid (filters, score range, sort, offset)
    GET  /api/sample/KEY         one sample in full: frames, masks, scores, provenance,
                                 every decision recorded about it
    GET  /api/member/KEY/NAME    an image or mask member of an accepted sample
    GET  /api/strip/KEY.jpg      frames | masks | target in one JPEG, as the audit page
    POST /api/decide             {"keys", "decision", "reason", "by"}: recorded at once in the
                                 curation table (one new file), answered with the rows

Nothing outside DIR is served: files are named only by sample keys found in the index and
member names found in its rows. Loopback only (local_server.py), and decisions are taken
only as JSON. Untrusted corpus text reaches the page only as JSON, and the page writes it as
text.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from flask import Flask, abort, jsonify, request

from dataengine.audit.strips import strip
from dataengine.corpus.curation import DECISIONS, decision_rows, record_decisions
from dataengine.review.catalogue import Catalogue, Query
from dataengine.review.local_server import guard_loopback, page_asset, serve_locally
from dataengine.schema import STATUS_OK
from dataengine.sinks.encode import encode_jpeg

STRIP_HEIGHT = 96
STATIC = {"dom.js": "text/javascript", "review.js": "text/javascript", "review.css": "text/css"}


def make_app(out: Path, reviewer: str, name: str) -> Flask:
    app = Flask(__name__, static_folder=None)
    guard_loopback(app)
    catalogue = Catalogue(out)

    @app.get("/")
    def page():
        return _asset("review.html"), {"Content-Type": "text/html; charset=utf-8"}

    @app.get("/static/<name>")
    def asset(name: str):
        if name not in STATIC:
            abort(404)
        return _asset(name), {"Content-Type": STATIC[name]}

    @app.get("/api/facets")
    def facets():
        return jsonify({**catalogue.facets(), "name": name, "reviewer": reviewer})

    @app.get("/api/items")
    def items():
        return jsonify(catalogue.query(_query(request.args)))

    @app.get("/api/sample/<key>")
    def sample(key: str):
        found = catalogue.sample(key)
        return jsonify(found) if found else abort(404)

    @app.get("/api/member/<key>/<member>")
    def member(key: str, member: str):
        data = catalogue.member(key, member)
        if data is None:
            abort(404)
        kind = mimetypes.guess_type(f"x.{member}")[0] or "application/octet-stream"
        return data, {"Content-Type": kind, "Cache-Control": "max-age=3600"}

    @app.get("/api/strip/<key>.jpg")
    def strip_of(key: str):
        members = catalogue.sample_members(key)
        if members is None:
            abort(404)
        image = encode_jpeg(strip(members, STRIP_HEIGHT), 85)
        return image, {"Content-Type": "image/jpeg", "Cache-Control": "max-age=3600"}

    @app.post("/api/decide")
    def decide():
        if not request.is_json:
            abort(415)
        body = request.get_json(silent=True) or {}
        problem = _decision_problem(catalogue, body)
        if problem:
            return jsonify({"error": problem}), 400
        by = str(body.get("by") or reviewer)
        rows = decision_rows(list(body["keys"]), body["decision"], body.get("reason") or None, by)
        record_decisions(out, rows, by)
        return jsonify({"rows": rows})

    return app


def _asset(name: str) -> str:
    return page_asset("dataengine.review", name)


def _query(args) -> Query:
    def number(name: str) -> float | None:
        try:
            return float(args[name]) if args.get(name, "") != "" else None
        except ValueError:
            return None

    filters = {name: args[name] for name in args if name not in Query.__dataclass_fields__}
    return Query(
        filters=filters,
        score=args.get("score") or None,
        low=number("low"),
        high=number("high"),
        sort=args.get("sort", "key"),
        offset=max(0, int(number("offset") or 0)),
        limit=max(1, int(number("limit") or 60)),
    )


def _decision_problem(catalogue: Catalogue, body: dict) -> str | None:
    keys, decision = body.get("keys"), body.get("decision")
    if decision not in DECISIONS:
        return f"decision {decision!r} is not one of {', '.join(DECISIONS)}"
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
        return "keys must be a non-empty list of sample keys"
    for key in keys:
        row = catalogue.row(key)
        if row is None:
            return f"{key[:40]!r} is no sample key of this corpus"
        if row["status"] != STATUS_OK:
            return f"{key}: not a sample in the shards (status {row['status']})"
    return None


def serve(out: Path, port: int, reviewer: str, name: str) -> None:
    """Serve until Ctrl-C or SIGTERM; print the URL first (port 0: a free one)."""
    app = make_app(out, reviewer, name)
    serve_locally(app, port, lambda url: f"reviewing {out} at {url} (Ctrl-C stops)")
