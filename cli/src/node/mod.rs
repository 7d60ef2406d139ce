//! The HA node: the daemon's components (HSRP, IPC, redundancy, inspect) composed from the cores and
//! drivers, and the orchestration that wires their events together.

pub mod mapping;
