// Package images builds what a guest kernel needs to run SimpleCloud: it
// fetches Debian's cloud kernel into a cache once, resolves kernel module
// dependencies, and writes initramfs archives holding the static simplecloud
// binary, a small Go init, kernel modules and any host programs a test asks
// for (with their shared libraries). The qemu runner lives in images/vm.
package images
