"""The experiments behind ``make demo`` / ``make study``: generated worlds (``world``), a job scheduler that runs
``tools/*.py`` commands (``jobs``, ``zygote``), the plans (``demo``, ``study``), and the tables, intervals and
plots of their results (``report``).

Nothing here is imported by the models or the runner; importing ``report`` loads no model."""
