//! Examples live in this directory; see each file for how to run it.
