//! `eaxc explain`: the page of a diagnostic code.

use std::io::Write as _;

use super::Fatal;
use crate::diagnostic::Code;

/// `eaxc explain`.
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// The code, e.g. `E0307`; without one, every code is listed.
    pub code: Option<String>,
}

pub(crate) fn explain(args: &ExplainArgs) -> Result<u8, Fatal> {
    let mut stdout = std::io::stdout().lock();
    let Some(code) = &args.code else {
        for code in Code::ALL {
            let _ = writeln!(stdout, "{code}  {}", code.title());
        }
        return Ok(0);
    };
    match Code::parse(code) {
        Some(code) => {
            let _ = stdout.write_all(code.explanation().as_bytes());
            Ok(0)
        }
        None => {
            let hint = crate::diagnostic::did_you_mean(
                &code.to_uppercase(),
                Code::ALL.iter().map(|c| c.as_str()),
            );
            Err(Fatal(format!(
                "`{code}` is not a diagnostic code{}; `eaxc explain` lists them all",
                if hint.is_empty() {
                    String::new()
                } else {
                    format!(" ({hint})")
                }
            )))
        }
    }
}
