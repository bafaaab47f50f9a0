"""Who an order is credited to: attribution codes, member bindings, order attributions."""
