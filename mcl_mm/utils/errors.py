"""Every error mcl_mm raises for bad input, in one module that imports nothing.

Each is a mistake the user can fix; the message names the problem and the fix. The command-line tools turn
any of them into one line on stderr and a non-zero exit (:data:`USER_ERRORS`, ``mcl_mm.utils.cli``); a bug in
our own code keeps its traceback.
"""


class ToolInputError(ValueError):
    """Bad input to a tool, detected by the tool itself."""


class ConfigError(ValueError):
    """A config value that cannot work (a temperature of 0, a cohort of one, an impossible sampler), found
    when the config is loaded or the model is built, before any training step."""


class DataError(ValueError):
    """The data on disk disagrees with the config or is malformed (class folders, annotations, masks)."""


class CheckpointLoadError(RuntimeError):
    """A checkpoint that cannot be loaded (corrupt, truncated, or holding objects safe loading refuses)."""


class CohortCheckpointError(ValueError):
    """The checkpoint is not what the tool needs; the message says what it is and what to pass."""


class PretrainedMismatchError(ValueError):
    """A config's pretrained file does not fit the model it initialises."""


class UnsafeConfigError(ValueError):
    """A stored config (a checkpoint's ``meta.cfg``) that is not plain data, or too large to read."""


class RunRecordError(ValueError):
    """A run's logs cannot be read as the collector needs them."""


class WorkDirBusyError(RuntimeError):
    """Another live run writes into the same work_dir."""


USER_ERRORS = (ToolInputError, ConfigError, DataError, CheckpointLoadError, CohortCheckpointError,
               PretrainedMismatchError, UnsafeConfigError, RunRecordError, WorkDirBusyError, FileNotFoundError,
               IsADirectoryError, NotADirectoryError, PermissionError)
