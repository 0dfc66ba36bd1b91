#ifndef SWCRYPT_CCRYPTSETUP_H
#define SWCRYPT_CCRYPTSETUP_H
#include <libcryptsetup.h>
#endif
