//! The integration tests: one binary (see `Cargo.toml`), one module per concern.

mod cli;
mod common;
mod docs;
mod escaping;
mod handlers;
mod mutation;
mod output;
mod specs;
mod tidy;
