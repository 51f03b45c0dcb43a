"""container-gate: a CI/CD gate for container images over Trivy and Grype reports."""

__version__ = "0.1.0"

__all__ = ["__version__"]
