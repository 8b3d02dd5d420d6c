//! The integration tests: one binary (see `Cargo.toml`), one module per concern.

mod canary;
mod cli;
mod common;
mod docs;
mod escaping;
mod handlers;
mod mutation;
mod resolve;
mod specs;
mod tidy;
