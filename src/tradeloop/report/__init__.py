"""Performance statistics and the offline HTML report.

``round_trips`` and ``compute_stats`` turn a run's fills and equity curve into :class:`Stats`;
``write_report`` renders them with charts into one self-contained HTML file. Importing this
package is cheap: plotly is only loaded when a report is rendered.
"""

from tradeloop.report.html import ReportData, write_report
from tradeloop.report.stats import RoundTrip, Stats, compute_stats, round_trips

__all__ = ["ReportData", "RoundTrip", "Stats", "compute_stats", "round_trips", "write_report"]
