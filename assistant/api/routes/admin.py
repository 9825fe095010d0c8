"""Operators: the catalogue managers' report (JSON, CSV) and its page (/admin)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import FileResponse
from pydantic import BeforeValidator

from assistant.api.deps import ServiceDep
from assistant.api.operators import Operator, OperatorPage
from assistant.api.routes.pages import STATIC_DIR
from assistant.api.schemas import error_responses, iso_date
from assistant.reporting import Report, ReportBuilder
from assistant.reporting.csv_export import questions_csv

router = APIRouter(tags=["operadors"])

FromDay = Annotated[
    dt.date | None,
    BeforeValidator(iso_date),
    Query(alias="from", description="Primer dia, AAAA-MM-DD (inclòs)."),
]
ToDay = Annotated[
    dt.date | None,
    BeforeValidator(iso_date),
    Query(alias="to", description="Darrer dia, AAAA-MM-DD (inclòs; avui)."),
]
_NO_STORE = {"Cache-Control": "no-store"}


@router.get(
    "/api/admin/report",
    response_model=Report,
    dependencies=[Operator],
    responses=error_responses(401, 404, 422),
)
def report(
    service: ServiceDep, response: Response, start: FromDay = None, end: ToDay = None
) -> Report:
    """Preguntes, respostes i refusos, valoracions, fonts més citades, cerques sense
    resultat i els buits del catàleg (preguntes sense resposta agrupades per tema)."""
    builder = ReportBuilder.for_service(service)
    response.headers.update(_NO_STORE)
    return builder.build(builder.period(start, end))


@router.get(
    "/api/admin/report.csv",
    dependencies=[Operator],
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **error_responses(401, 404, 422)},
)
def report_csv(service: ServiceDep, start: FromDay = None, end: ToDay = None) -> Response:
    """Les preguntes del període, una per fila, amb la capçalera primer."""
    builder = ReportBuilder.for_service(service)
    period = builder.period(start, end)
    name = f"concerta-preguntes-{period.start}-{period.end}.csv"
    return Response(
        questions_csv(period, builder.records.turns(period)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', **_NO_STORE},
    )


@router.get("/admin", include_in_schema=False, dependencies=[OperatorPage])
def admin_page() -> FileResponse:
    # The page holds no data: it asks for the token and calls the routes above.
    return FileResponse(STATIC_DIR / "admin.html", media_type="text/html", headers=_NO_STORE)
