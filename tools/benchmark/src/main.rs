//! `medigate-benchmark`: measures the pallets' benchmarks against the MediGate
//! runtime (a WebAssembly blob built with the `runtime-benchmarks` feature)
//! and writes weight files. `bench/weights.sh` runs it for every pallet.

use clap::Parser;
use frame_benchmarking_cli::PalletCmd;
use sp_runtime::traits::BlakeTwo256;

/// The command line: `frame-benchmarking-cli`'s `benchmark pallet` options
/// (`--runtime`, `--pallet`, `--extrinsic`, `--steps`, `--repeat`, `--output`...).
#[derive(Debug, Parser)]
#[command(name = "medigate-benchmark", about = "Measure MediGate's pallet benchmarks and write weight files.")]
struct Cli {
    #[command(flatten)]
    pallet: PalletCmd,
}

fn main() -> sc_cli::Result<()> {
    Cli::parse().pallet.run_with_spec::<BlakeTwo256, ()>(None)
}
