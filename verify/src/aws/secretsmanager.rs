//! Secrets Manager: a secret's description, and (opt-in) its value, which never leaves the process.
