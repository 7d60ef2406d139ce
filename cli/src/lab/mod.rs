//! The two-router lab of DESIGN §8: the seed's Figure 1 built in network namespaces.

pub mod topology;

// The failover experiment of `iosha lab` and the fault-matrix tests (issue 8).
pub mod configs;
pub mod pair;
pub mod probe;
pub mod report;
pub mod run;
pub mod traffic;
