//! Regression tests for what fuzzing and review of issue 5 found, each named
//! after the finding. Inputs are small and written here byte by byte.
