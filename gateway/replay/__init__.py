"""``dlp-gateway replay``: a mail archive through today's profiles and a candidate's, as JSON Lines and an HTML report."""
