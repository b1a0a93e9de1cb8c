//! Lays out the release server's code so what a running server executes sits
//! together (`link/symbol-order.txt`, written by `scripts/order-symbols`).
//!
//! An idle server's memory is mostly its mapped code, and the kernel maps
//! code in 64 KiB runs around each page touched: with the linker's own
//! order, start-up and one request of each kind touch ~3.4 MB of functions
//! spread over nearly all of the 10 MB of code, so nearly all of it stays
//! resident. Listed first and in the order first run, those functions fill
//! a few contiguous megabytes instead.
//!
//! Only for release builds of the `gatehouse` binary on x86-64 Linux, whose
//! default linker (LLD, since Rust 1.90) reads the list; a linker chosen by
//! hand may not, so it is left alone. Names missing from the binary (code
//! changed since the list was written) are skipped silently; the list then
//! just covers less.

use std::env;
use std::path::Path;

const ORDER_FILE: &str = "link/symbol-order.txt";

fn main() {
    println!("cargo::rerun-if-changed={ORDER_FILE}");
    println!("cargo::rerun-if-env-changed=RUSTC_LINKER");
    let var = |name: &str| env::var(name).unwrap_or_default();
    let release = var("PROFILE") == "release";
    let lld_by_default = var("TARGET") == "x86_64-unknown-linux-gnu";
    let rustflags = var("CARGO_ENCODED_RUSTFLAGS");
    let linker_chosen = env::var_os("RUSTC_LINKER").is_some()
        || ["fuse-ld", "linker", "link-self-contained"]
            .iter()
            .any(|flag| rustflags.contains(flag));
    if !(release && lld_by_default) || linker_chosen {
        return;
    }
    let order = Path::new(&var("CARGO_MANIFEST_DIR")).join(ORDER_FILE);
    if order.is_file() {
        println!(
            "cargo::rustc-link-arg-bin=gatehouse=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        println!("cargo::rustc-link-arg-bin=gatehouse=-Wl,--no-warn-symbol-ordering");
    }
}
