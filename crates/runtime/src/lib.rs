//! ferrocuda-runtime (being written).
