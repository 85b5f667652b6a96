"""Consumer pins: a service's requirements.in moves to the released versions, its lock carries our
hashes, and a fresh venv installs it with ``pip --require-hashes``."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from commons_tools.errors import PinError
from commons_tools.index import RunningIndex
from commons_tools.pins import locked_versions, run_pins, service_python, verify_lock_sources
from commons_tools.publish import publish_files
from commons_tools.simple_api import IndexTarget

REPO = Path(__file__).resolve().parents[2]
SERVICE_IN = """\
# The orders service's direct needs.
django>=5.2
common-utils>=0.1.0,<0.2
common-auth[django]  # tokens from the users service
common-clients
"""


def _service(tmp_path: Path, requirements_in: str = SERVICE_IN) -> Path:
    """A service folder holding ``requirements.in`` and nothing else."""
    service = tmp_path / "orders"
    service.mkdir()
    (service / "requirements.in").write_text(requirements_in)
    return service


@pytest.fixture
def private_index(index: RunningIndex, kit: Any, monkeypatch: pytest.MonkeyPatch) -> RunningIndex:
    """The ``index``, with this process's environment pointing the tools (``run_pins``) at it."""
    for variable, value in kit.index_env(index).items():
        monkeypatch.setenv(variable, value)
    return index


@pytest.fixture
def publish_tiny(
    tmp_path: Path, tiny_wheel: Callable[..., Path], index_target: IndexTarget
) -> Callable[..., None]:
    """``publish_tiny(name, payload)``: a tiny wheel of ``name`` 0.3.0 uploaded to ``index``."""

    def publish(name: str, payload: str = "X = 1\n") -> None:
        wheel = tiny_wheel(tmp_path / "wheels", name, "0.3.0", payload)
        publish_files(index_target, [wheel], say=lambda _: None)

    return publish


