//! Failure injection for the tests that prove a failed build leaves the output directory as
//! it was (`EAXC_TEST_FAIL`, debug builds only; see the README's Environment variables).

/// A failure injected by tests (debug builds only): `EAXC_TEST_FAIL=write:N` fails writing
/// the N+1th file of the new tree, `EAXC_TEST_FAIL=swap` fails the rename that moves the new
/// tree into place (after the old one was moved aside).
pub(super) fn injected(stage: &str, count: usize) -> bool {
    if !cfg!(debug_assertions) {
        return false;
    }
    let Some(value) = std::env::var_os("EAXC_TEST_FAIL") else {
        return false;
    };
    let value = value.to_string_lossy();
    match value.split_once(':') {
        Some((name, n)) => name == stage && n.parse() == Ok(count),
        None => value == stage,
    }
}

/// The I/O error an injected failure stands in for; its message names `EAXC_TEST_FAIL`, so a
/// test can tell it from a real one.
pub(super) fn injected_error() -> std::io::Error {
    std::io::Error::other("failure injected by EAXC_TEST_FAIL")
}
