#include "RawLMDB.h"

#include <errno.h>
#include <lmdb.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct raw_store {
    MDB_env *env;
    MDB_dbi dbi;
};

static void encode_position(uint64_t position, unsigned char key[8]) {
    for (int i = 7; i >= 0; i--) {
        key[i] = (unsigned char)(position & 0xff);
        position >>= 8;
    }
}

static uint64_t decode_position(const unsigned char key[8]) {
    uint64_t position = 0;
    for (int i = 0; i < 8; i++) position = (position << 8) | key[i];
    return position;
}

int raw_open(const char *path, int durable, size_t map_size, raw_store **out) {
    *out = NULL;
    raw_store *store = calloc(1, sizeof *store);
    if (!store) return ENOMEM;
    int rc = mdb_env_create(&store->env);
    if (rc) goto fail_free;
    if ((rc = mdb_env_set_mapsize(store->env, map_size))) goto fail_env;
    if ((rc = mdb_env_open(store->env, path, durable ? 0 : MDB_NOSYNC, 0644))) goto fail_env;
    MDB_txn *txn;
    if ((rc = mdb_txn_begin(store->env, NULL, 0, &txn))) goto fail_env;
    if ((rc = mdb_dbi_open(txn, NULL, 0, &store->dbi))) {
        mdb_txn_abort(txn);
        goto fail_env;
    }
    if ((rc = mdb_txn_commit(txn))) goto fail_env;
    *out = store;
    return 0;
fail_env:
    mdb_env_close(store->env);
fail_free:
    free(store);
    return rc;
}

void raw_close(raw_store *store) {
    if (!store) return;
    mdb_env_close(store->env);
    free(store);
}

int raw_last_position(raw_store *store, uint64_t *position) {
    *position = 0;
    MDB_txn *txn;
    int rc = mdb_txn_begin(store->env, NULL, MDB_RDONLY, &txn);
    if (rc) return rc;
    MDB_cursor *cursor;
    if ((rc = mdb_cursor_open(txn, store->dbi, &cursor))) {
        mdb_txn_abort(txn);
        return rc;
    }
    MDB_val key, value;
    rc = mdb_cursor_get(cursor, &key, &value, MDB_LAST);
    if (rc == 0 && key.mv_size == 8) *position = decode_position(key.mv_data);
    if (rc == MDB_NOTFOUND) rc = 0;
    mdb_cursor_close(cursor);
    mdb_txn_abort(txn);
    return rc;
}

int raw_append_batch(raw_store *store, uint64_t first_position, const uint8_t *payloads, size_t payload_size,
                     size_t count) {
    MDB_txn *txn;
    int rc = mdb_txn_begin(store->env, NULL, 0, &txn);
    if (rc) return rc;
    unsigned char key_bytes[8];
    for (size_t i = 0; i < count; i++) {
        encode_position(first_position + i, key_bytes);
        MDB_val key = {.mv_size = 8, .mv_data = key_bytes};
        MDB_val value = {.mv_size = payload_size, .mv_data = (void *)(payloads + i * payload_size)};
        if ((rc = mdb_put(txn, store->dbi, &key, &value, MDB_APPEND))) {
            mdb_txn_abort(txn);
            return rc;
        }
    }
    return mdb_txn_commit(txn);
}

uint64_t raw_sum_bytes(const uint8_t *bytes, size_t count) {
    uint64_t sum = 0;
    for (size_t i = 0; i < count; i++) sum += bytes[i];
    return sum;
}

int raw_scan(raw_store *store, uint64_t *records, uint64_t *bytes, uint64_t *byte_sum) {
    *records = 0;
    *bytes = 0;
    MDB_txn *txn;
    int rc = mdb_txn_begin(store->env, NULL, MDB_RDONLY, &txn);
    if (rc) return rc;
    MDB_cursor *cursor;
    if ((rc = mdb_cursor_open(txn, store->dbi, &cursor))) {
        mdb_txn_abort(txn);
        return rc;
    }
    MDB_val key, value;
    uint64_t count = 0, total = 0, sum = 0;
    for (rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)) {
        count += 1;
        total += value.mv_size;
        sum += raw_sum_bytes(value.mv_data, value.mv_size);
    }
    if (rc == MDB_NOTFOUND) rc = 0;
    mdb_cursor_close(cursor);
    mdb_txn_abort(txn);
    *records = count;
    *bytes = total;
    *byte_sum += sum;
    return rc;
}

