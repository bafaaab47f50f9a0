"""GraphQL of trust: the audit log, value grants awaiting an owner, members' presence codes."""
