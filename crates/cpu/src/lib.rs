//! ferrocuda-cpu (being written).
