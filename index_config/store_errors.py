"""The one error type of the chunk stores: whatever an engine raises becomes a StoreError
(raised `from` the engine's own exception, for operators' logs)."""


class StoreError(RuntimeError):
    """A Qdrant engine (Edge or a server) failed, or a stored index is not usable."""
