//! (shell: being written)

/// Runs the interactive shell.
pub fn run(control: &std::path::Path) -> Result<(), String> {
    let _ = control;
    Err("not yet".into())
}
