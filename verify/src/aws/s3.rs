//! S3: a bucket's versioning, default encryption and public access block.
