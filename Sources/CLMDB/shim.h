#ifndef RAPPORT_CLMDB_SHIM_H
#define RAPPORT_CLMDB_SHIM_H
#include <lmdb.h>
#endif