int raw_read_positions(raw_store *store, uint64_t first_position, uint64_t stride, size_t count, uint8_t *buffer,
                       size_t payload_capacity) {
    MDB_txn *txn;
    int rc = mdb_txn_begin(store->env, NULL, MDB_RDONLY, &txn);
    if (rc) return rc;
    unsigned char key_bytes[8];
    for (size_t i = 0; i < count; i++) {
        encode_position(first_position + i * stride, key_bytes);
        MDB_val key = {.mv_size = 8, .mv_data = key_bytes};
        MDB_val value;
        if ((rc = mdb_get(txn, store->dbi, &key, &value))) break;
        size_t n = value.mv_size < payload_capacity ? value.mv_size : payload_capacity;
        memcpy(buffer + i * payload_capacity, value.mv_data, n);
    }
    mdb_txn_abort(txn);
    return rc;
}

int raw_last_transaction_id(const char *path, uint64_t *transaction_id) {
    *transaction_id = 0;
    MDB_env *env;
    int rc = mdb_env_create(&env);
    if (rc) return rc;
    mdb_env_set_maxdbs(env, 64);
    if ((rc = mdb_env_open(env, path, MDB_RDONLY, 0644)) == 0) {
        MDB_envinfo info;
        if ((rc = mdb_env_info(env, &info)) == 0) *transaction_id = (uint64_t)info.me_last_txnid;
    }
    mdb_env_close(env);
    return rc;
}

uint64_t raw_now_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

const char *raw_error_text(int code) { return mdb_strerror(code); }

size_t raw_heap_in_use(void) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    return mallinfo2().uordblks;
#else
    return 0;
#endif
}

struct raw_table_reader {
    MDB_env *env;
    MDB_dbi dbi;
    void **copies;
    size_t capacity;
};

int raw_table_open(const char *path, const char *table, raw_table_reader **out) {
    *out = NULL;
    raw_table_reader *reader = calloc(1, sizeof *reader);
    if (!reader) return ENOMEM;
    int rc = mdb_env_create(&reader->env);
    if (rc) goto fail_free;
    if ((rc = mdb_env_set_maxdbs(reader->env, 32))) goto fail_env;
    if ((rc = mdb_env_open(reader->env, path, MDB_RDONLY | MDB_NOTLS, 0644))) goto fail_env;
    MDB_txn *txn;
    if ((rc = mdb_txn_begin(reader->env, NULL, MDB_RDONLY, &txn))) goto fail_env;
    if ((rc = mdb_dbi_open(txn, table, 0, &reader->dbi))) {
        mdb_txn_abort(txn);
        goto fail_env;
    }
    // An aborted transaction would close the table's handle: commit it.
    if ((rc = mdb_txn_commit(txn))) goto fail_env;
    *out = reader;
    return 0;
fail_env:
    mdb_env_close(reader->env);
fail_free:
    free(reader);
    return rc;
}

void raw_table_close(raw_table_reader *reader) {
    if (!reader) return;
    mdb_env_close(reader->env);
    free(reader->copies);
    free(reader);
}

int raw_copy_range(raw_table_reader *reader, const uint8_t *first, size_t first_size, const uint8_t *last,
                   size_t last_size, uint64_t *values, uint64_t *bytes) {
    *values = 0;
    *bytes = 0;
    MDB_txn *txn;
    int rc = mdb_txn_begin(reader->env, NULL, MDB_RDONLY, &txn);
    if (rc) return rc;
    MDB_cursor *cursor;
    if ((rc = mdb_cursor_open(txn, reader->dbi, &cursor))) {
        mdb_txn_abort(txn);
        return rc;
    }
    size_t count = 0;
    MDB_val key = {first_size, (void *)first}, value;
    rc = mdb_cursor_get(cursor, &key, &value, MDB_SET_RANGE);
    while (rc == 0) {
        size_t common = key.mv_size < last_size ? key.mv_size : last_size;
        int order = memcmp(key.mv_data, last, common);
        if (order > 0 || (order == 0 && key.mv_size > last_size)) break;
        if (count == reader->capacity) {
            size_t capacity = reader->capacity ? reader->capacity * 2 : 1024;
            void **grown = realloc(reader->copies, capacity * sizeof *grown);
            if (!grown) {
                rc = ENOMEM;
                break;
            }
            reader->copies = grown;
            reader->capacity = capacity;
        }
        void *copy = malloc(value.mv_size);
        if (!copy) {
            rc = ENOMEM;
            break;
        }
        memcpy(copy, value.mv_data, value.mv_size);
        reader->copies[count++] = copy;
        *bytes += value.mv_size;
        rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT);
    }
    if (rc == MDB_NOTFOUND) rc = 0;
    mdb_cursor_close(cursor);
    mdb_txn_abort(txn);
    *values = count;
    for (size_t i = 0; i < count; i++) free(reader->copies[i]);
    return rc;
}
