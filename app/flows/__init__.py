"""Follow-up flows: a few sequences of marketing messages a merchant switches on, each step timed from a real
event and sent through the notifications pipeline (app/flows/services.py)."""
