// Opens an LMDB environment (another process of a store), begins N read
// transactions, says "ready", then waits to be killed (SIGKILL: no cleanup).
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 2) return 2;
    int n = argc > 2 ? atoi(argv[2]) : 1;
    MDB_env *env; int rc;
    if ((rc = mdb_env_create(&env))) { printf("create %s\n", mdb_strerror(rc)); return 1; }
    mdb_env_set_maxdbs(env, 32);
    if ((rc = mdb_env_open(env, argv[1], MDB_NOTLS, 0644))) { printf("open %s\n", mdb_strerror(rc)); return 1; }
    for (int i = 0; i < n; i++) {
        MDB_txn *txn;
        if ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn))) { printf("begin %s\n", mdb_strerror(rc)); return 1; }
    }
    printf("ready\n"); fflush(stdout);
    for (;;) pause();
}
