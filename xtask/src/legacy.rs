//! The load generator's former spellings: `cargo xtask load` once took its shape as flags
//! (`--mode max|players|capacity`, `--compare`, `--sync FOLLOW`); these map onto
//! `spacewars-load`'s subcommands, so scripts and notes written for them keep working.

use std::ffi::OsString;

/// `spacewars-load`'s arguments for `cargo xtask load ARGS`: unchanged when they start
/// with a subcommand (or `--help`), else the shape flag becomes the subcommand, chosen
/// with the precedence the flags had (`--sync`, then `--mode capacity`, then `--compare`,
/// then `--mode`, by default `max`). Flags that the chosen subcommand does not take no
/// longer parse, where they were once silently ignored.
pub fn load_args(args: Vec<OsString>) -> Vec<OsString> {
    let starts_with_flag = args
        .first()
        .and_then(|first| first.to_str())
        .is_some_and(|first| first.starts_with("--") && first != "--help");
    if !starts_with_flag {
        return args;
    }
    let mut rest = Vec::new();
    let (mut mode, mut sync, mut compare) = (None, None, false);
    let mut iter = args.into_iter();
    while let Some(arg) = iter.next() {
        let text = arg.to_str().unwrap_or_default();
        match text.split_once('=') {
            Some(("--mode", value)) => mode = Some(OsString::from(value)),
            Some(("--sync", value)) => sync = Some(OsString::from(value)),
            _ if text == "--mode" => mode = iter.next(),
            _ if text == "--sync" => sync = iter.next(),
            _ if text == "--compare" => compare = true,
            _ => rest.push(arg),
        }
    }
    let shape: Vec<OsString> = match (sync, mode) {
        (Some(follow), _) => vec!["sync".into(), follow],
        (None, Some(mode)) if mode == "capacity" => vec![mode],
        _ if compare => vec!["compare".into()],
        (None, Some(mode)) => vec![mode],
        (None, None) => vec!["max".into()],
    };
    shape.into_iter().chain(rest).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapped(args: &str) -> String {
        let args = args.split_whitespace().map(OsString::from).collect();
        let out: Vec<String> = load_args(args)
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        out.join(" ")
    }

    #[test]
    fn shape_flags_become_subcommands() {
        assert_eq!(mapped("--mode players --players 5"), "players --players 5");
        assert_eq!(
            mapped("--compare --rounds 3 --strict"),
            "compare --rounds 3 --strict"
        );
        assert_eq!(mapped("--sync all --players 300"), "sync all --players 300");
        assert_eq!(mapped("--sync=delta"), "sync delta");
        assert_eq!(
            mapped("--mode=capacity --follow full"),
            "capacity --follow full"
        );
        assert_eq!(mapped("--duration-secs 2"), "max --duration-secs 2");
    }

    #[test]
    fn the_old_precedence_picks_the_subcommand() {
        // `--sync` won over `--compare`, which won over `--mode players`.
        assert_eq!(mapped("--sync full --compare"), "sync full");
        assert_eq!(mapped("--mode players --compare"), "compare");
        assert_eq!(mapped("--compare --mode capacity"), "capacity");
    }

    #[test]
    fn new_spellings_pass_unchanged() {
        assert_eq!(mapped("compare --rounds 3"), "compare --rounds 3");
        assert_eq!(mapped("sync stream --players 5"), "sync stream --players 5");
        assert_eq!(mapped("--help"), "--help");
        assert_eq!(mapped(""), "");
    }
}
