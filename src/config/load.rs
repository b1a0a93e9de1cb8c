//! Layering: built-in defaults < the file < `GATEHOUSE__…` variables.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format as _, Serialized, Toml};

use super::{Config, ConfigError, DEFAULT_CONFIG_PATH};

impl Config {
    /// Loads defaults < file < environment, then validates.
    ///
    /// `path` is the `--config` argument: when given, the file must exist;
    /// when not, [`DEFAULT_CONFIG_PATH`] is read if present.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let vars: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(path, &vars)
    }

    /// As [`Config::load`], with the environment given (for tests).
    pub fn load_from(path: Option<&Path>, env: &[(String, String)]) -> Result<Self, ConfigError> {
        let file = match path {
            Some(p) if !p.is_file() => {
                return Err(ConfigError::new(
                    "--config",
                    format!("no such file: {}", p.display()),
                ));
            }
            Some(p) => Some(p.to_path_buf()),
            None => Some(PathBuf::from(DEFAULT_CONFIG_PATH)).filter(|p| p.is_file()),
        };
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = &file {
            figment = figment.merge(Toml::file_exact(file));
        }
        for (name, value) in env {
            if let Some(rest) = name.strip_prefix("GATEHOUSE__") {
                figment = figment.merge(EnvVar {
                    name: name.clone(),
                    path: rest.to_ascii_lowercase().replace("__", "."),
                    value: value.clone(),
                });
            }
        }
        let config: Config = figment.extract().map_err(|e| describe_figment_error(&e))?;
        config.validated()
    }
}

/// One `GATEHOUSE__SECTION__KEY` variable as a figment provider, named after
/// the variable so an error says exactly where the bad value came from.
/// (figment's own `Env` reads the process environment, which tests would race on.)
struct EnvVar {
    name: String,
    path: String,
    value: String,
}

impl figment::Provider for EnvVar {
    fn metadata(&self) -> figment::Metadata {
        figment::Metadata::named(self.name.clone())
    }

    fn data(
        &self,
    ) -> Result<figment::value::Map<figment::Profile, figment::value::Dict>, figment::Error> {
        // TOML-like parsing: numbers and booleans become typed, the rest stays a string.
        let value: figment::value::Value = match self.value.parse() {
            Ok(value) => value,
            Err(never) => match never {},
        };
        Serialized::default(&self.path, value).data()
    }
}

fn describe_figment_error(error: &figment::Error) -> ConfigError {
    let key = if error.path.is_empty() {
        "config".to_owned()
    } else {
        error.path.join(".")
    };
    let source = error
        .metadata
        .as_ref()
        .map(|m| {
            m.source
                .as_ref()
                .map_or_else(|| m.name.to_string(), ToString::to_string)
        })
        .map(|s| format!(" (from {s})"))
        .unwrap_or_default();
    ConfigError::new(key, format!("{}{source}", error.kind))
}
