//! S3 Control: the account's public access block.
