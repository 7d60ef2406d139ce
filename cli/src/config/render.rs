//! `show running-config` text.

use super::Config;

/// Renders the configuration as IOS text.
pub fn render(cfg: &Config) -> String {
    let _ = cfg;
    String::new()
}
