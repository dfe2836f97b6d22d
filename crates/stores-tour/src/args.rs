//! The tour's command line: where its data lives and which backends it uses.

use std::path::PathBuf;

/// What the tour was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Args {
    /// Where the embedded stores keep their data; `None` with `--memory`.
    pub(crate) data_dir: Option<PathBuf>,
    /// Whether the data directory was chosen by the user (kept) or made fresh.
    pub(crate) chosen: bool,
    /// Run the SQL part on the harness's PostgreSQL instead of SQLite.
    pub(crate) real: bool,
}

/// The usage text of `--help`, `PROGRAM` standing for how the tour was run.
const USAGE: &str = "\
PROGRAM: the seed's scenario (objects, documents, search, SQL), step by step

USAGE:
    PROGRAM [--data-dir DIR | --memory] [--real]

OPTIONS:
    --data-dir DIR   keep the embedded stores' data in DIR (created if missing); run the tour
                     twice with the same DIR to see the data survive
    --memory         use the in-memory stores only; nothing is written to disk
    --real           run the SQL part on the harness's PostgreSQL (STORES_POSTGRES_URL, or
                     .services/services.env from `just services-up postgres`)
    -h, --help       print this text

By default the data lives in a fresh folder under the system's temp directory, named at the
start of the run.";

/// The usage text of `--help` for the tour run as `program` (`stores-tour`, `stores tour`).
pub(crate) fn usage(program: &str) -> String {
    USAGE.replace("PROGRAM", program)
}

/// Parses the arguments after the program name; `Ok(None)` means `--help` was asked for.
pub(crate) fn parse(args: impl IntoIterator<Item = String>) -> Result<Option<Args>, String> {
    let mut data_dir = None;
    let mut memory = false;
    let mut real = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--memory" => memory = true,
            "--real" => real = true,
            "--data-dir" => {
                let dir = args
                    .next()
                    .filter(|d| !d.is_empty())
                    .ok_or("--data-dir needs a directory: --data-dir DIR")?;
                data_dir = Some(PathBuf::from(dir));
            }
            other => match other.strip_prefix("--data-dir=") {
                Some(dir) if !dir.is_empty() => data_dir = Some(PathBuf::from(dir)),
                _ => return Err(format!("unknown argument `{other}`; see --help")),
            },
        }
    }
    if memory && data_dir.is_some() {
        return Err("--memory and --data-dir exclude each other: pick one".into());
    }
    let chosen = data_dir.is_some();
    let data_dir = match (memory, data_dir) {
        (true, _) => None,
        (false, Some(dir)) => Some(dir),
        (false, None) => Some(fresh_dir()),
    };
    Ok(Some(Args {
        data_dir,
        chosen,
        real,
    }))
}

/// A new folder name under the temp directory, unique to this run.
fn fresh_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    std::env::temp_dir().join(format!("stores-tour-{}-{nanos:09}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(args: &[&str]) -> Result<Option<Args>, String> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn defaults_to_a_fresh_data_dir_under_temp() {
        let args = parse_args(&[]).unwrap().unwrap();
        let dir = args.data_dir.unwrap();
        assert!(dir.starts_with(std::env::temp_dir()));
        assert!(!args.chosen && !args.real);
    }

    #[test]
    fn data_dir_memory_and_real_are_read() {
        let args = parse_args(&["--data-dir", "/tmp/x", "--real"])
            .unwrap()
            .unwrap();
        assert_eq!(args.data_dir, Some(PathBuf::from("/tmp/x")));
        assert!(args.chosen && args.real);
        let args = parse_args(&["--data-dir=/tmp/y"]).unwrap().unwrap();
        assert_eq!(args.data_dir, Some(PathBuf::from("/tmp/y")));
        assert_eq!(parse_args(&["--memory"]).unwrap().unwrap().data_dir, None);
        assert_eq!(parse_args(&["--help"]).unwrap(), None);
    }

    #[test]
    fn bad_arguments_are_one_clear_line() {
        for bad in [
            &["--data-dir"][..],
            &["--frobnicate"],
            &["--memory", "--data-dir", "x"],
        ] {
            let err = parse_args(bad).unwrap_err();
            assert!(!err.contains('\n'), "{err}");
        }
    }
}
