//! Rebuilds the generated client whenever the exported metadata changes (the
//! subxt macro reads the file but does not tell cargo about it).

fn main() {
    println!("cargo:rerun-if-changed=../../metadata/medigate.scale");
}
