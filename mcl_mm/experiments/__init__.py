"""The experiments behind ``make demo`` / ``make study``: generated worlds (``world``), a job scheduler that runs
``tools/*.py`` commands (``jobs``, ``zygote``), what the drivers share (``common``: the cached world, "finished",
schedules, the driver opening), the plans (``demo``, ``demo_selfsup``, ``study``, ``transfer_study``), and the
tables, intervals and plots of their results (``report``).

Nothing here is imported by the models or the runner; importing ``report`` loads no model."""
