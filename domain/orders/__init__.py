"""Orders: one model, placing, fulfilment, cancellation and returns."""
