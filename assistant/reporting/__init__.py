"""The operators' report: what officials ask, what the assistant refused, how answers were
rated, which sources are cited, which searches found nothing, and the gaps of the catalogue.

Reads the SQLite file of the conversation store read-only; writes only its own table of
searches (searches.py).
"""

from assistant.reporting.models import Report
from assistant.reporting.period import Period, PeriodError
from assistant.reporting.report import ReportBuilder

__all__ = ["Period", "PeriodError", "Report", "ReportBuilder"]
