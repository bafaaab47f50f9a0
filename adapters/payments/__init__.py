"""Payment providers behind the domain's PaymentGateway port: Stripe and an in-memory fake."""
