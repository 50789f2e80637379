import subprocess
import sys

import gymhall


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert gymhall.__all__ == sorted(gymhall._EXPORTS)
    for name in gymhall.__all__:
        assert getattr(gymhall, name) is not None, name


def test_seed_names_are_exported() -> None:
    seed_names = {
        "SimpleResourcesServer",
        "BaseResourcesServerConfig",
        "BaseVerifyRequest",
        "BaseVerifyResponse",
        "BaseSeedSessionRequest",
        "BaseSeedSessionResponse",
        "SESSION_ID_KEY",
    }
    assert seed_names <= set(gymhall.__all__)
    assert gymhall.SESSION_ID_KEY == "session_id"


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        gymhall.NoSuchThing  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_import_gymhall_loads_no_web_stack() -> None:
    heavy = "('fastapi', 'openai', 'uvicorn', 'httpx', 'ray')"
    code = f"import sys, gymhall; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
