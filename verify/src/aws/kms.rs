//! KMS: the keys' rotation status and history.
