//! Criterion bench (placeholder until written).
fn main() {}
