"""The bottom layer: error types (``errors``), one-line tool failures (``cli``), configs read as data
(``safe_config``) and run logs (``logs``). It imports no other ``mcl_mm`` subpackage and no model."""
