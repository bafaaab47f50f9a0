"""The business: entities, rules and use cases in plain Python, and the ports they need.

Nothing here imports a framework, a database driver or a network client.
"""
