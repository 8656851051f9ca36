"""Error types shared by every part of vtonpipe.

RowError is the only exception a stage raises for one bad row: the runner turns it into an
output row with status="error". The others stop a whole command before any row is processed.
"""


class VtonpipeError(Exception):
    """Base class: a message a user can act on."""


class ConfigError(VtonpipeError):
    """Invalid configuration or command-line input."""


class ModelFilesError(VtonpipeError):
    """Model weights or IR folders are missing, incomplete or do not match."""


class RowError(Exception):
    """A fault confined to one row (unreadable image, no person detected, empty mask)."""

    def __init__(self, error_type: str, message: str):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
