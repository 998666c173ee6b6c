//! The `rolecall` binary: reads the flags, starts the logs and the runtime, and exits with
//! the command's code. Everything else is in the library, from `cli` on.

use tracing_subscriber::EnvFilter;

use rolecall::cli::{run, Cli};

fn main() {
    let cli = Cli::parse_or_exit();
    if cli.no_color {
        // Every anstream decision (the plan on stdout, the logs on stderr) is then "no".
        anstream::ColorChoice::Never.write_global();
    }
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
        .with_ansi(anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let code = runtime.block_on(run(cli));
    std::process::exit(code);
}
