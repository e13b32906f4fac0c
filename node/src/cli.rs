//! Command-line arguments of `medigate-node`.

/// The node's command line: Substrate's standard `run` flags, plus subcommands.
#[derive(Debug, clap::Parser)]
#[command(
    name = "medigate-node",
    about = "A node of the MediGate chain: the permissioned ledger of identities, record anchors, consent and audit.",
    propagate_version = true,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    /// What to do instead of running the node.
    #[command(subcommand)]
    pub subcommand: Option<Subcommand>,

    /// How to run the node (`--dev`, `--chain`, `--base-path`, `--rpc-port`, ...).
    #[clap(flatten)]
    pub run: sc_cli::RunCmd,
}

/// Maintenance commands.
#[derive(Debug, clap::Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum Subcommand {
    /// Key management: generate, inspect, insert keys.
    #[command(subcommand)]
    Key(sc_cli::KeySubcommand),

    /// Write a chain spec (`dev`, `local` or a file) as JSON, for example to
    /// share a network's genesis with its other validators.
    ExportChainSpec(sc_cli::ExportChainSpecCmd),

    /// Validate blocks.
    CheckBlock(sc_cli::CheckBlockCmd),

    /// Export blocks.
    ExportBlocks(sc_cli::ExportBlocksCmd),

    /// Export the state of a given block into a chain spec.
    ExportState(sc_cli::ExportStateCmd),

    /// Import blocks.
    ImportBlocks(sc_cli::ImportBlocksCmd),

    /// Remove the whole chain.
    PurgeChain(sc_cli::PurgeChainCmd),

    /// Revert the chain to a previous state.
    Revert(sc_cli::RevertCmd),

    /// Show the chain's database information.
    ChainInfo(sc_cli::ChainInfoCmd),
}
