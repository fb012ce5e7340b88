//! Container images podlife builds itself, for the Docker runtime: there is no registry, so
//! every image is built here from Debian's `busybox-static` and podlife's own binaries.
//! (Being implemented.)
