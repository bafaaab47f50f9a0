"""Commission fields of the Query and Mutation roots."""

from __future__ import annotations

import strawberry

from resolvers import commissions as resolve
from schema.commissions.types import CommissionReport, CommissionRule, CommissionRulePayload
from schema.errors import authenticated


@strawberry.type
class CommissionQuery:
    commission_rules: list[CommissionRule] = strawberry.field(
        resolver=resolve.commission_rules, extensions=[authenticated()]
    )
    commissions: CommissionReport = strawberry.field(
        resolver=resolve.commissions, extensions=[authenticated()]
    )


@strawberry.type
class CommissionMutation:
    commission_rule_create: CommissionRulePayload = strawberry.mutation(
        resolver=resolve.commission_rule_create, extensions=[authenticated()]
    )
    commission_rule_update: CommissionRulePayload = strawberry.mutation(
        resolver=resolve.commission_rule_update,
        extensions=[authenticated()],
        description="Replace a rule; `active: false` deactivates it.",
    )
