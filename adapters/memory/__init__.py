"""In-memory fakes of every port: repositories over plain dicts, an outbox that collects
events and a unit of work that keeps its changes on success and rolls back to the snapshot it
took on enter when the block raises. For fast use-case tests without a database; the tortoise
adapters in ``adapters/db`` implement the same protocols for real."""
