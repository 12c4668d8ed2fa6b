"""dlp-gateway: an outbound-email data-loss-prevention SMTP relay."""

from __future__ import annotations

__version__ = "0.1.0"
