#ifndef SWCRYPT_CBLKID_H
#define SWCRYPT_CBLKID_H
#include <blkid.h>
#endif
