"""The HTTP/JSON gateway: REST over the platform's gRPC services, and the trainee web app."""
