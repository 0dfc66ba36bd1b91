#ifndef SWCRYPT_CDEVICEMAPPER_H
#define SWCRYPT_CDEVICEMAPPER_H
#include <libdevmapper.h>
#endif
