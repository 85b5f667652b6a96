"""Release pipeline wall times: a dry-run plan, and a full release of three packages to the local
index, each against a named baseline measured in the same run.

- baseline for the plan: ``towncrier build --draft`` of the three packages, the changelog preview
  a towncrier-only flow gives (our dry run adds the bump levels and the cascade to it);
- baseline for the release: ``python -m build`` of the three packages alone, the part no release
  can skip (the release adds changelogs, twine check, the install-and-import check in a fresh
  venv, the commit and tags, and the sha-aware upload).

Every run uses a fresh rehearsal repository (a breaking change in common-utils cascading to both
dependents) and a fresh pypiserver on a free 127.0.0.1 port that already holds the rehearsal's
earlier releases (published while preparing, untimed), so the run publishes its own six files.
Run: ``nox -s bench -- release``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TOOLS = REPO / "tools"
sys.path.insert(0, str(TOOLS))

# tools/ joins the path just above.
from commons_tools.build import rebuild_records  # noqa: E402
from commons_tools.index import start_index  # noqa: E402
from commons_tools.publish import publish_files  # noqa: E402
from commons_tools.rehearsal import committed_tree, make_rehearsal  # noqa: E402
from commons_tools.simple_api import IndexTarget  # noqa: E402
from commons_tools.state import load_state  # noqa: E402
from commons_tools.workspace import load_workspace  # noqa: E402

PLAN_RUNS = 5
RELEASE_RUNS = 3
FRAGMENTS = {
    "common-utils": {"+drop-x.breaking.md": "Removed `common_utils.x`.\n"},
    "common-auth": {"+y.feature.md": "Added `common_auth.y`.\n"},
}


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWINE_", "COMMONS_INDEX"))}
    return {**env, "PYTHONPATH": str(TOOLS), **(extra or {})}


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> None:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")


def _timed(runs: int, prepare: Callable[[Path], Callable[[], None]]) -> list[float]:
    """Wall seconds of ``runs`` runs, each prepared (untimed) in its own scratch folder."""
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="bench-release-") as scratch:
            action = prepare(Path(scratch))
            start = time.perf_counter()
            action()
            times.append(time.perf_counter() - start)
    return times


def main() -> int:
    tree = committed_tree(REPO)

    def towncrier_draft(scratch: Path) -> Callable[[], None]:
        repo = make_rehearsal(tree, scratch / "repo", fragments=FRAGMENTS)
        packages = load_workspace(repo).packages

        def run() -> None:
            for package in packages:
                rel = package.root.relative_to(repo).as_posix()
                _run(
                    [sys.executable, "-m", "towncrier", "build", "--draft", "--config",
                     f"{rel}/pyproject.toml", "--dir", rel, "--version", "0.0.0"],
                    repo,
                    _env(),
                )  # fmt: skip

        return run

    def dry_run(scratch: Path) -> Callable[[], None]:
        repo = make_rehearsal(tree, scratch / "repo", fragments=FRAGMENTS)
        return lambda: _run(
            [sys.executable, "-m", "commons_tools.release", "--dry-run"], repo, _env()
        )

    def bare_builds(scratch: Path) -> Callable[[], None]:
        repo = make_rehearsal(tree, scratch / "repo", fragments=FRAGMENTS)
        roots = [str(p.root) for p in load_workspace(repo).packages]

        def run() -> None:
            for root in roots:
                _run(
                    [sys.executable, "-m", "build", "--installer", "uv", "--outdir",
                     str(scratch / "dist"), root],
                    repo,
                    _env(),
                )  # fmt: skip

        return run

    def full_release(scratch: Path) -> Callable[[], None]:
        repo = make_rehearsal(tree, scratch / "repo", fragments=FRAGMENTS)
        index = start_index(scratch / "index")
        target = IndexTarget(index.url, index.simple_url, index.credentials)
        earlier = rebuild_records(repo, load_state(repo).records, scratch / "earlier")
        publish_files(target, earlier, say=lambda _: None)
        env = _env(
            {
                "COMMONS_INDEX_URL": index.url,
                "TWINE_USERNAME": index.credentials.username,
                "TWINE_PASSWORD": index.credentials.password,
            }
        )

        def run() -> None:
            try:
                _run([sys.executable, "-m", "commons_tools.release"], repo, env)
                uploaded = len(list(index.storage.iterdir())) - len(earlier)
            finally:
                index.stop()
            if uploaded != 6:
                raise SystemExit(f"the release uploaded {uploaded} files, expected 6")

        return run

    rows = []
    for label, runs, prepare, baseline in [
        ("towncrier build --draft x3 (baseline)", PLAN_RUNS, towncrier_draft, None),
        ("release --dry-run (plan + cascade)", PLAN_RUNS, dry_run, 0),
        ("python -m build x3 (baseline)", RELEASE_RUNS, bare_builds, None),
        ("release, 3 packages to local index", RELEASE_RUNS, full_release, 2),
    ]:
        times = _timed(runs, prepare)
        rows.append((label, statistics.median(times), min(times), runs, baseline))
        print(f"  measured: {label}", file=sys.stderr, flush=True)

    print()
    print(f"{'measure':<40} {'median s':>9} {'min s':>7} {'runs':>5} {'x baseline':>11}")
    print("-" * 76)
    for label, median, fastest, runs, baseline in rows:
        ratio = "1.00" if baseline is None else f"{median / rows[baseline][1]:.2f}"
        print(f"{label:<40} {median:>9.2f} {fastest:>7.2f} {runs:>5} {ratio:>11}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
