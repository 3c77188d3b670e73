"""Where things are: the project root, the recorded fixtures, the examples."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
EXAMPLES = ROOT / "examples"

# The recorded streams of each wire protocol: tests/fixtures/<folder>/.
FIXTURE_DIRS = {"anthropic": "anthropic", "openai": "openai", "openai-responses": "responses"}
KIND_OF_DIR = {folder: kind for kind, folder in FIXTURE_DIRS.items()}
