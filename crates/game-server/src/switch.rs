//! [`Switch`], the value of on/off flags. Its own file because both the top-level
//! configuration and the limits' configuration use it, and neither should import the other
//! for it.

use clap::ValueEnum;

/// An on/off switch for a flag that takes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    /// Enabled.
    On,
    /// Disabled.
    Off,
}
