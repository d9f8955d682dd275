"""The bottom layer: error types (``errors``), one-line tool failures (``cli``), the tools' command lines
(``arguments``), configs read as data (``safe_config``), run logs (``logs``), paths (``paths``) and the folders
the experiments own (``owned_folders``). It imports no other ``mcl_mm`` subpackage and no model."""
