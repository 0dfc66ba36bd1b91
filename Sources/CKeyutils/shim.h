#ifndef SWCRYPT_CKEYUTILS_H
#define SWCRYPT_CKEYUTILS_H
#include <keyutils.h>
#endif
