"""``manage.py boundaries`` on a fixture monolith with known ties (bd_monolith), end to end.

Each test copies the monolith into its own folder and runs Django there in a subprocess: the
monolith is a project of its own (it configures nothing of Commons but the app), and its
recorded queries come from real runs of its own test suite under pytest and Django's runner.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

TESTS_DIR = Path(__file__).parent
POSTGRES_URL = os.environ.get("COMMONS_TEST_POSTGRES_URL")

PLAN = """\
[services]
users = ["accounts", "auth"]
shop = ["catalog", "orders", "notes"]
reviews = ["reviews"]
"""

# Every static tie of the monolith: (kind, from app, to app, key).
STATIC_TIES = {
    ("relation", "accounts", "auth", "relation:accounts.Customer.user->auth.User"),
    (
        "import",
        "accounts",
        "shipping",
        "import:bd_monolith.accounts.receivers->bd_monolith.shipping.signals",
    ),
    (
        "signal",
        "accounts",
        "shipping",
        "signal:bd_monolith.accounts.receivers.count_shipped"
        "<-bd_monolith.shipping.signals.order_shipped[any sender]",
    ),
    ("generic", "catalog", "notes", "relation:catalog.Product.notes->notes.Note"),
    ("relation", "orders", "accounts", "relation:orders.Order.customer->accounts.Customer"),
    (
        "import",
        "orders",
        "catalog",
        "import:bd_monolith.orders.services->bd_monolith.catalog.models",
    ),
    ("relation", "orders", "catalog", "relation:orders.OrderLine.product->catalog.Product"),
    ("relation", "reviews", "accounts", "relation:reviews.Review.author->accounts.Customer"),
    (
        "import",
        "reviews",
        "catalog",
        "import:bd_monolith.reviews.queries->bd_monolith.catalog.models",
    ),
    ("relation", "reviews", "catalog", "relation:reviews.Review.product->catalog.Product"),
    (
        "import",
        "shipping",
        "orders",
        "import:bd_monolith.shipping.receivers->bd_monolith.orders.models",
    ),
    (
        "signal",
        "shipping",
        "orders",
        "signal:bd_monolith.shipping.receivers.ship<-django.db.models.signals.post_save"
        "[orders.Order]",
    ),
}
# What the monolith's tests do to the database, between apps: (kind, app, app, tables).
RUNTIME_TIES = {
    ("join", "accounts", "orders", "accounts_customer,orders_order"),
    ("subquery", "catalog", "reviews", "catalog_product,reviews_review"),
    # place_order: one transaction writes the order, its shipment (post_save), the customer's
    # count (order_shipped) and the stock.
    ("transaction", "accounts", "catalog", "accounts_customer,catalog_product"),
    ("transaction", "accounts", "orders", "accounts_customer,orders_order"),
    ("transaction", "accounts", "shipping", "accounts_customer,shipping_shipment"),
    ("transaction", "catalog", "orders", "catalog_product,orders_order"),
    ("transaction", "catalog", "shipping", "catalog_product,shipping_shipment"),
    ("transaction", "orders", "shipping", "orders_order,shipping_shipment"),
}


@dataclass
class Monolith:
    """A copy of the fixture monolith in its own folder, and how to run Django there."""

    root: Path
    env: dict[str, str]

    def run(self, *args: str, returncode: int = 0) -> subprocess.CompletedProcess[str]:
        """``python *args`` in the monolith's folder; fail unless it exits with ``returncode``."""
        done = subprocess.run(
            [sys.executable, *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == returncode, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done

    def boundaries(self, *args: str, returncode: int = 0) -> subprocess.CompletedProcess[str]:
        """``manage.py boundaries *args``."""
        return self.run("-m", "django", "boundaries", *args, returncode=returncode)

    def report(self, *args: str) -> dict[str, Any]:
        """The JSON report."""
        document: dict[str, Any] = json.loads(self.boundaries("--json", *args).stdout)
        return document


def _monolith(folder: Path, database_url: str) -> Monolith:
    shutil.copytree(TESTS_DIR / "bd_monolith", folder / "bd_monolith")
    shutil.copy(folder / "bd_monolith" / "manage.py", folder / "manage.py")
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(folder),
        DJANGO_SETTINGS_MODULE="bd_monolith.settings",
        BD_DATABASE_URL=database_url,
    )
    env.pop("PYTEST_ADDOPTS", None)
    return Monolith(folder, env)


@pytest.fixture
def monolith(tmp_path: Path) -> Monolith:
    """The monolith on a SQLite file of its own."""
    return _monolith(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite3'}")


@pytest.fixture(params=["sqlite", "postgres"])
def any_database_monolith(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Monolith]:
    """The monolith on SQLite, then on PostgreSQL (a database name of its own per run)."""
    if request.param == "sqlite":
        yield _monolith(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite3'}")
        return
    if not POSTGRES_URL:
        pytest.skip("COMMONS_TEST_POSTGRES_URL is not set")
    name = f"bd_{uuid.uuid4().hex[:10]}"  # Django's runner creates and drops test_<name>
    yield _monolith(tmp_path, urlunsplit(urlsplit(POSTGRES_URL)._replace(path=f"/{name}")))


def _static(report: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    return {
        (t["kind"], t["from"], t["to"], t["key"])
        for t in report["ties"]
        if t["kind"] in {"relation", "generic", "import", "signal"}
    }


def _runtime(report: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    return {
        (t["kind"], t["from"], t["to"], t["key"].rpartition(":")[2])
        for t in report["ties"]
        if t["kind"] in {"join", "subquery", "transaction"}
    }


def _crossing(ties: set[tuple[str, str, str, str]]) -> set[tuple[str, str, str, str]]:
    service = {"accounts": "users", "auth": "users", "catalog": "shop", "orders": "shop"}
    service |= {"notes": "shop", "reviews": "reviews"}
    return {t for t in ties if service.get(t[1], t[1]) != service.get(t[2], t[2])}


# --- static ties, the plan, the cut ------------------------------------------------------------


def test_without_a_map_every_static_tie_between_apps_is_reported(monolith: Monolith) -> None:
    report = monolith.report()
    assert _static(report) == STATIC_TIES
    assert _runtime(report) == set()  # nothing recorded yet
    # Each app is its own service; auth is in because a project model relates to it, and
    # contenttypes (a generic foreign key's plumbing) and Commons' own app are not.
    assert report["services"] == {
        app: [app]
        for app in (
            "accounts",
            "auth",
            "catalog",
            "loyalty",
            "notes",
            "orders",
            "reviews",
            "shipping",
        )
    }


def test_a_services_map_keeps_the_ties_across_its_services(monolith: Monolith) -> None:
    (monolith.root / "services.toml").write_text(PLAN)
    report = monolith.report("--services", "services.toml")
    assert _static(report) == _crossing(STATIC_TIES)
    assert len(report["ties"]) == 8
    assert report["services"] == {
        "loyalty": ["loyalty"],
        "reviews": ["reviews"],
        "shipping": ["shipping"],
        "shop": ["catalog", "notes", "orders"],
        "users": ["accounts", "auth"],
    }
    tie = next(t for t in report["ties"] if t["key"].startswith("relation:orders.Order.customer"))
    assert (tie["from_service"], tie["to_service"], tie["weight"]) == ("shop", "users", 4)
    # Edges carry every tie, inside services too, for the cut and the picture.
    inside = next(e for e in report["edges"] if e["apps"] == ["catalog", "orders"])
    assert inside == {
        "apps": ["catalog", "orders"],
        "weight": 5,
        "kinds": {"import": 1, "relation": 1},
        "crosses": False,
    }


def test_the_cut_groups_the_apps_that_are_always_tied_together(monolith: Monolith) -> None:
    cut = monolith.report()["cut"]
    assert [group["apps"] for group in cut["groups"]] == [
        ["accounts", "auth", "orders", "shipping"],
        ["catalog", "notes", "reviews"],
        ["loyalty"],
    ]
    assert cut["groups"][2] == {
        "apps": ["loyalty"],
        "inside": 0,
        "outside": 0,
        "services": ["loyalty"],
    }
    assert cut["modularity"] > 0


def test_the_table_names_each_tie_and_the_cut(monolith: Monolith) -> None:
    (monolith.root / "services.toml").write_text(PLAN)
    table = monolith.boundaries("--services", "services.toml").stdout
    assert "8 apps, 5 planned services (from services.toml); 8 ties across services" in table
    assert "shop -> users" in table
    assert "orders.Order.customer -> accounts.Customer (foreign key)" in table
    assert "bd_monolith/shipping/receivers.py:13" in table  # the receiver, relative to the project
    assert "stand alone (no ties): loyalty" in table


def test_the_counts_agree_with_their_nouns(monolith: Monolith) -> None:
    apps = '["accounts", "auth", "catalog", "loyalty", "notes", "orders", "reviews", "shipping"]'
    (monolith.root / "services.toml").write_text(f"[services]\nshop = {apps}\n")
    table = monolith.boundaries("--services", "services.toml", "--svg", "cut.svg").stdout
    assert "8 apps, 1 planned service (from services.toml); 0 ties across services" in table
    assert "8 apps in 1 planned service;" in (monolith.root / "cut.svg").read_text()


def test_the_picture_is_well_formed_svg_with_services_as_clusters(monolith: Monolith) -> None:
    (monolith.root / "services.toml").write_text(PLAN)
    monolith.boundaries("--services", "services.toml", "--svg", "out/cut.svg")
    root = ET.fromstring(  # noqa: S314 - our own output, parsed to prove it well-formed
        (monolith.root / "out" / "cut.svg").read_bytes()
    )
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg"
    clusters = root.findall(f".//{ns}g[@class='service']")
    assert sorted(c.findtext(f"{ns}text") or "" for c in clusters) == [
        "loyalty",
        "reviews",
        "shipping",
        "shop",
        "users",
    ]
    lines = root.findall(f".//{ns}g[@class='ties']/{ns}line")
    report = monolith.report("--services", "services.toml")
    assert len(lines) == len(report["edges"])
    red = [line for line in lines if line.get("stroke") == "#c0392b"]
    assert len(red) == sum(1 for e in report["edges"] if e["crosses"])
    apps = root.findall(f".//{ns}g[@class='apps']/{ns}g/{ns}text")
    assert sorted(a.text or "" for a in apps) == sorted(report["apps"][i]["app"] for i in range(8))


# --- the ratchet -------------------------------------------------------------------------------


def test_baseline_then_check_fails_on_a_new_tie_and_passes_once_ratcheted(
    monolith: Monolith,
) -> None:
    (monolith.root / "services.toml").write_text(PLAN)
    plan = ("--services", "services.toml")
    written = monolith.boundaries(*plan, "--baseline", "ties.json")
    assert "baseline ties.json: 8 ties recorded" in written.stderr
    baseline = json.loads((monolith.root / "ties.json").read_text())
    assert len(baseline["ties"]) == 8
    monolith.boundaries(*plan, "--baseline", "ties.json", "--check")  # nothing new: passes
    # loyalty starts to import catalog: a new tie across services.
    models = monolith.root / "bd_monolith" / "loyalty" / "models.py"
    models.write_text(models.read_text() + "\nfrom bd_monolith.catalog import models as catalog\n")
    line = len(models.read_text().splitlines())
    failed = monolith.boundaries(*plan, "--baseline", "ties.json", "--check", returncode=1)
    assert (
        "1 new tie(s) across services, not in baseline ties.json:\n"
        "  import: loyalty -> catalog: bd_monolith.loyalty.models imports "
        f"bd_monolith.catalog.models (bd_monolith/loyalty/models.py:{line})"
    ) in failed.stderr
    assert "Traceback" not in failed.stderr
    assert "NEW   loyalty -> shop" in failed.stdout
    # The JSON report says the same to a machine.
    checked = monolith.boundaries(
        *plan, "--baseline", "ties.json", "--check", "--json", returncode=1
    )
    assert json.loads(checked.stdout)["check"]["new"] == [
        "import:bd_monolith.loyalty.models->bd_monolith.catalog.models"
    ]
    # Accepting it (a new baseline) makes the check pass again; removing it shows it as gone.
    monolith.boundaries(*plan, "--baseline", "ties.json")
    monolith.boundaries(*plan, "--baseline", "ties.json", "--check")
    models.write_text(models.read_text().replace("from bd_monolith.catalog", "# from x"))
    passed = monolith.boundaries(*plan, "--baseline", "ties.json", "--check")
    assert "0 new, 1 gone (write the baseline again to ratchet)" in passed.stdout


def test_check_without_a_baseline_is_refused(monolith: Monolith) -> None:
    failed = monolith.boundaries("--check", returncode=1)
    assert failed.stderr.strip() == (
        "CommandError: --check needs --baseline FILE (the ties it compares against)"
    )


# --- recording queries while the project's tests run -------------------------------------------


def test_the_pytest_plugin_records_the_queries_of_the_projects_suite(
    any_database_monolith: Monolith,
) -> None:
    monolith = any_database_monolith
    run = monolith.run(
        "-m", "pytest", "-p", "no:cacheprovider", "-q", "--record-boundaries",
        "boundaries-queries.json", "bd_monolith/flows.py",
    )  # fmt: skip
    assert "5 passed" in run.stdout
    assert "boundaries: 8 statements tying two apps recorded in boundaries-queries.json" in (
        run.stdout
    )
    report = monolith.report()  # reads ./boundaries-queries.json by default
    assert _runtime(report) == RUNTIME_TIES
    assert _static(report) == STATIC_TIES
    join = next(t for t in report["ties"] if t["kind"] == "join")
    assert join["sites"] == ["bd_monolith/orders/services.py:21 in orders_of"]
    assert '"orders_order" INNER JOIN "accounts_customer"' in join["sql"]
    subquery = next(t for t in report["ties"] if t["kind"] == "subquery")
    assert subquery["sites"] == ["bd_monolith/reviews/queries.py:10 in reviewed_products"]
    assert report["recordings"] == [str(monolith.root / "boundaries-queries.json")]
    # With the plan, only the ties across its services remain.
    (monolith.root / "services.toml").write_text(PLAN)
    planned = monolith.report("--services", "services.toml")
    assert _runtime(planned) == _crossing(RUNTIME_TIES)


def test_djangos_test_runner_records_the_same_ties(any_database_monolith: Monolith) -> None:
    monolith = any_database_monolith
    # manage.py runs as __main__: the runner's flush after the TransactionTestCase has no frame
    # of the project's code but that script, and is not kept.
    run = monolith.run(
        "manage.py", "test", "bd_monolith.flows", "--record-boundaries", "runner.json",
        "--noinput",
    )  # fmt: skip
    assert "Ran 5 tests" in run.stderr
    assert "boundaries: 8 statements tying two apps recorded in runner.json" in run.stdout
    report = monolith.report("--recording", "runner.json")
    assert _runtime(report) == RUNTIME_TIES
    # Without the option the runner is Django's own: nothing is written.
    monolith.run("manage.py", "test", "bd_monolith.flows", "--noinput")
    assert sorted(p.name for p in monolith.root.glob("*.json")) == ["runner.json"]


def test_a_second_recording_replaces_the_first(monolith: Monolith) -> None:
    args = (
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-q",
        "--record-boundaries=boundaries-queries.json",
    )
    monolith.run(*args, "bd_monolith/flows.py")
    monolith.run(*args, "bd_monolith/flows.py::FlowTests::test_reviewed_products")
    recording = json.loads((monolith.root / "boundaries-queries.json").read_text())
    assert [q["kind"] for q in recording["queries"]] == ["query"]
    assert _runtime(monolith.report()) == {
        ("subquery", "catalog", "reviews", "catalog_product,reviews_review")
    }


def test_under_xdist_each_worker_records_and_the_command_reads_them_all(
    monolith: Monolith,
) -> None:
    pytest.importorskip("xdist")
    monolith.run(
        "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", "2", "--record-boundaries",
        "boundaries-queries.json", "bd_monolith/flows.py",
    )  # fmt: skip
    assert sorted(p.name for p in monolith.root.glob("*.json")) == [
        "boundaries-queries.gw0.json",
        "boundaries-queries.gw1.json",
    ]
    report = monolith.report()
    assert len(report["recordings"]) == 2
    assert _runtime(report) == RUNTIME_TIES


def test_the_plugin_without_django_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text("def test_nothing():\n    pass\n")
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--record-boundaries=q.json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 4, done.stdout + done.stderr
    assert "--record-boundaries needs Django set up" in done.stderr


def test_the_plugin_loads_by_entry_point_and_by_name(monolith: Monolith) -> None:
    for extra in ([], ["-p", "common_utils.django.boundaries_pytest"]):
        helped = monolith.run("-m", "pytest", "-p", "no:cacheprovider", *extra, "--help")
        assert "--record-boundaries=FILE" in helped.stdout


# --- bad input: one line naming the file and what is wrong --------------------------------------

BAD_MAPS: dict[str, tuple[str | bytes, str]] = {
    "unknown app": (
        '[services]\nshop = ["catalog", "basket"]\n',
        "services map bad.toml: services.shop: unknown app 'basket' (installed app labels: "
        "accounts, auth, catalog, contenttypes, loyalty, notes, orders, reviews, shipping)",
    ),
    "app in two services": (
        '[services]\nshop = ["catalog"]\nreviews = ["reviews", "catalog"]\n',
        "services map bad.toml: services.reviews: app 'catalog' is listed and in services.shop",
    ),
    "app twice in one": (
        '[services]\nshop = ["catalog", "catalog"]\n',
        "services map bad.toml: services.shop: app 'catalog' is listed twice",
    ),
    "not TOML": (
        "[services\n",
        "services map bad.toml: not valid TOML: Expected ']' at the end of a table declaration "
        "(at line 1, column 10)",
    ),
    "no table": ("shop = 1\n", "services map bad.toml: unknown key 'shop'"),
    "not a list": (
        '[services]\nshop = "catalog"\n',
        "services map bad.toml: services.shop: must be a list of app labels (strings)",
    ),
    "empty": ("[services]\nshop = []\n", "services map bad.toml: services.shop: lists no apps"),
    "bad name": (
        '[services]\n"a b" = ["catalog"]\n',
        "services map bad.toml: service name 'a b' must be letters, digits",
    ),
    "shadowed app": (
        '[services]\nloyalty = ["catalog"]\n',
        "services map bad.toml: services.loyalty is named like the app 'loyalty' but does not "
        "list it",
    ),
    "not UTF-8": (b"[services]\nshop = ['\xff']\n", "services map bad.toml: not UTF-8 text"),
    "too big": ("#" * (64 * 1024 + 1), "services map bad.toml: larger than 65536 bytes"),
}


@pytest.mark.parametrize("case", sorted(BAD_MAPS))
def test_a_bad_services_map_is_a_typed_error_naming_file_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    from common_utils import BoundariesInputError
    from common_utils.django.boundaries._plan import load_plan

    content, message = BAD_MAPS[case]
    monkeypatch.chdir(tmp_path)
    path = Path("bad.toml")
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    installed = {"accounts", "auth", "catalog", "contenttypes", "loyalty", "notes", "orders"}
    installed |= {"reviews", "shipping"}
    with pytest.raises(BoundariesInputError) as caught:
        load_plan(path, installed)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_the_command_prints_a_bad_map_as_one_line(monolith: Monolith) -> None:
    content, message = BAD_MAPS["app in two services"]
    assert isinstance(content, str)
    (monolith.root / "bad.toml").write_text(content)
    failed = monolith.boundaries("--services", "bad.toml", returncode=1)
    assert failed.stderr == f"CommandError: {message}\n"


def test_a_symlinked_or_missing_map_is_refused(monolith: Monolith) -> None:
    (monolith.root / "real.toml").write_text(PLAN)
    (monolith.root / "link.toml").symlink_to(monolith.root / "real.toml")
    failed = monolith.boundaries("--services", "link.toml", returncode=1)
    assert failed.stderr.strip() == (
        "CommandError: services map link.toml: is a symlink, refused (give the file itself)"
    )
    failed = monolith.boundaries("--services", "nowhere.toml", returncode=1)
    assert failed.stderr.strip() == "CommandError: services map nowhere.toml: no such file"


BAD_RECORDINGS = [
    ("{", "query recording bad.json: not JSON"),
    ('{"format": "other"}', "query recording bad.json: not a recording of manage.py boundaries"),
    (
        '{"format": "commons-boundaries-queries", "version": 2, "queries": []}',
        "query recording bad.json: version 2, this common-utils reads 1: record again",
    ),
    (
        '{"format": "commons-boundaries-queries", "version": 1, "queries": [{"kind": "x"}]}',
        "query recording bad.json: queries[0].kind: must be 'query' or 'transaction'",
    ),
    (
        '{"format": "commons-boundaries-queries", "version": 1, "queries": [{"kind": '
        '"query", "tables": [], "subquery_tables": [], "sites": [], "sql": "", "count": 0}]}',
        "query recording bad.json: queries[0].count: must be a positive integer",
    ),
    (
        '{"format": "commons-boundaries-queries", "version": 1, "queries": [{"kind": '
        '"query", "tables": [1], "subquery_tables": [], "sites": [], "sql": "", "count": 1}]}',
        "query recording bad.json: queries[0].tables: must be a list of strings",
    ),
]


@pytest.mark.parametrize(("content", "message"), BAD_RECORDINGS)
def test_a_bad_recording_is_a_typed_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str, message: str
) -> None:
    from common_utils import BoundariesInputError
    from common_utils.django.boundaries._records import read_recording

    monkeypatch.chdir(tmp_path)
    Path("bad.json").write_text(content)
    with pytest.raises(BoundariesInputError) as caught:
        read_recording(Path("bad.json"), {"orders_order": "orders"})
    assert str(caught.value).startswith(message)


def test_the_command_prints_a_bad_recording_or_baseline_as_one_line(monolith: Monolith) -> None:
    (monolith.root / "bad.json").write_text('{"format": "other"}')
    failed = monolith.boundaries("--recording", "bad.json", returncode=1)
    assert failed.stderr == (
        "CommandError: query recording bad.json: not a recording of manage.py boundaries\n"
    )
    failed = monolith.boundaries("--baseline", "bad.json", "--check", returncode=1)
    assert failed.stderr == (
        "CommandError: baseline bad.json: not a baseline of manage.py boundaries "
        "(write one with --baseline alone)\n"
    )


def test_without_networkx_the_error_names_the_extra(monolith: Monolith) -> None:
    code = (
        "import sys; sys.modules['networkx'] = None\n"
        "from django.core.management import execute_from_command_line\n"
        "execute_from_command_line(['manage.py', 'boundaries'])\n"
    )
    failed = monolith.run("-c", code, returncode=1)
    assert failed.stderr.strip() == (
        "CommandError: manage.py boundaries needs networkx: pip install 'common-utils[boundaries]'"
    )


def test_the_monolith_needs_nothing_else_of_commons(monolith: Monolith) -> None:
    """Only the app in INSTALLED_APPS: Django's checks pass and the command runs."""
    checked = monolith.run("-m", "django", "check")
    assert "System check identified no issues" in checked.stdout
