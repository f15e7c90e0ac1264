"""``uue serve``'s API on a real uvicorn server (free loopback port) with a real HTTP client.

A bag-of-words embedder stands in for the model (tests/support/fakes.py); the CLI serve
command with a real (tiny) model is in tests/test_serve_cli.py, the page in test_serve_page.py.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

import httpx
import pytest

from storage.store import Store
from support.fakes import BagOfWordsEmbedder
from support.served_workspace import bow_workspace, write_users
from support.server import running_server
from uue.search.queries import Searcher
from uue.serve.settings import ServeSettings, load_api_key
from uue.serve.state import ServeState

KEY = "test-key-0123456789abcdef"


def make_state(tmp: Path, **settings) -> ServeState:
    store, home, model, _ = bow_workspace(tmp, write_users(tmp / "users.jsonl"))
    return ServeState(store=store, indexes_dir=home / "indexes", settings=ServeSettings(**settings), model=model)


@pytest.fixture
def server(tmp_path):
    state = make_state(tmp_path, api_key=KEY)
    with running_server(state) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield state, client
    state.store.close()


@pytest.fixture(scope="module")
def reader(tmp_path_factory):
    """One server for the tests that only read."""
    state = make_state(tmp_path_factory.mktemp("reader"), api_key=KEY)
    with running_server(state) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield state, client
    state.store.close()


def test_queries_answer_as_the_library_does(reader):
    state, client = reader
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready").json()
    assert ready["ready"] and set(ready["builds"]) == {"users", "statements"}
    searcher = Searcher(state.store, model=state.model)
    got = client.get("/audience", params={"text": "hiking trail", "k": 5}).json()
    assert got == [asdict(h) for h in searcher.audience("hiking trail", 5)]
    assert {h["user_id"].split("-")[0] for h in got} == {"hiking"}
    similar = client.get("/users/chess-0/similar", params={"k": 3}).json()
    assert similar == [asdict(h) for h in searcher.similar("chess-0", 3)]
    assert "chess-0" not in [h["user_id"] for h in similar]
    profile = client.get("/users/baking-2/profile", params={"k": 2, "statement": ["sourdough bread"]}).json()
    assert profile[0]["statement"] == "enjoys baking" and not profile[0]["requested"]
    assert profile[-1] == {"statement": "sourdough bread", "score": pytest.approx(profile[-1]["score"]), "requested": True}
    assert client.get("/users/chess-0").json()["metadata"] == {"country": "DE"}
    assert client.get("/statements").json() == ["enjoys hiking", "enjoys baking", "enjoys chess"]


def test_filters_and_batch(reader):
    _, client = reader
    fr = client.get("/audience", params={"text": "hiking", "k": 10, "where": ["country=FR", "platform=reddit"]}).json()
    assert {h["user_id"] for h in fr} == {"hiking-1", "baking-1", "chess-1"} and fr[0]["user_id"] == "hiking-1"
    windowed = client.get("/audience", params={"text": "hiking", "since": "2024-03-01"}).json()
    assert {h["user_id"].split("-")[0] for h in windowed} == {"chess"}  # only chess users wrote in March
    batch = client.post("/audience/batch", json={"statements": ["enjoys hiking", "chess rook"], "k": 3,
                                                 "where": ["country=DE"]})
    assert batch.status_code == 200
    for item in batch.json():
        single = client.get("/audience", params={"text": item["statement"], "k": 3, "where": "country=DE"}).json()
        assert item["users"] == single


@pytest.mark.parametrize("path, params, status, says", [
    ("/audience", {"text": "x", "where": "shoe_size=9"}, 422, "unknown filter key 'shoe_size'"),
    ("/audience", {"text": "x", "where": "no-equals-sign"}, 422, "expected KEY=VALUE"),
    ("/audience", {"text": "x", "since": "yesterday"}, 422, "ISO 8601"),
    ("/audience", {"text": "   "}, 422, "the statement is empty"),
    ("/audience", {"text": "x", "k": 0}, 422, "k"),
    ("/audience", {"text": "x", "k": 1001}, 422, "k"),
    ("/audience", {"text": "x", "explain": "true", "explain_top": 99}, 422, "explain_top"),
    ("/audience", {"text": "x", "recall": 1.5}, 422, "recall"),
    ("/audience", {"text": "x", "recall": 0.9}, 422, "--recall does not apply to the users index ('Flat')"),
    ("/users/nobody/similar", {}, 404, "unknown user 'nobody'"),
    ("/users/nobody/profile", {}, 404, "unknown user 'nobody'"),
    ("/users/nobody", {}, 404, "unknown user 'nobody'"),
    ("/no/such/route", {}, 404, "Not Found"),
])
def test_errors_are_json_with_a_fitting_status(reader, path, params, status, says):
    _, client = reader
    response = client.get(path, params=params)
    assert response.status_code == status
    body = response.json()
    assert body["status"] == status and says in body["error"] and "Traceback" not in response.text


def test_batch_sizes_are_bounded(reader):
    _, client = reader
    too_many = client.post("/audience/batch", json={"statements": ["x"] * 65})
    assert too_many.status_code == 422 and "statements" in too_many.json()["error"]
    assert client.post("/audience/batch", json={"statements": []}).status_code == 422


def test_a_bug_is_a_plain_500_never_a_traceback(server, monkeypatch):
    state, client = server

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(state.searcher, "audience", broken)
    response = client.get("/audience", params={"text": "x"})
    assert response.status_code == 500
    assert response.json() == {"error": "internal server error (logged on the server)", "status": 500}
    assert "secret" not in response.text


def test_explain_names_the_chunks_that_matched(reader):
    _, client = reader
    hits = client.get("/audience", params={"text": "mountain trail hiking", "k": 3, "explain": "true",
                                           "explain_top": 2}).json()
    for hit in hits:
        why = hit["explanation"]
        assert why["chunks"] == why["scored"] == 3 and len(why["top"]) == 2
        assert "hiking" in why["top"][0]["text"]  # the topical chunk, not the chatter
        assert why["top"][0]["score"] > why["top"][1]["score"]
    plain = client.get("/audience", params={"text": "mountain trail hiking", "k": 3}).json()
    assert all("explanation" not in h for h in plain)
    profile = client.get("/users/chess-4/profile", params={"k": 3, "statement": "the weather", "explain": "true",
                                                           "explain_top": 1}).json()
    by_statement = {h["statement"]: h["explanation"]["top"][0] for h in profile}
    assert "chess" in by_statement["enjoys chess"]["text"]
    assert "weather" in by_statement["the weather"]["text"]


def test_write_endpoints_need_the_key(server):
    state, client = server
    record = {"user_id": "newbie", "chunks": [{"text": "chess endgame rook gambit"}]}
    assert client.post("/users", json={"users": [record]}).status_code == 401
    wrong = client.post("/users", json={"users": [record]}, headers={"X-API-Key": KEY[:-1] + "x"})
    assert wrong.status_code == 401 and "API key" in wrong.json()["error"]
    assert client.post("/index/build", json={}).status_code == 401
    bad = client.post("/users", json={"users": [record, {"user_id": "broken", "chunks": []}]},
                      headers={"X-API-Key": KEY})
    assert bad.status_code == 422 and bad.json()["error"].startswith("users[1]: 'chunks'")
    assert client.get("/users/newbie").status_code == 404  # nothing of the bad request was written
    ok = client.post("/users", json={"users": [record], "statements": ["plays chess online"]},
                     headers={"X-API-Key": KEY})
    assert ok.status_code == 200 and ok.json()["users_added"] == 1
    stale = client.get("/users/newbie/similar")
    assert stale.status_code == 409 and "uue index build" in stale.json()["error"]


def test_without_a_key_writes_are_off(tmp_path):
    state = make_state(tmp_path)
    with running_server(state) as url:
        response = httpx.post(f"{url}/users", json={"users": []}, headers={"X-API-Key": KEY})
    assert response.status_code == 403 and "UUE_API_KEY" in response.json()["error"]


def test_body_size_is_limited(tmp_path):
    state = make_state(tmp_path, api_key=KEY, max_body_bytes=2048)
    big = {"users": [{"user_id": "big", "chunks": [{"text": "x" * 4096}]}]}
    with running_server(state) as url:
        declared = httpx.post(f"{url}/users", json=big, headers={"X-API-Key": KEY})
        streamed = httpx.post(f"{url}/users", content=iter([json.dumps(big).encode()]),
                              headers={"X-API-Key": KEY, "content-type": "application/json"})
    for response in (declared, streamed):
        assert response.status_code == 413 and "2048 bytes" in response.json()["error"]


def _wait_for_build(client: httpx.Client) -> dict:
    deadline = time.monotonic() + 300  # a build beside 8 busy clients on 2 loaded cores can take minutes
    while (job := client.get("/index/status").json()["job"])["state"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return job


def test_a_new_build_is_served_without_a_restart_under_load(server):
    state, client = server
    before = client.get("/index/status").json()["active"]["users"]["id"]
    record = {"user_id": "newbie", "chunks": [{"text": "sourdough flour oven"}]}
    assert client.post("/users", json={"users": [record]}, headers={"X-API-Key": KEY}).status_code == 200
    failures, answers = [], []
    stop = threading.Event()

    def load():
        with httpx.Client(base_url=str(client.base_url), timeout=30) as own:
            while not stop.is_set():
                r = own.get("/audience", params={"text": "baking bread", "k": 3, "where": "country=DE"})
                (answers if r.status_code == 200 else failures).append(r.status_code)

    with ThreadPoolExecutor(8) as pool:
        for _ in range(8):
            pool.submit(load)
        try:
            for full in (False, True):
                started = client.post("/index/build", json={"full": full}, headers={"X-API-Key": KEY})
                assert started.status_code == 202
                assert _wait_for_build(client)["state"] == "done"
        finally:  # a failed wait must not leave the clients running: the pool would wait for them forever
            stop.set()
    assert failures == [] and len(answers) > 8
    status = client.get("/index/status").json()
    assert status["active"]["users"]["id"] > before and status["active"]["users"]["count"] == 19
    assert "path" not in status["active"]["users"]
    assert client.get("/users/newbie/similar", params={"k": 1}).json()[0]["user_id"].startswith("baking")


def test_a_second_build_while_one_runs_is_refused(server, monkeypatch):
    state, client = server
    release = threading.Event()
    monkeypatch.setattr(state, "_build", lambda job, *a: (release.wait(10), setattr(job, "state", "done")))
    assert client.post("/index/build", json={}, headers={"X-API-Key": KEY}).status_code == 202
    second = client.post("/index/build", json={}, headers={"X-API-Key": KEY})
    release.set()
    assert second.status_code == 409 and "still running" in second.json()["error"]


def test_metrics(server):
    _, client = server
    client.get("/audience", params={"text": "chess"})
    client.get("/users/nobody/similar")
    text = client.get("/metrics").text
    assert 'uue_http_requests_total{method="GET",route="/audience",status="200"} 1.0' in text
    assert 'route="/users/{user_id}/similar",status="404"' in text and "nobody" not in text
    assert 'uue_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/audience"}' in text
    assert 'uue_index_vectors{kind="users"} 18.0' in text and "uue_model_id 1.0" in text


def test_ready_says_why_not(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    store = Store(f"sqlite:///{home / 'uue.db'}")
    state = ServeState(store=store, indexes_dir=home / "indexes", model=BagOfWordsEmbedder())
    with running_server(state) as url:
        ready = httpx.get(f"{url}/ready")
        query = httpx.get(f"{url}/audience", params={"text": "x"})
    assert ready.status_code == 503 and "uue train" in ready.json()["problems"][0]
    assert query.status_code == 409
    store.close()


def test_api_key_sources(tmp_path, monkeypatch):
    from storage.errors import UUEError

    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n")
    assert load_api_key(key_file, environ={}) == KEY
    assert load_api_key(None, environ={"UUE_API_KEY": KEY}) == KEY
    assert load_api_key(None, environ={"UUE_API_KEY_FILE": str(key_file)}) == KEY
    assert load_api_key(None, environ={}) is None
    with pytest.raises(UUEError, match="shorter than 16"):
        load_api_key(None, environ={"UUE_API_KEY": "short"})
    with pytest.raises(UUEError, match="cannot read the API key file"):
        load_api_key(tmp_path / "missing", environ={})
    assert KEY not in repr(ServeSettings(api_key=KEY))


def test_append_adds_chunks_and_list_filters(server):
    _, client = server
    record = {"user_id": "chess-0", "chunks": [{"text": "sourdough oven bread", "timestamp": "2024-06-01T00:00:00Z"}]}
    appended = client.post("/users", json={"users": [record], "mode": "append"}, headers={"X-API-Key": KEY})
    assert appended.status_code == 200, appended.text
    chunks = client.get("/users/chess-0").json()["chunks"]
    assert len(chunks) == 4 and chunks[-1]["text"] == "sourdough oven bread"
    assert client.post("/users", json={"users": [record], "mode": "merge"}, headers={"X-API-Key": KEY}).status_code == 422
    listed = client.get("/users", params={"where": "country=FR", "limit": 2}).json()
    assert listed["total"] == 9 and [u["user_id"] for u in listed["users"]] == ["hiking-1", "hiking-3"]
    assert client.get("/users", params={"limit": 0}).status_code == 422


def test_a_deleted_user_is_never_seen_again(server):
    _, client = server
    assert "hiking-2" in [h["user_id"] for h in client.get("/audience", params={"text": "hiking", "k": 18}).json()]
    assert client.delete("/users/hiking-2").status_code == 401
    deleted = client.delete("/users/hiking-2", headers={"X-API-Key": KEY})
    assert deleted.status_code == 200 and deleted.json()["deleted"] == ["hiking-2"]
    assert client.delete("/users/hiking-2", headers={"X-API-Key": KEY}).status_code == 404
    many = client.post("/users/delete", json={"user_ids": ["baking-1", "nobody"]}, headers={"X-API-Key": KEY}).json()
    assert many["deleted"] == ["baking-1"] and many["unknown"] == ["nobody"]
    gone = {"hiking-2", "baking-1"}
    for _ in range(2):  # before the next build, and after it
        seen = {h["user_id"] for h in client.get("/audience", params={"text": "hiking", "k": 100}).json()}
        seen |= {h["user_id"] for h in client.get("/users/hiking-0/similar", params={"k": 100}).json()}
        batch = client.post("/audience/batch", json={"statements": ["baking bread"], "k": 100}).json()
        seen |= {h["user_id"] for h in batch[0]["users"]}
        assert len(seen) == 16 and not seen & gone
        assert client.get("/users/hiking-2").status_code == 404
        assert client.get("/users/hiking-2/similar").status_code == 404
        assert client.post("/index/build", json={}, headers={"X-API-Key": KEY}).status_code == 202
        assert _wait_for_build(client)["state"] == "done"
    assert client.get("/index/status").json()["active"]["users"]["count"] == 16


def test_a_bad_factory_is_refused_before_the_build(server):
    _, client = server
    bad = client.post("/index/build", json={"factory": "NoSuchIndex42"}, headers={"X-API-Key": KEY})
    assert bad.status_code == 422 and "NoSuchIndex42" in bad.json()["error"]
    assert client.get("/index/status").json()["job"]["state"] == "idle"


def test_activating_another_model_is_refused_until_a_build(server):
    state, client = server
    first = state.store.active_model()
    assert client.get("/audience", params={"text": "chess"}).status_code == 200
    state.store.register_model("/elsewhere/other", "bag-of-words", 64)  # activates it
    stale = client.get("/audience", params={"text": "chess"})
    assert stale.status_code == 409 and "uue index rebuild" in stale.json()["error"]
    assert client.get("/ready").status_code == 503
    state.store.register_model(first.path, first.base_model, 64)  # the first one again
    assert client.get("/audience", params={"text": "chess"}).status_code == 200
