"""``manage.py boundaries``: the ties between the apps of planned services, and a proposed cut.

The report reads the loaded project (model relations, signal receivers), the source of its apps
(imports, with ``ast``) and, when there is one, a recording of the queries its test suite ran
(``pytest --record-boundaries`` or ``RecordingTestRunner``). ``manage.py boundaries --help``
lists the options; the README shows the whole workflow.

The work is done in private modules along its concerns: collecting ties (``_static``,
``_imports``, ``_recorder`` with ``_sql``, ``_records``), the plan (``_plan``), the cut
(``_cut``), the report and its baseline (``_report``, ``_baseline``) and rendering (``_render``,
``_svg``).
"""

from common_utils._errors import BoundariesError, BoundariesInputError, MissingExtraError
from common_utils.django.boundaries._recorder import QueryRecorder, record_queries
from common_utils.django.boundaries._runner import RecordingRunnerMixin, RecordingTestRunner

__all__ = [
    "BoundariesError",
    "BoundariesInputError",
    "MissingExtraError",
    "QueryRecorder",
    "RecordingRunnerMixin",
    "RecordingTestRunner",
    "record_queries",
]
