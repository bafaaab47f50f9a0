"""Trust: the audit log of staff and partner mutations, and value grants with caps and approvals."""
