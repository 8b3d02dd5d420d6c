//! The integration tests: one binary (see `Cargo.toml`), one module per concern.

mod canary;
mod cli;
mod commands;
mod common;
mod docs;
mod escaping;
mod fmt;
mod handlers;
mod mutation;
mod output;
mod resolve;
mod specs;
mod tidy;
