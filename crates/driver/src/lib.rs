//! ferrocuda-driver (being written).
