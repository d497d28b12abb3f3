"""Errors that name the problem and the remedy."""


class DropoutKitError(Exception):
    """Base class of every error dropout_kit raises on purpose."""


class DataNotFoundError(DropoutKitError, FileNotFoundError):
    """FashionMNIST is in none of the places looked, and no download was possible."""


class CorruptDataError(DropoutKitError):
    """A FashionMNIST file exists but is truncated or not what it should be."""


class NotebookError(DropoutKitError):
    """A notebook file is missing, not valid JSON, or lacks what grading needs."""


class SandboxError(DropoutKitError):
    """A learner's kernel could not be started, or could not be reached, in its sandbox."""


class SandboxUnavailable(SandboxError):
    """bubblewrap is missing, or cannot create the sandbox's namespaces on this machine."""


class DeviceError(DropoutKitError, ValueError):
    """A device that is not a device, or one this machine does not have."""