@pytest.mark.slow
def test_pinned_lock_installs_with_require_hashes_in_a_fresh_venv(
    kit: Any, index: RunningIndex, tmp_path: Path
) -> None:
    repo = kit.make_repo(
        fragments={
            "common-utils": {"+a.feature.md": "Added `common_utils.a`.\n"},
            "common-auth": {"+b.fix.md": "Fixed `common_auth.b`.\n"},
        }
    )
    released = kit.tool("release", repo=repo, env=kit.index_env(index))
    assert released.returncode == 0, released.stderr
    service = _service(tmp_path)
    requirements_in = service / "requirements.in"

    behind = kit.tool("pins", "--check", str(requirements_in), repo=repo, env=kit.index_env(index))
    assert behind.returncode == 1
    assert "common-utils>=0.1.0,<0.2 -> common-utils==0.2.0" in behind.stdout
    assert requirements_in.read_text() == SERVICE_IN
    assert not (service / "requirements.txt").exists()

    pinned = kit.tool("pins", str(requirements_in), repo=repo, env=kit.index_env(index))
    assert pinned.returncode == 0, pinned.stderr
    assert requirements_in.read_text() == SERVICE_IN.replace(
        "common-utils>=0.1.0,<0.2", "common-utils==0.2.0"
    ).replace("common-auth[django]  #", "common-auth[django]==0.1.1  #").replace(
        "common-clients\n", "common-clients==0.1.1\n"
    )
    lock = service / "requirements.txt"
    locked = locked_versions(lock)
    assert {
        name: str(locked[name][0]) for name in ("common-utils", "common-auth", "common-clients")
    } == {
        "common-utils": "0.2.0",
        "common-auth": "0.1.1",
        "common-clients": "0.1.1",
    }
    assert all(hashes for _, hashes in locked.values())
    assert index.credentials.password not in lock.read_text()
    up_to_date = kit.tool(
        "pins", "--check", str(requirements_in), repo=repo, env=kit.index_env(index)
    )
    assert up_to_date.returncode == 0, up_to_date.stdout + up_to_date.stderr

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    install = subprocess.run(
        [
            python,
            "-m",
            "pip",
            "--isolated",
            "install",
            "--quiet",
            "--require-hashes",
            "--only-binary",
            ":all:",
            "--index-url",
            index.simple_url,
            "--extra-index-url",
            "https://pypi.org/simple",
            "-r",
            str(lock),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    script = (
        "import json, common_utils, common_auth, common_clients\n"
        "print(json.dumps([m.__version__ for m in (common_utils, common_auth, common_clients)]))"
    )
    imported = subprocess.run(
        [python, "-I", "-c", script], capture_output=True, text=True, check=True
    )
    assert json.loads(imported.stdout) == ["0.2.0", "0.1.1", "0.1.1"]


def test_a_package_missing_from_the_private_index_is_an_error_not_a_public_fallback(
    kit: Any, private_index: RunningIndex, tmp_path: Path
) -> None:
    repo = kit.make_repo()
    service = _service(tmp_path)

    with pytest.raises(PinError, match=r"requirements\.in:3: common-utils has no release"):
        run_pins(repo, [service / "requirements.in"], check=False, say=lambda _: None)

    assert (service / "requirements.in").read_text() == SERVICE_IN
    assert not (service / "requirements.txt").exists()


def test_a_lock_with_foreign_hashes_for_our_name_is_refused(
    tmp_path: Path, index_target: IndexTarget
) -> None:
    lock = tmp_path / "requirements.txt"
    lock.write_text(
        "common-utils==2.0.1.dev1 \\\n    --hash=sha256:" + "ab" * 32 + "\n    # via -r x.in\n"
    )
    with pytest.raises(PinError, match="dependency confusion"):
        verify_lock_sources(index_target, lock, ["common-utils"])


def test_a_lock_that_fails_leaves_requirements_in_as_it_was(
    private_index: RunningIndex, tmp_path: Path, publish_tiny: Callable[..., None], kit: Any
) -> None:
    for name in ("common-utils", "common-auth", "common-clients"):
        publish_tiny(name)
    original = "common-utils>=0.1.0,<0.2\nno-such-distribution-commons-test==1.0\n"
    service = _service(tmp_path, original)

    with pytest.raises(PinError, match=r"requirements\.in: uv could not lock it"):
        run_pins(kit.make_repo(), [service / "requirements.in"], check=False, say=lambda _: None)

    assert (service / "requirements.in").read_text() == original
    assert sorted(p.name for p in service.iterdir()) == ["requirements.in"]


def test_the_public_common_utils_never_wins_over_ours(
    private_index: RunningIndex, tmp_path: Path, publish_tiny: Callable[..., None], kit: Any
) -> None:
    # PyPI has an unrelated common-utils 2.0.1.dev1: above ours, and taken with pre-releases on.
    publish_tiny("common-utils", "OURS = True\n")
    service = _service(tmp_path, "common-utils\n")

    run_pins(kit.make_repo(), [service / "requirements.in"], check=False, pre=True, say=print)

    locked = locked_versions(service / "requirements.txt")
    assert str(locked["common-utils"][0]) == "0.3.0"
    # The same resolution across indexes by best version would have taken the public package:
    # what the first-index order (and, for pip, the hashes) protects against.
    best_match = subprocess.run(
        [
            sys.executable, "-m", "uv", "pip", "compile", "-", "--quiet", "--no-header",
            "--prerelease", "allow", "--index", private_index.simple_url,
            "--index-strategy", "unsafe-best-match",
        ],
        input="common-utils\n",
        capture_output=True,
        text=True,
        check=True,
    )  # fmt: skip
    assert "common-utils==2.0.1.dev1" in best_match.stdout


def test_a_lock_of_other_builds_of_the_same_version_is_relocked_with_this_index_hashes(
    private_index: RunningIndex, tmp_path: Path, publish_tiny: Callable[..., None], kit: Any
) -> None:
    # The lock was made against another index, whose common-utils 0.3.0 has other bytes (a
    # staging index, or a fresh one): re-locking must take this index's files, not keep the old
    # lock's hashes as preferences.
    for name in ("common-utils", "common-auth", "common-clients"):
        publish_tiny(name)
    service = _service(tmp_path, "common-utils==0.3.0\n")
    stale = "ab" * 32
    (service / "requirements.txt").write_text(
        f"common-utils==0.3.0 \\\n    --hash=sha256:{stale}\n    # via -r requirements.in\n"
    )

    run_pins(kit.make_repo(), [service / "requirements.in"], check=False, say=lambda _: None)

    version, hashes = locked_versions(service / "requirements.txt")["common-utils"]
    assert str(version) == "0.3.0"
    assert stale not in hashes
    target = IndexTarget.from_env()
    assert target is not None
    verify_lock_sources(target, service / "requirements.txt", ["common-utils"])


@pytest.mark.usefixtures("private_index")
@pytest.mark.parametrize(("python", "locked"), [("3.11", True), ("3.13", False)])
def test_the_lock_is_made_for_the_python_the_service_names(
    tmp_path: Path,
    publish_tiny: Callable[..., None],
    kit: Any,
    python: str,
    locked: bool,
) -> None:
    publish_tiny("common-utils")
    service = _service(tmp_path, "common-utils\ntyping-extensions; python_version < '3.12'\n")
    (service / "pyproject.toml").write_text(f'[tool.uv.pip]\npython-version = "{python}"\n')

    run_pins(kit.make_repo(), [service / "requirements.in"], check=False, say=lambda _: None)

    assert ("typing-extensions" in locked_versions(service / "requirements.txt")) is locked


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[tool.uv.pip]\npython-version = "3.x"\n', "'3.x' is not a Python version"),
        ("[tool.uv.pip]\npython-version = 3.13\n", "3.13 is not a Python version"),
        ("[tool.uv.pip\n", "not readable TOML"),
    ],
)
def test_a_service_python_that_is_not_a_version_is_named(
    tmp_path: Path, content: str, message: str
) -> None:
    (tmp_path / "pyproject.toml").write_text(content)
    with pytest.raises(PinError, match=rf"pyproject\.toml: .*{message}"):
        service_python(tmp_path)


def test_a_service_python_from_a_symlink_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.toml"
    target.write_text('[tool.uv.pip]\npython-version = "3.13"\n')
    (tmp_path / "service").mkdir()
    (tmp_path / "service" / "pyproject.toml").symlink_to(target)
    with pytest.raises(PinError, match="a symlink"):
        service_python(tmp_path / "service")
    assert service_python(tmp_path) is None  # no pyproject.toml: no Python named


def test_each_example_service_names_the_python_of_its_django() -> None:
    for service in ("users", "orders", "notifications"):
        assert service_python(REPO / "services" / service) == "3.13"
