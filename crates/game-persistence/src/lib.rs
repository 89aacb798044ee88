//! game-persistence: filled in by its own issue.
