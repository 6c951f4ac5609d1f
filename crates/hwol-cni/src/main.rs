//! `hwol-cni`: the CNI plugin binary. Reads the `CNI_*` environment and the
//! network config on stdin, prints a result or a CNI error JSON (exit 1).

use std::io::Read;

use hwol_cni::plugin;
use hwol_cni::spec::{Env, Version};

fn main() {
    let mut stdin = Vec::new();
    let read = std::io::stdin().read_to_end(&mut stdin);
    // Errors are printed in the config's version when it is one we speak.
    let version = serde_json::from_slice::<serde_json::Value>(&stdin)
        .ok()
        .and_then(|v| v.get("cniVersion").and_then(|s| s.as_str()).map(str::to_string))
        .filter(|s| Version::parse(s).is_ok())
        .unwrap_or_else(|| Version::latest().as_str().to_string());
    let r = match read {
        Err(e) => Err(hwol_cni::Error::Io(format!("cannot read the network config from stdin: {e}"))),
        Ok(_) => Env::from_lookup(|k| std::env::var(k).ok()).and_then(|env| plugin::run(&env, &stdin)),
    };
    match r {
        Ok(Some(v)) => println!("{v}"),
        Ok(None) => {}
        Err(e) => {
            println!("{}", e.to_json(&version));
            std::process::exit(1);
        }
    }
}
