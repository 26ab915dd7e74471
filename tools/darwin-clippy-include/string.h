/* Stand-in for the macOS SDK header, enough for test.sh's clippy check of
   the aarch64-apple-darwin build (ring's C sources are compiled, never linked). */
#include <stddef.h>
void *memcpy(void *, const void *, size_t);
void *memmove(void *, const void *, size_t);
void *memset(void *, int, size_t);
int memcmp(const void *, const void *, size_t);
size_t strlen(const char *);
