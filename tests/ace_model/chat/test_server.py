"""The chat server's API, and what it refuses."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from ace_model.chat.server import make_app
from tests.builders import photo

HOST = {"base_url": "http://127.0.0.1:8766"}


@pytest.fixture(scope="module")
def client(micro_run):
    from ace_model.sample import Sampler

    return make_app(Sampler(micro_run, "cpu"), [("a photo", photo(1))]).test_client()


@pytest.fixture
def talk(client):
    return client.post("/api/conversations", **HOST).get_json()["id"]


def png_upload() -> dict:
    buffer = io.BytesIO()
    Image.fromarray(photo(2)).save(buffer, format="PNG")
    return {"file": (io.BytesIO(buffer.getvalue()), "p.png")}


def test_a_turn_on_an_example_and_on_an_upload(client, talk):
    base = f"/api/conversations/{talk}"
    assert client.post(f"{base}/images", json={"example": 0}, **HOST).get_json() == {"image": 0}
    assert client.post(f"{base}/images", data=png_upload(), **HOST).get_json() == {"image": 1}
    body = {"instruction": "Put {image1} into {image}.", "inputs": [0, 1], "steps": 1}
    turn = client.post(f"{base}/turns", json=body, **HOST).get_json()
    assert turn == {"output": 2, "turn": 1, "history_frames": 0}
    image = client.get(f"{base}/images/2.png", **HOST)
    assert image.status_code == 200 and image.data[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"instruction": "Brighter {image}.", "inputs": [0], "steps": 0}, "steps is 0"),
        ({"instruction": "Brighter {image}.", "inputs": [0], "mask": "x"}, "PNG data URL"),
        ({"instruction": "Brighter {image}.", "inputs": [0], "mask": "data:,AAAA"}, "not an image"),
        ({"instruction": "Brighter {image}.", "inputs": [5]}, "image #5 is not in"),
    ],
)
def test_bad_turns_get_a_message(client, talk, body, message):
    base = f"/api/conversations/{talk}"
    client.post(f"{base}/images", json={"example": 0}, **HOST)
    reply = client.post(f"{base}/turns", json=body, **HOST)
    assert reply.status_code == 400 and message in reply.get_json()["error"]


def test_other_hosts_origins_and_conversations_are_refused(client, talk):
    assert client.get("/api/info", base_url="http://evil.example:8766").status_code == 403
    foreign = client.post("/api/conversations", headers={"Origin": "http://evil.example"}, **HOST)
    assert foreign.status_code == 403
    assert client.get("/api/conversations/nope/images/0.png", **HOST).status_code == 404
    assert client.get(f"/api/conversations/{talk}/sample.tar", **HOST).status_code == 400
    bad = client.post(f"/api/conversations/{talk}/images",
                      data={"file": (io.BytesIO(b"text"), "x.png")}, **HOST)  # fmt: skip
    assert bad.status_code == 400 and "not an image" in bad.get_json()["error"]
    assert client.get("/static/../server.py", **HOST).status_code == 404
