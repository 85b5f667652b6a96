"""Each service's client is a package of its own: generated into its folder, its news fragment
typed by what changed in the service's API (``nox -s specs -- --write``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from commons_tools import clients
from commons_tools.specs import fragment_for, write_fragment
from commons_tools.workspace import load_workspace

SPEC = """\
openapi: 3.0.3
info: {title: users, version: "1"}
paths:
  /users/{id}/:
    get:
      operationId: users_retrieve
      description: One user.
      parameters:
      - {name: id, in: path, required: true, schema: {type: integer}}
      responses:
        "200":
          description: The user.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/User"}
components:
  schemas:
    User:
      type: object
      required: [id, username]
      properties:
        id: {type: integer}
        username: {type: string}
"""
FIELD_ADDED = SPEC + "        email: {type: string}\n"
FIELD_REMOVED = SPEC.replace("required: [id, username]", "required: [id]").replace(
    "        username: {type: string}\n", ""
)
OPERATION_ADDED = SPEC.replace(
    "components:\n",
    """\
  /users/:
    get:
      operationId: users_list
      responses:
        "200": {description: Every user.}
components:
""",
)
DESCRIPTION_ONLY = SPEC.replace("description: One user.", "description: One user, by id.")


@pytest.mark.parametrize(
    ("after", "kind", "said"),
    [
        (FIELD_REMOVED, "breaking", "breaking: "),
        (FIELD_ADDED, "feature", "email"),
        (OPERATION_ADDED, "feature", "users_list"),
        (DESCRIPTION_ONLY, "doc", "descriptions or examples only"),
    ],
    ids=["field-removed", "field-added", "operation-added", "descriptions-only"],
)
def test_the_api_diff_picks_the_fragment_type(after: str, kind: str, said: str) -> None:
    made = fragment_for("users", SPEC, after)

    assert made is not None
    assert made[0] == kind
    assert said in made[1]
    assert made[1].startswith("The `users` API")


def test_an_unchanged_or_new_document_needs_no_fragment() -> None:
    assert fragment_for("users", SPEC, SPEC) is None
    assert fragment_for("users", "", SPEC) is None


def _commit_spec(repo: Path, git: Callable[..., str], text: str) -> Path:
    spec = repo / "packages/common_clients/specs/users.yaml"
    spec.parent.mkdir(exist_ok=True)
    spec.write_text(text, encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "The users document")
    return spec


def test_write_puts_the_fragment_in_the_client_package_and_rewrites_it(
    workspace_repo: Path, git: Callable[..., str]
) -> None:
    spec = _commit_spec(workspace_repo, git, SPEC)
    changelog = workspace_repo / "packages/common_clients/clients/users/changelog.d"

    spec.write_text(FIELD_ADDED, encoding="utf-8")
    written = write_fragment(workspace_repo, spec, SPEC)
    assert written == changelog / "+users-api.feature.md"

    # Written again after a further change: one fragment, of the stronger type, for both.
    spec.write_text(FIELD_ADDED.replace("required: [id, username]", "required: [id]"), "utf-8")
    written = write_fragment(workspace_repo, spec, SPEC)
    assert written == changelog / "+users-api.breaking.md"
    assert sorted(p.name for p in changelog.glob("+users-api.*")) == ["+users-api.breaking.md"]
    assert "email" in written.read_text(encoding="utf-8")

    # Back to what was committed: nothing to say, and the fragment goes.
    spec.write_text(SPEC, encoding="utf-8")
    assert write_fragment(workspace_repo, spec, SPEC) is None
    assert not list(changelog.glob("+users-api.*"))

    # No client package is made from the inventory document: no fragment anywhere.
    inventory = spec.with_name("inventory.yaml")
    inventory.write_text(FIELD_ADDED, encoding="utf-8")
    assert write_fragment(workspace_repo, inventory, SPEC) is None


def test_the_client_is_generated_into_its_package_and_kept_current(
    workspace_repo: Path, git: Callable[..., str]
) -> None:
    spec = _commit_spec(workspace_repo, git, SPEC)
    users = load_workspace(workspace_repo).get("common-clients-users")
    assert users.spec == spec.resolve()
    folder = users.src / users.module
    for path in folder.rglob("*.py"):
        if path.name != "__about__.py":
            path.unlink()
    target = clients.Target("users", users.spec, folder, users.module)

    files = clients.generate(workspace_repo, target)
    assert "models.py" in files
    assert "from common_clients_users._client import" in files["__init__.py"]
    assert "packages/common_clients/specs/users.yaml" in files["models.py"]
    assert "(missing)" in " ".join(clients.stale(files, folder))

    clients.write(files, folder)
    assert clients.stale(files, folder) == []
    # A file the generator did not write is named, and never deleted by it.
    (folder / "stray.py").write_text("", encoding="utf-8")
    assert clients.stale(files, folder) == ["stray.py (not generated)"]
    clients.write(files, folder)
    assert (folder / "stray.py").is_file()
    (folder / "stray.py").unlink()
    assert clients.stale(files, folder) == []
    # The release's version file and the typing marker are the package's, never the generator's.
    assert (folder / "__about__.py").is_file()
    assert (folder / "py.typed").is_file()


def test_a_new_service_gets_a_client_package_at_its_first_version(
    workspace_repo: Path, git: Callable[..., str]
) -> None:
    spec = _commit_spec(workspace_repo, git, SPEC)
    spec.with_name("catalog.yaml").write_text(SPEC, encoding="utf-8")

    root = clients.new_client(workspace_repo, "catalog")

    catalog = load_workspace(workspace_repo).get("common-clients-catalog")
    assert catalog.root == root
    assert str(catalog.version) == "0.1.0"
    workspace = load_workspace(workspace_repo)
    [(requirement, runtime)] = workspace.internal_requirements(catalog)
    assert runtime.dist_name == "common-clients"
    assert requirement.specifier.contains(runtime.version)
    assert sorted(p.name for p in catalog.changelog_dir.iterdir()) == [
        "+catalog-client.feature.md",
        ".gitkeep",
    ]
    with pytest.raises(clients.ClientsError, match="exists already"):
        clients.new_client(workspace_repo, "catalog")
    with pytest.raises(clients.ClientsError, match="no such document"):
        clients.new_client(workspace_repo, "billing")
