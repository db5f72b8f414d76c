"""The review server's API: queries, one sample, members, decisions into the curation
table; and what it refuses (other hosts, other files, bad decisions)."""

from __future__ import annotations

import json

import pytest

from dataengine.corpus.curation import read_decisions, rejected_keys
from dataengine.corpus.read import read_index
from dataengine.review.server import make_app

HOST = {"base_url": "http://127.0.0.1:8765"}


@pytest.fixture
def client(corpus):
    return make_app(corpus, "tester", "tiny").test_client()


def get(client, url):
    reply = client.get(url, **HOST)
    assert reply.status_code == 200, (url, reply.status_code)
    return reply.get_json()


def decide(client, keys, decision, by="ana", reason=None):
    return client.post(
        "/api/decide", json={"keys": keys, "decision": decision, "by": by, "reason": reason}, **HOST
    )


def test_filters_sort_and_pages_match_the_index(client, corpus):
    rows = read_index(corpus).to_pylist()
    gray = [r for r in rows if r["task"] == "grayscale" and r["split"] == "bench"]
    page = get(client, "/api/items?task=grayscale&split=bench&sort=-ssim&limit=3")
    assert page["total"] == len(gray)
    ssims = sorted((r["score_ssim"] for r in gray), reverse=True)[:3]
    assert [item["scores"]["ssim"] for item in page["items"]] == pytest.approx(ssims)
    rest = get(client, "/api/items?task=grayscale&split=bench&sort=-ssim&limit=3&offset=3")
    assert len(page["items"]) + len(rest["items"]) == min(6, len(gray))
    low = min(r["score_ssim"] for r in gray)
    ranged = get(client, f"/api/items?task=grayscale&split=bench&score=ssim&low={low + 1e-9}")
    assert ranged["total"] == len(gray) - sum(r["score_ssim"] == low for r in gray)
    facets = get(client, "/api/facets")
    assert dict(facets["facets"]["task"])["grayscale"] == sum(
        r["task"] == "grayscale" for r in rows
    )


def test_decisions_go_to_the_curation_table_and_both_reviewers_are_kept(client, corpus):
    key = get(client, "/api/items?task=inpainting")["items"][0]["key"]
    assert decide(client, [key], "reject", "ana", "mask misses the hole").status_code == 200
    assert rejected_keys(corpus) == {key}
    assert decide(client, [key], "verify", "bo").status_code == 200
    assert read_decisions(corpus)[key]["by"] == "bo" and not rejected_keys(corpus)
    sample = get(client, f"/api/sample/{key}")
    assert [(r["by"], r["decision"]) for r in sample["history"]] == [
        ("ana", "reject"),
        ("bo", "verify"),
    ]
    assert sample["decision"]["decision"] == "verify"
    assert get(client, "/api/items?decision=verify")["items"][0]["key"] == key
    assert decide(client, [key], "clear", "bo").status_code == 200
    assert get(client, "/api/items?decision=verify")["total"] == 0


def test_one_sample_and_its_members(client, corpus):
    key = get(client, "/api/items?task=inpainting")["items"][0]["key"]
    sample = get(client, f"/api/sample/{key}")
    frame = sample["frames"][0]
    assert frame["mask"] and frame["mask_role"] == "edit"
    image = client.get(f"/api/member/{key}/{frame['image']}", **HOST)
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/jpeg"
    assert image.data[:2] == b"\xff\xd8"
    strip = client.get(f"/api/strip/{key}.jpg", **HOST)
    assert strip.status_code == 200 and strip.data[:2] == b"\xff\xd8"
    assert sample["provenance"]["recipe"] == "tiny"


@pytest.mark.parametrize(
    "url",
    [
        "/api/member/{key}/json",  # the record is not an image
        "/api/member/{key}/..%2F..%2Frun.json",
        "/api/member/..%2F..%2Frun.json/src0.jpg",
        "/api/member/{key}/src7.jpg",  # not a member of this sample
        "/api/sample/%2E%2E",
        "/static/..%2Fserver.py",
        "/run.json",
    ],
)
def test_nothing_but_samples_members_is_served(client, url):
    key = get(client, "/api/items")["items"][0]["key"]
    assert client.get(url.format(key=key), **HOST).status_code == 404


def test_other_hosts_and_cross_origin_forms_are_refused(client, corpus):
    assert client.get("/api/facets", base_url="http://evil.example:8765").status_code == 403
    key = get(client, "/api/items")["items"][0]["key"]
    form = client.post(
        "/api/decide", data={"keys": key, "decision": "reject"}, **HOST
    )  # what a page of another origin can send without a preflight
    assert form.status_code == 415
    foreign = client.post(
        "/api/decide",
        json={"keys": [key], "decision": "reject", "by": "x"},
        headers={"Origin": "http://evil.example"},
        **HOST,
    )
    assert foreign.status_code == 403
    assert not (corpus / "curation").exists() or not rejected_keys(corpus)


def test_bad_decisions_are_refused_with_a_message(client, corpus):
    key = get(client, "/api/items")["items"][0]["key"]
    reply = decide(client, [key], "delete")
    assert reply.status_code == 400 and "not one of accept" in reply.get_json()["error"]
    reply = decide(client, ["0" * 32], "reject")
    assert "no sample key" in reply.get_json()["error"]
    reply = decide(client, ["../../x"], "reject")
    assert reply.status_code == 400
    assert json.loads(json.dumps(read_decisions(corpus))) == {}
