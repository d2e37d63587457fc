//! Packing.
#[doc(hidden)]
pub mod stub;
