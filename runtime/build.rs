//! Builds the WebAssembly runtime that the node executes (skipped when
//! `SKIP_WASM_BUILD` is set, for pallet-only test loops).

fn main() {
    #[cfg(feature = "std")]
    substrate_wasm_builder::WasmBuilder::build_using_defaults();
}
