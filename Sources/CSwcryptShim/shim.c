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
