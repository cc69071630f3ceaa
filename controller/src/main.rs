//! `weir-controller`: the weir Ingress controller binary.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use weir_controller::plan::Plan;
use weir_translate::{ClassSelection, ControllerKind, TranslateConfig};

#[derive(Parser)]
#[command(
    name = "weir-controller",
    version,
    about = "weir: Kubernetes Ingress to load balancers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print what weir would build from a folder of manifests, and every problem it finds.
    Plan {
        /// Folder of Ingress, IngressClass, Service, EndpointSlice and Secret YAML (recursive).
        #[arg(long)]
        manifests: PathBuf,
        /// Which provider to plan for.
        #[arg(long, value_enum, default_value_t = ProviderArg::Localproxy)]
        provider: ProviderArg,
        /// Serve only Ingresses of this class name (no IngressClass object needed) instead of
        /// those whose IngressClass names the provider's controller.
        #[arg(long, conflicts_with = "all_classes")]
        ingress_class: Option<String>,
        /// Serve every Ingress, whatever its class (as `weir-proxy --manifests` does).
        #[arg(long)]
        all_classes: bool,
        /// Output format.
        #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ProviderArg {
    /// The in-cluster weir proxy (IngressClass controller weir.dev/localproxy).
    Localproxy,
    /// AWS Application Load Balancers (IngressClass controller weir.dev/aws-alb).
    Aws,
}

#[derive(Clone, Copy, ValueEnum)]
enum Output {
    Text,
    Json,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("weir-controller: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Plan {
            manifests,
            provider,
            ingress_class,
            all_classes,
            output,
        } => {
            let kind = match provider {
                ProviderArg::Localproxy => ControllerKind::LocalProxy,
                ProviderArg::Aws => ControllerKind::AwsAlb,
            };
            let mut config = TranslateConfig::for_controller(kind);
            if let Some(name) = ingress_class {
                config.classes = ClassSelection::Named(name);
            }
            if all_classes {
                config.classes = ClassSelection::Everything;
            }
            let snapshot = weir_manifests::load_dir(&manifests)
                .with_context(|| format!("reading manifests from {}", manifests.display()))?;
            let plan = Plan::new(&snapshot, kind, &config);
            match output {
                Output::Text => print!("{}", plan.to_text()),
                Output::Json => println!("{}", plan.to_json()),
            }
            Ok(())
        }
    }
}
