//! Tests of the printed forms (filled in below).
