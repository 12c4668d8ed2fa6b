"""The quarantine review web app for security staff (issue 5)."""
