#define _GNU_SOURCE
#include "swcrypt_shim.h"
#include <fcntl.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/fs.h>
#include <linux/fscrypt.h>

unsigned long swcrypt_shim_BLKGETSIZE64(void) { return BLKGETSIZE64; }
unsigned long swcrypt_shim_BLKSSZGET(void) { return BLKSSZGET; }
unsigned long swcrypt_shim_BLKRRPART(void) { return BLKRRPART; }
unsigned long swcrypt_shim_BLKFLSBUF(void) { return BLKFLSBUF; }

unsigned long swcrypt_shim_FS_IOC_SET_ENCRYPTION_POLICY(void) { return FS_IOC_SET_ENCRYPTION_POLICY; }
unsigned long swcrypt_shim_FS_IOC_GET_ENCRYPTION_POLICY_EX(void) { return FS_IOC_GET_ENCRYPTION_POLICY_EX; }
unsigned long swcrypt_shim_FS_IOC_ADD_ENCRYPTION_KEY(void) { return FS_IOC_ADD_ENCRYPTION_KEY; }
unsigned long swcrypt_shim_FS_IOC_REMOVE_ENCRYPTION_KEY(void) { return FS_IOC_REMOVE_ENCRYPTION_KEY; }

int swcrypt_shim_O_DIRECT(void) { return O_DIRECT; }

size_t swcrypt_shim_CMSG_SPACE(size_t length) { return CMSG_SPACE(length); }
size_t swcrypt_shim_CMSG_LEN(size_t length) { return CMSG_LEN(length); }

/* swcrypt's own version, set by the release build (Scripts/build-release passes
 * -Xcc -DSWCRYPT_VERSION="..." from `git describe`); a plain `swift build`
 * says so instead of guessing. A string macro cannot be imported into Swift. */
#ifndef SWCRYPT_VERSION
#define SWCRYPT_VERSION "0.0.0+unreleased (a development build, not made by Scripts/build-release)"
#endif
const char *swcrypt_shim_version(void) { return SWCRYPT_VERSION; }

/* dladdr is a GNU extension (Swift's Glibc module does not see it): the file
 * the dynamic loader mapped SYMBOL from, or NULL. */
#include <dlfcn.h>
const char *swcrypt_shim_object_path(const void *symbol) {
    Dl_info info;
    if (dladdr(symbol, &info) == 0) return NULL;
    return info.dli_fname;
}
