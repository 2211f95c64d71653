//! Thin wrappers over the raw driver entry points.
