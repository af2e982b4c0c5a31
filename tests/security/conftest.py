"""Security and privacy tests share the conversation fixtures (real app, real SQLite, fake transport)."""
from tests.conversation.conftest import conv  # noqa: F401
