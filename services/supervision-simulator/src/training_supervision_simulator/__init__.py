"""A simulator of the provincial supervision platform: the HTTPS/JSON contract of
docs/supervision-contract.md, an in-memory store, regulator commands, and fault injection."""

from training_supervision_simulator.server import Faults, Simulator

__all__ = ["Faults", "Simulator"]
