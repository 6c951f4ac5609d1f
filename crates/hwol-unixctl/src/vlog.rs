//! `vlog/list` and `vlog/set`: per-module log levels, in OVS's syntax and
//! table format.
//!
//! OVS's model: every module has a level per destination (console, syslog,
//! file). hwol-vswitchd logs to the console (stderr, through `tracing`)
//! only, so `syslog` and `file` are listed as `OFF` and setting them is an
//! error that says so, rather than a silent no-op. A `vlog/set` argument is
//! a list of words separated by `:` naming a module (or `ANY`), a
//! destination (or `ANY`) and a level (`off`, `emer`, `err`, `warn`,
//! `info`, `dbg`), in any order; what is not named means "all".
//!
//! This module is pure: [`Vlog::filter`] gives the `tracing` filter that
//! the daemon installs after each change.

use std::collections::BTreeMap;
use std::fmt;

/// An OVS log level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Nothing.
    Off,
    /// Emergencies (hwol logs these as errors).
    Emer,
    /// Errors.
    Err,
    /// Warnings.
    Warn,
    /// Information.
    Info,
    /// Debugging.
    Dbg,
}

impl Level {
    const ALL: [(&'static str, Level); 6] = [
        ("off", Level::Off),
        ("emer", Level::Emer),
        ("err", Level::Err),
        ("warn", Level::Warn),
        ("info", Level::Info),
        ("dbg", Level::Dbg),
    ];

    fn parse(word: &str) -> Option<Level> {
        Level::ALL.iter().find(|(n, _)| n.eq_ignore_ascii_case(word)).map(|(_, l)| *l)
    }

    /// The `tracing` directive for this level.
    pub fn tracing(self) -> &'static str {
        match self {
            Level::Off => "off",
            Level::Emer | Level::Err => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Dbg => "debug",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = Level::ALL.iter().find(|(_, l)| l == self).map(|(n, _)| *n).unwrap_or("?");
        f.write_str(&name.to_ascii_uppercase())
    }
}

const DESTINATIONS: [&str; 3] = ["console", "syslog", "file"];

/// The modules and their console levels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vlog {
    console: BTreeMap<String, Level>,
}

impl Vlog {
    /// `modules` (tracing targets, e.g. crate names) at `level`.
    pub fn new<'a>(modules: impl IntoIterator<Item = &'a str>, level: Level) -> Self {
        Vlog { console: modules.into_iter().map(|m| (m.to_string(), level)).collect() }
    }

    /// The level of `module` on the console.
    pub fn level(&self, module: &str) -> Option<Level> {
        self.console.get(module).copied()
    }

    /// Apply `vlog/set` arguments. Nothing changes unless every argument is
    /// valid; the error reads like OVS's.
    pub fn set(&mut self, args: &[String]) -> Result<(), String> {
        let mut next = self.clone();
        let args: Vec<String> = if args.is_empty() { vec!["ANY:ANY:dbg".into()] } else { args.to_vec() };
        for arg in &args {
            let (mut module, mut dest, mut level) = (None, None, None);
            for word in arg.split([':', ' ']).filter(|w| !w.is_empty()) {
                if word.eq_ignore_ascii_case("ANY") {
                    // ANY as a module or a destination: both mean "all".
                    continue;
                } else if let Some(d) = DESTINATIONS.iter().find(|d| d.eq_ignore_ascii_case(word)) {
                    dest = Some(*d);
                } else if let Some(l) = Level::parse(word) {
                    level = Some(l);
                } else if self.console.contains_key(word) {
                    module = Some(word.to_string());
                } else if word.contains('%') || word.eq_ignore_ascii_case("PATTERN") {
                    return Err(format!("\"{word}\": hwol does not support log patterns"));
                } else {
                    return Err(format!("no destination, level, or module \"{word}\""));
                }
            }
            if let Some(d) = dest.filter(|d| *d != "console") {
                return Err(format!(
                    "hwol-vswitchd logs to the console (stderr) only; there is no {d} destination to set"
                ));
            }
            let level = level.unwrap_or(Level::Dbg);
            for (m, l) in next.console.iter_mut() {
                if module.as_deref().is_none_or(|want| want == m) {
                    *l = level;
                }
            }
        }
        *self = next;
        Ok(())
    }

    /// `vlog/list`, in OVS's table format.
    pub fn list(&self) -> String {
        let mut out =
            String::from("                 console    syslog    file\n                 -------    ------    ------\n");
        for (m, l) in &self.console {
            out += &format!("{m:<16}  {:>4}       {:>4}       {:>4}\n", l.to_string(), "OFF", "OFF");
        }
        out
    }

    /// The `tracing` filter for the current levels, e.g.
    /// `off,hwol_switch=debug,hwol_vswitchd=info`.
    pub fn filter(&self) -> String {
        let mut f = String::from("off");
        for (m, l) in &self.console {
            f += &format!(",{m}={}", l.tracing());
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vlog() -> Vlog {
        Vlog::new(["hwol_switch", "hwol_vswitchd"], Level::Info)
    }

    fn set(v: &mut Vlog, args: &[&str]) -> Result<(), String> {
        v.set(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn words_in_any_order_and_defaults() {
        let mut v = vlog();
        set(&mut v, &["hwol_switch:console:dbg"]).unwrap();
        assert_eq!(v.level("hwol_switch"), Some(Level::Dbg));
        assert_eq!(v.level("hwol_vswitchd"), Some(Level::Info));
        set(&mut v, &["warn:ANY"]).unwrap();
        assert_eq!(v.level("hwol_switch"), Some(Level::Warn));
        assert_eq!(v.level("hwol_vswitchd"), Some(Level::Warn));
        set(&mut v, &["console", "hwol_switch:err"]).unwrap();
        assert_eq!(v.level("hwol_vswitchd"), Some(Level::Dbg), "each argument is its own spec; no level means dbg");
        assert_eq!(v.level("hwol_switch"), Some(Level::Err));
        set(&mut v, &["hwol_switch:dbg"]).unwrap();
        set(&mut v, &["hwol_vswitchd:off"]).unwrap();
        assert_eq!(v.filter(), "off,hwol_switch=debug,hwol_vswitchd=off");
    }

    #[test]
    fn errors_change_nothing() {
        let mut v = vlog();
        let e = set(&mut v, &["hwol_switch:dbg", "foo:dbg"]).unwrap_err();
        assert_eq!(e, "no destination, level, or module \"foo\"");
        assert_eq!(v, vlog());
        let e = set(&mut v, &["ANY:file:dbg"]).unwrap_err();
        assert!(e.contains("console"), "{e}");
        assert_eq!(v, vlog());
    }

    #[test]
    fn list_is_ovs_table() {
        let text = vlog().list();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "                 console    syslog    file");
        assert_eq!(lines[2], "hwol_switch       INFO        OFF        OFF");
    }
}
