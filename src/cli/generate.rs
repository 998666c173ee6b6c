//! `rolecall completions SHELL` and `rolecall man [COMMAND]`: the shell scripts and the man
//! pages, written by clap_complete and clap_mangen from the same definitions the parser
//! uses, so that they always name the flags this binary has.

use std::io::Write;

use clap::CommandFactory;

use super::args::Cli;

/// The completion script for `shell`. clap_complete panics when its writer fails, so the
/// script is made in memory and a closed pipe (`| head`) only cuts it short.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) -> std::io::Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "rolecall", &mut script);
    out.write_all(&script)
}

/// The man page of rolecall, or of one command as `rolecall-COMMAND(1)`, the page the
/// top-level one lists it under. `command` is one of [`command_names`] (the flag's parser
/// checks it).
pub fn man_page(command: Option<&str>, out: &mut dyn Write) -> std::io::Result<()> {
    let mut root = Cli::command().disable_help_subcommand(true);
    // Gives each command its full name (`rolecall-update`) and the global flags.
    root.build();
    let page = match command.and_then(|name| root.find_subcommand(name)) {
        Some(command) => command.clone(),
        None => root,
    };
    clap_mangen::Man::new(page).render(out)
}

/// The commands that have a page of their own.
pub fn command_names() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn man(command: Option<&str>) -> String {
        let mut out = Vec::new();
        man_page(command, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_top_page_lists_every_command_and_each_command_has_its_page() {
        let top = man(None);
        assert!(top.starts_with(".ie"), "{top}");
        assert!(top.contains(".TH rolecall 1"), "{top}");
        for command in Cli::command().get_subcommands() {
            let name = command.get_name();
            assert!(
                top.contains(&format!("rolecall\\-{name}(1)")),
                "{name}: {top}"
            );
            let page = man(Some(name));
            assert!(page.contains(&format!(".TH rolecall-{name} 1")), "{page}");
        }
        let update = man(Some("update"));
        for flag in [
            "\\-\\-yes",
            "\\-\\-lifecycle\\-overrides",
            "\\-\\-no\\-color",
        ] {
            assert!(update.contains(flag), "{flag}: {update}");
        }
    }
}
