//! Integration-test support for iosha: the simulated pair and the namespace lab helpers.
