"""The gateway's REST routes, one module per part of the platform."""
