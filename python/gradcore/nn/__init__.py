"""gradcore.nn: neural-network building blocks. So far only ``gradcore.nn.functional``."""
from . import functional  # noqa: F401
