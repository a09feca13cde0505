"""The gRPC server bootstrap shared by every service."""

from training_runtime.server.app import ServiceApp, ServiceContext, ServiceDefinition, Wiring

__all__ = ["ServiceApp", "ServiceContext", "ServiceDefinition", "Wiring"]
