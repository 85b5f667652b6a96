"""``copier update`` takes a later template commit into a made service and keeps the service's
own changes: the template as a versioned git repository, the way copier reads the Commons one."""

from __future__ import annotations

from pathlib import Path

from template.support import copier, git


def _answers(service: Path) -> dict[str, str]:
    """The answers file's ``key: value`` lines (copier writes scalars here, quoting one that YAML
    would read as another type: a short commit hash of digits only is ``'3699364'``)."""
    lines = (service / ".copier-answers.yml").read_text().splitlines()
    pairs = [line.partition(": ") for line in lines if line and not line.startswith("#")]
    return {key: value.strip("'\"") for key, _, value in pairs}


def test_an_update_brings_the_next_template_commit_and_keeps_the_services_edits(
    tmp_path: Path, template_repo: Path
) -> None:
    repo = tmp_path / "commons"
    git(tmp_path, "clone", "--quiet", str(template_repo), str(repo))
    first = git(repo, "rev-parse", "HEAD").strip()
    service = tmp_path / "shop"
    copier(
        "copy",
        "--defaults",
        "--vcs-ref=HEAD",
        "--data",
        "service_name=shop",
        str(repo),
        str(service),
        cwd=tmp_path,
    )
    assert _answers(service)["_commit"] == first[: len(_answers(service)["_commit"])]
    git(service, "init", "--quiet")
    git(service, "add", "-A")
    git(service, "commit", "--quiet", "-m", "shop, from the template")
    # The team's own change to a file the template made.
    models = service / "shop" / "models.py"
    models.write_text(models.read_text().replace("max_length=200)", "max_length=120)"))
    git(service, "commit", "--quiet", "-am", "shop: shorter names")

    # The template's next commit: gunicorn gets a request timeout.
    conf = repo / "templates" / "service" / "template" / "gunicorn.conf.py.jinja"
    conf.write_text(conf.read_text() + "timeout = 30  # seconds a request may take\n")
    git(repo, "commit", "--quiet", "-am", "template: a request timeout for gunicorn")
    second = git(repo, "rev-parse", "HEAD").strip()

    copier("update", "--defaults", "--vcs-ref=HEAD", cwd=service)

    assert (
        (service / "gunicorn.conf.py")
        .read_text()
        .endswith("timeout = 30  # seconds a request may take\n")
    )
    assert "max_length=120)" in models.read_text()  # the service's edit stays
    assert _answers(service)["_commit"] == second[: len(_answers(service)["_commit"])]
    assert _answers(service)["service_name"] == "shop"
