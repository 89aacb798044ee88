//! game-locks: filled in by its own issue.
