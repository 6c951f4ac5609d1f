//! Compiles the eBPF programs in `bpf/` with clang into `$OUT_DIR`.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let clang = std::env::var("HWOL_CLANG").unwrap_or_else(|_| "clang".to_string());
    println!("cargo:rerun-if-env-changed=HWOL_CLANG");
    for f in ["bpf/hwol_shared.h", "bpf/fastpath.h", "bpf/xdp.c", "bpf/tc.c"] {
        println!("cargo:rerun-if-changed={f}");
    }
    for prog in ["xdp", "tc"] {
        let obj = out.join(format!("{prog}.o"));
        let status = Command::new(&clang)
            .args(["-O2", "-g", "-Wall", "-Werror", "-target", "bpf", "-I/usr/include/x86_64-linux-gnu", "-c"])
            .arg(format!("bpf/{prog}.c"))
            .arg("-o")
            .arg(&obj)
            .status();
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => panic!("clang failed ({s}) compiling bpf/{prog}.c; see the errors above"),
            Err(e) => panic!(
                "cannot run `{clang}` ({e}): the eBPF fast path needs clang, llvm and libbpf-dev; run scripts/setup.sh \
                 (or set HWOL_CLANG to a clang binary)"
            ),
        }
    }
}
