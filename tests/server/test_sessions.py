import asyncio
import base64
import hashlib
import hmac

import pytest

from gymhall.exceptions import InvalidSessionHandle, ServerBusy, SessionNotFound
from gymhall.server.sessions import HandleSigner, SessionLifecycle, SessionStore


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_handle_round_trips_through_signer() -> None:
    signer = HandleSigner()
    assert signer.unsign(signer.sign("abc")) == "abc"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda h: h[:-1] + ("A" if h[-1] != "A" else "B"),  # tampered signature
        lambda h: "x" + h,  # tampered id
        lambda h: h.split(".")[0],  # signature stripped
        lambda h: "." + h.split(".")[1],  # id stripped
        lambda h: h + "x" * 300,  # oversized
    ],
)
def test_tampered_handles_are_refused(mutate) -> None:
    signer = HandleSigner()
    with pytest.raises(InvalidSessionHandle):
        signer.unsign(mutate(signer.sign("session-1")))


def test_handle_from_another_server_is_refused() -> None:
    with pytest.raises(InvalidSessionHandle, match="invalid signature"):
        HandleSigner().unsign(HandleSigner().sign("session-1"))


def test_configured_secret_is_shared_and_must_be_long() -> None:
    secret = "a-long-enough-secret-value"
    assert HandleSigner(secret).unsign(HandleSigner(secret).sign("s")) == "s"
    with pytest.raises(ValueError, match="at least 16 bytes"):
        HandleSigner("short")


@pytest.mark.parametrize("secret", [b"k" * 16, b"0123456789abcdef" * 4, b"a-much-longer-secret-than-one-block" * 3])
def test_signature_is_hmac_sha256_of_the_id(secret: bytes) -> None:
    # Handles signed before the signer was sped up (and by other servers sharing the secret) stay valid.
    for session_id in ("s", "abc-DEF_123", "x" * 200):
        digest = hmac.new(secret, session_id.encode(), hashlib.sha256).digest()[:16]
        expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        assert HandleSigner(secret).sign(session_id) == f"{session_id}.{expected}"


def test_store_creates_gets_and_closes() -> None:
    store = SessionStore()
    session = store.create({"x": 1})
    assert store.get(session.id) is session
    assert store.close(session.id) is True
    assert store.close(session.id) is False
    assert session.lifecycle is SessionLifecycle.CLOSED
    with pytest.raises(SessionNotFound, match=session.id):
        store.get(session.id)


def test_unknown_session_is_refused_with_its_name() -> None:
    with pytest.raises(SessionNotFound, match="'nope'.*seed_session"):
        SessionStore().get("nope")


def test_lease_expires_without_use_and_renews_with_use() -> None:
    clock = FakeClock()
    store = SessionStore(ttl_seconds=10, clock=clock)
    kept, dropped = store.create(), store.create()
    for _ in range(3):
        clock.now += 6
        store.get(kept.id)
    with pytest.raises(SessionNotFound, match="expire"):
        store.get(dropped.id)
    assert store.get(kept.id) is kept


def test_reaper_frees_only_expired_sessions() -> None:
    clock = FakeClock()
    store = SessionStore(ttl_seconds=10, clock=clock)
    old = [store.create() for _ in range(5)]
    clock.now += 6
    young = [store.create() for _ in range(3)]
    clock.now += 5
    assert store.reap() == 5
    assert len(store) == 3
    assert all(s.id in store for s in young) and not any(s.id in store for s in old)


def test_full_store_answers_busy_with_retry_after() -> None:
    clock = FakeClock()
    store = SessionStore(ttl_seconds=30, max_sessions=2, clock=clock)
    store.create(), store.create()
    with pytest.raises(ServerBusy, match="maximum of 2") as info:
        store.create()
    assert 1 <= int(info.value.headers["Retry-After"]) <= 31


def test_full_store_reclaims_expired_sessions_first() -> None:
    clock = FakeClock()
    store = SessionStore(ttl_seconds=30, max_sessions=2, clock=clock)
    store.create(), store.create()
    clock.now += 31
    assert store.create().id in store
    assert len(store) == 1


async def test_on_close_hook_runs_for_closed_and_reaped_sessions() -> None:
    closed: list[object] = []
    clock = FakeClock()
    store = SessionStore(ttl_seconds=10, on_close=lambda s: closed.append(s.state), clock=clock)
    a = store.create("a")
    store.create("b")
    store.close(a.id)
    clock.now += 11
    store.reap()
    await store.flush_closed()
    assert closed == ["a", "b"]


async def test_reaper_task_runs_until_cancelled() -> None:
    store = SessionStore(ttl_seconds=0.01)
    store.create()
    task = asyncio.create_task(store.run_reaper(0.01))
    for _ in range(100):
        if not len(store):
            break
        await asyncio.sleep(0.01)
    task.cancel()
    assert len(store) == 0


def test_invalid_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        SessionStore(ttl_seconds=0)
    with pytest.raises(ValueError):
        SessionStore(max_sessions=0)


@pytest.mark.parametrize("signature", ["\u00e9" * 22, "abc\u00ff", "\u4e2d"])
def test_a_non_ascii_handle_is_refused_not_crashed(signature: str) -> None:
    signer = HandleSigner()
    with pytest.raises(InvalidSessionHandle):
        signer.unsign(f"abc.{signature}")


# Boundaries found by the mutation run (bench/mutation.py): each test fails if its line is changed.


@pytest.mark.parametrize("handle", [".signature", "no-dot", "\u00e9.signature"])
def test_a_malformed_handle_is_named_malformed_not_a_bad_signature(handle: str) -> None:
    with pytest.raises(InvalidSessionHandle, match="malformed"):
        HandleSigner().unsign(handle)


def test_a_handle_of_256_characters_is_accepted_and_257_refused_as_malformed() -> None:
    signer = HandleSigner()
    longest = signer.sign("x" * 233)
    assert len(longest) == 256 and signer.unsign(longest) == "x" * 233
    too_long = signer.sign("x" * 234)
    with pytest.raises(InvalidSessionHandle, match="malformed"):
        signer.unsign(too_long)


def test_a_lease_ends_exactly_ttl_seconds_after_its_last_use() -> None:
    clock = FakeClock()
    store = SessionStore(ttl_seconds=10, clock=clock)
    kept, expired = store.create(), store.create()
    clock.now += 9.5
    store.get(kept.id)  # renewed until 1019.5
    clock.now += 0.5  # exactly 10 s after `expired` was created
    with pytest.raises(SessionNotFound):
        store.get(expired.id)
    assert store.get(kept.id) is kept
    clock.now += 10  # exactly 10 s after `kept` was last used
    assert store.reap() == 1 and len(store) == 0


@pytest.mark.parametrize(("elapsed", "retry_after"), [(10.5, "20"), (29.5, "1")])
def test_retry_after_is_the_seconds_until_the_oldest_lease_ends_rounded_up(elapsed: float, retry_after: str) -> None:
    clock = FakeClock()
    store = SessionStore(ttl_seconds=30, max_sessions=2, clock=clock)
    store.create(), store.create()
    clock.now += elapsed
    with pytest.raises(ServerBusy) as info:
        store.create()
    assert info.value.headers["Retry-After"] == retry_after


def test_a_store_of_one_session_is_allowed() -> None:
    store = SessionStore(max_sessions=1)
    store.create()
    with pytest.raises(ServerBusy, match="maximum of 1"):
        store.create()
