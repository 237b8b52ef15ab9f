"""Agent actions on the ticket page (assign, contact, subject, transfer, qualify, close)."""
