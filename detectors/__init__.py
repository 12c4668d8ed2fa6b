"""Extraction of text from MIME and detection of sensitive numbers; no SMTP here."""
