//! The `stores-tour` binary: runs [`stores_tour::main_with_args`] with the process arguments.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(
        stores_tour::main_with_args(std::env::args().skip(1), "stores-tour").await,
    )
}
