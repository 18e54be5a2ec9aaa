"""Cross-cutting pieces with no domain of their own, and the home, health and language routes."""
