// Another process that grows the map and writes past the others' mappings:
// grow PATH MAPSIZE BYTES KEY
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
    if (argc < 5) return 2;
    MDB_env *env; MDB_txn *txn; MDB_dbi dbi; int rc;
    mdb_env_create(&env);
    mdb_env_set_maxdbs(env, 32);
    mdb_env_set_mapsize(env, strtoull(argv[2], 0, 10));
    if ((rc = mdb_env_open(env, argv[1], MDB_NOTLS, 0644))) { printf("open %s\n", mdb_strerror(rc)); return 1; }
    if ((rc = mdb_txn_begin(env, NULL, 0, &txn))) { printf("begin %s\n", mdb_strerror(rc)); return 1; }
    if ((rc = mdb_dbi_open(txn, "filler", MDB_CREATE, &dbi))) { printf("dbi %s\n", mdb_strerror(rc)); return 1; }
    size_t n = strtoull(argv[3], 0, 10);
    MDB_val k = { strlen(argv[4]), argv[4] }, v = { n, NULL };
    if ((rc = mdb_put(txn, dbi, &k, &v, MDB_RESERVE))) { printf("put %s\n", mdb_strerror(rc)); return 1; }
    memset(v.mv_data, 1, n);
    if ((rc = mdb_txn_commit(txn))) { printf("commit %s\n", mdb_strerror(rc)); return 1; }
    MDB_envinfo info; mdb_env_info(env, &info);
    printf("grown %zu last_pg %zu\n", info.me_mapsize, info.me_last_pgno); fflush(stdout);
    mdb_env_close(env);
    return 0;
}
