"""The simulated service: jobs, their time and status, the store and its journal, faults, credits,
webhooks and the wire shapes. State and time only: nothing here speaks ASGI."""
