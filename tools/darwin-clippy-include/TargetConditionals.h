/* Stand-in for the macOS SDK header, enough for test.sh's clippy check of
   the aarch64-apple-darwin build (ring's C sources are compiled, never linked). */
#define TARGET_OS_OSX 1
#define TARGET_OS_IPHONE 0
#define TARGET_OS_MAC 1
