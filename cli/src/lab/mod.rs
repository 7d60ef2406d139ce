//! The two-router lab of DESIGN §8: the seed's Figure 1 built in network namespaces.

pub mod topology;
