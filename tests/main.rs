//! The integration tests: one binary (see `Cargo.toml`), one module per concern.

mod common;
mod specs;
mod tidy;
