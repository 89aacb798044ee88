//! Behaviour tests of the lock layer on real tokio runtimes (one binary, one module per
//! property, to keep the build and the run short).

mod deadline;
mod exclusion;
mod fairness;
mod observability;
mod registry;
mod send;
mod stats;
mod support;
