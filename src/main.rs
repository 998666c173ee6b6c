use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::Parser;
use tracing_subscriber::EnvFilter;

use rolecall::cli::{run, Cli, EXIT_ERROR};

fn main() {
    let cli = Cli::try_parse().unwrap_or_else(|e| usage_error(&e));
    // Logs go to stderr so that stdout carries only the plan.
    let default_filter = match cli.verbose {
        0 => "warn,aws_config=error",
        1 => "warn,aws_config=error,rolecall=debug",
        _ => "debug",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter)),
        )
        .with_writer(|| rolecall::redact::RedactingWriter(std::io::stderr()))
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none(),
        )
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let code = runtime.block_on(run(cli));
    std::process::exit(code);
}

/// Help and version go to stdout as clap prints them. A usage error exits 1 like every other
/// bad input: clap's own 2 would read as "changes pending" under --detailed-exitcode. A
/// value a flag's parser refused is one line naming the flag, with the parser's reason
/// (which shows the value escaped, so that it cannot break the line).
fn usage_error(e: &clap::Error) -> ! {
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        e.exit();
    }
    let flag = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(flag)) => Some(flag),
        _ => None,
    };
    match (e.kind(), flag, std::error::Error::source(e)) {
        (ErrorKind::ValueValidation, Some(flag), Some(reason)) => {
            eprintln!("Error: {flag}: {reason}");
        }
        _ => {
            let _ = e.print();
        }
    }
    std::process::exit(EXIT_ERROR);
}
