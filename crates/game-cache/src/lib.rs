//! game-cache: filled in by its own issue.
