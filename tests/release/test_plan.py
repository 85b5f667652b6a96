"""The release plan: bumps from fragment types, pre-releases, the cascade and its ranges."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.version import Version

from commons_tools.errors import PlanError
from commons_tools.fragments import Bump
from commons_tools.plan import compatible_range, make_plan, next_version
from commons_tools.workspace import load_workspace, write_version


@pytest.mark.parametrize(
    ("current", "bump", "pre", "expected"),
    [
        ("1.2.3", Bump.MAJOR, None, "2.0.0"),
        ("0.4.1", Bump.MAJOR, None, "0.5.0"),
        ("1.2.3", Bump.MINOR, None, "1.3.0"),
        ("1.2.3", Bump.PATCH, None, "1.2.4"),
        ("1.2.0", Bump.MINOR, "rc", "1.3.0rc1"),
        ("1.3.0rc1", Bump.PATCH, "rc", "1.3.0rc2"),
        ("1.3.0rc1", Bump.MINOR, "rc", "1.3.0rc2"),
        ("1.3.0rc2", Bump.MAJOR, "rc", "2.0.0rc1"),
        ("1.3.0b2", Bump.PATCH, "rc", "1.3.0rc1"),
        ("1.2.1a1", Bump.MINOR, "alpha", "1.3.0a1"),
        ("1.3.0rc2", Bump.PATCH, None, "1.3.0"),
        ("1.3.0rc2", Bump.NONE, None, "1.3.0"),
        ("0.2.0rc1", Bump.MAJOR, None, "0.2.0"),
    ],
)
def test_next_version(current: str, bump: Bump, pre: str | None, expected: str) -> None:
    assert next_version(Version(current), bump, pre) == Version(expected)


def test_going_back_from_rc_to_beta_is_refused() -> None:
    with pytest.raises(PlanError, match=r"cannot go from 1\.3\.0rc1 back to --pre beta"):
        next_version(Version("1.3.0rc1"), Bump.PATCH, "beta")


@pytest.mark.parametrize(
    ("version", "expected"),
    [("0.2.0", ">=0.2.0,<0.3"), ("1.3.0", ">=1.3.0,<2"), ("2.0.0rc1", ">=2.0.0rc1,<3")],
)
def test_a_new_range_runs_up_to_the_next_breaking_version(version: str, expected: str) -> None:
    assert compatible_range(Version(version)) == expected


def test_breaking_change_in_utils_cascades_to_both_dependents(
    make_repo: Callable[..., Path],
) -> None:
    repo = make_repo(fragments={"common-utils": {"+drop-x.breaking.md": "Removed `x`.\n"}})

    plan = make_plan(load_workspace(repo))

    versions = {r.package.dist_name: (str(r.current), str(r.next)) for r in plan.releases}
    assert versions == {
        "common-utils": ("0.1.0", "0.2.0"),
        "common-auth": ("0.1.0", "0.1.1"),
        "common-clients": ("0.1.0", "0.1.1"),
    }
    auth = next(r for r in plan.releases if r.package.dist_name == "common-auth")
    assert [(c.old_text, c.new_text) for c in auth.range_changes] == [
        ("common-utils>=0.1.0,<0.2", "common-utils>=0.2.0,<0.3")
    ]
    assert "cascade: common-utils 0.2.0 outside common-utils>=0.1.0,<0.2" in auth.why
    assert plan.commit_message == (
        "Release common-auth 0.1.1, common-clients 0.1.1, common-utils 0.2.0"
    )


def test_a_patch_in_utils_stays_inside_the_ranges_and_cascades_nowhere(
    make_repo: Callable[..., Path],
) -> None:
    repo = make_repo(fragments={"common-utils": {"+typo.fix.md": "Fixed a typo.\n"}})

    plan = make_plan(load_workspace(repo))

    assert [(r.package.dist_name, str(r.next)) for r in plan.releases] == [
        ("common-utils", "0.1.1")
    ]
    assert {h.package.dist_name: h.why for h in plan.held} == {
        "common-auth": "no pending fragments",
        "common-clients": "no pending fragments",
        "common-clients-notifications": "no pending fragments",
        "common-clients-orders": "no pending fragments",
        "common-clients-users": "no pending fragments",
    }


def test_strongest_fragment_decides_and_doc_alone_releases_nothing(
    make_repo: Callable[..., Path],
) -> None:
    repo = make_repo(
        fragments={
            "common-utils": {"+a.fix.md": "Fixed a.\n", "+b.feature.md": "Added `b`.\n"},
            "common-clients": {"+readme.doc.md": "Documented retries.\n"},
        }
    )

    plan = make_plan(load_workspace(repo))

    assert [(r.package.dist_name, str(r.next), r.why) for r in plan.releases] == [
        ("common-utils", "0.2.0", "feature (2 fragments)"),
        ("common-auth", "0.1.1", "cascade: common-utils 0.2.0 outside common-utils>=0.1.0,<0.2"),
        # Its doc fragment alone would not release it; common-utils 0.2.0 leaving its range does.
        (
            "common-clients",
            "0.1.1",
            "cascade: common-utils 0.2.0 outside common-utils>=0.1.0,<0.2",
        ),
    ]


def test_doc_only_package_is_held_with_its_reason(make_repo: Callable[..., Path]) -> None:
    repo = make_repo(fragments={"common-clients": {"+readme.doc.md": "Documented retries.\n"}})

    plan = make_plan(load_workspace(repo))

    assert plan.releases == ()
    held = {h.package.dist_name: h.why for h in plan.held}
    assert held["common-clients"] == "doc/misc fragments only (1): nothing to release"
    assert "common-clients" in plan.table()


def test_package_option_limits_the_run_but_keeps_the_cascade(
    make_repo: Callable[..., Path],
) -> None:
    repo = make_repo(
        fragments={
            "common-utils": {"+new.feature.md": "Added `y`.\n"},
            "common-auth": {"+fix.fix.md": "Fixed `z`.\n"},
        }
    )

    only_clients = make_plan(load_workspace(repo), only=["common-clients"])
    only_utils = make_plan(load_workspace(repo), only=["common_utils"])

    assert only_clients.releases == ()
    assert {r.package.dist_name: str(r.next) for r in only_utils.releases} == {
        "common-utils": "0.2.0",
        # pulled in: its range on common-utils must move; its own fix fragment goes with it.
        "common-auth": "0.1.1",
        "common-clients": "0.1.1",
    }


def test_pre_releases_count_up_and_promote(make_repo: Callable[..., Path]) -> None:
    repo = make_repo(fragments={"common-utils": {"+fix.fix.md": "Fixed `z`.\n"}})
    workspace = load_workspace(repo)

    assert [str(r.next) for r in make_plan(workspace, pre="rc").releases] == ["0.1.1rc1"]

    utils = workspace.get("common-utils")
    write_version(utils.about, Version("0.1.1rc1"))
    (utils.changelog_dir / "+fix.fix.md").unlink()
    assert make_plan(workspace).releases == ()
    promoted = make_plan(workspace, only=["common-utils"])
    assert [(str(r.next), r.why) for r in promoted.releases] == [("0.1.1", "promotes 0.1.1rc1")]
    assert [
        str(r.next) for r in make_plan(workspace, only=["common-utils"], pre="rc").releases
    ] == ["0.1.1rc2"]


def test_unknown_package_is_a_plan_error_naming_it(make_repo: Callable[..., Path]) -> None:
    repo = make_repo()

    with pytest.raises(PlanError, match=r"unknown package 'common-nope'; the packages are: "):
        make_plan(load_workspace(repo), only=["common-nope"])


def test_malformed_fragment_is_a_plan_error_naming_the_file(
    make_repo: Callable[..., Path],
) -> None:
    repo = make_repo(fragments={"common-auth": {"+oops.feat.md": "Added.\n"}})

    with pytest.raises(PlanError) as caught:
        make_plan(load_workspace(repo))

    message = str(caught.value)
    assert "packages/common_auth/changelog.d/+oops.feat.md" in message
    assert "unknown fragment type 'feat'" in message
    assert "\n" not in message


def test_a_package_never_released_releases_the_version_it_holds(
    make_repo: Callable[..., Path],
) -> None:
    repo = make_repo(
        fragments={"common-utils": {"+x.breaking.md": "Removed `x`.\n"}}, released=False
    )

    plan = make_plan(load_workspace(repo))
    rc = make_plan(load_workspace(repo), pre="rc")

    assert [(r.package.dist_name, str(r.next), r.why) for r in plan.releases] == [
        ("common-utils", "0.1.0", "first release; breaking, minor while 0.x (1 fragment)")
    ]
    # 0.1.0rc1 sorts below 0.1.0, outside >=0.1.0,<0.2: the dependents follow as pre-releases,
    # and common-clients' own dependents, the client packages, follow it.
    assert [(r.package.dist_name, str(r.next)) for r in rc.releases] == [
        ("common-utils", "0.1.0rc1"),
        ("common-auth", "0.1.0rc1"),
        ("common-clients", "0.1.0rc1"),
        ("common-clients-notifications", "0.1.0rc1"),
        ("common-clients-orders", "0.1.0rc1"),
        ("common-clients-users", "0.1.0rc1"),
    ]
    assert rc.releases[1].range_changes[0].new_text == "common-utils>=0.1.0rc1,<0.2"


def test_a_breaking_runtime_release_re_releases_every_client_package(
    make_repo: Callable[..., Path],
) -> None:
    repo = make_repo(fragments={"common-clients": {"+api.breaking.md": "Renamed `x`.\n"}})

    plan = make_plan(load_workspace(repo))

    assert [(r.package.dist_name, str(r.next)) for r in plan.releases] == [
        ("common-clients", "0.2.0"),
        ("common-clients-notifications", "0.1.1"),
        ("common-clients-orders", "0.1.1"),
        ("common-clients-users", "0.1.1"),
    ]
    users = plan.releases[-1]
    assert [(c.old_text, c.new_text) for c in users.range_changes] == [
        ("common-clients>=0.1.0,<0.2", "common-clients>=0.2.0,<0.3")
    ]
    assert users.why == "cascade: common-clients 0.2.0 outside common-clients>=0.1.0,<0.2"


def test_a_runtime_fix_stays_inside_the_clients_ranges(make_repo: Callable[..., Path]) -> None:
    repo = make_repo(fragments={"common-clients": {"+retry.fix.md": "Fixed a retry.\n"}})

    plan = make_plan(load_workspace(repo))

    assert [(r.package.dist_name, str(r.next)) for r in plan.releases] == [
        ("common-clients", "0.1.1")
    ]


def test_an_api_change_releases_its_client_alone(make_repo: Callable[..., Path]) -> None:
    repo = make_repo(
        fragments={
            "common-clients-users": {"+users-api.breaking.md": "Removed `username`.\n"},
            "common-clients-orders": {"+orders-api.feature.md": "Added `note`.\n"},
            "common-clients-notifications": {"+notifications-api.doc.md": "Reworded.\n"},
        }
    )

    plan = make_plan(load_workspace(repo))

    assert [(r.package.dist_name, str(r.next)) for r in plan.releases] == [
        ("common-clients-orders", "0.2.0"),
        ("common-clients-users", "0.2.0"),
    ]
    held = {h.package.dist_name: h.why for h in plan.held}
    assert held["common-clients-notifications"] == "doc/misc fragments only (1): nothing to release"
    assert held["common-clients"] == "no pending fragments"
