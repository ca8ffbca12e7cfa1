"""Showing: everything gradmedic draws, prints or writes for a person, from recorded statistics.

Nothing here measures, trains or rebuilds a model: every picture is drawn from a run's records
(``records.Run``), a compare/repair/tune result, or values a caller measured and passes in.

- ``style``: the one matplotlib style, palette and layer colours, ``new_figure``, ``save`` (the bold
  headline, the grey line naming the setup, the PNG), ``smooth`` and the log-axis helpers;
- ``numbers``: every number and flag format (``num`` for titles, ``ratio``/``fraction`` for
  first-to-last ratios, ``pm`` for tables, ``flags`` for spec changes as CLI flags);
- ``figures``: one figure per concept, shared by every caller: ``loss_curves`` (N runs),
  ``layer_profile`` (a per-layer quantity of N runs), ``histogram_grid`` (setups x layers);
- ``run``: the pictures of one recorded run (``render_all``: loss, gradient norms, heatmap,
  activation distributions, statistics and histograms over training);
- ``diagnosis``: one view of a ``Diagnosis`` rendered as text (``print(diagnosis)``), to the console
  (``gradmedic train``/``diagnose``) and as HTML (the reports);
- ``report``: self-contained report.html (sections, tables, findings, embedded PNGs);
- ``compare``: ``gradmedic compare``'s progress, table (console and report), its two pictures and its report;
- ``repair``: ``gradmedic repair``'s progress (a line per attempt: what it changed, found, cured and
  uncovered), the before/after table (console and report) and report.html with every attempt's pictures;
- ``tune``: ``gradmedic tune``'s progress over the trials, the trials table (console and report), the
  study's pictures (optimization history, parameter importances, intermediate values by prune reason)
  and its report;
- ``experiments``: pictures only the seeds' experiments draw (optimizer paths over contours);
- ``progress``: the one progress ``Bar`` over many runs or trials, which compare's and tune's progress use.

Importing ``gradmedic.show`` loads nothing; matplotlib is imported only by the modules that draw.
"""
