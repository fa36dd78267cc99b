#ifndef RAPPORT_BENCHMARKS_RAW_LMDB_H
#define RAPPORT_BENCHMARKS_RAW_LMDB_H

// The baseline of the benchmarks: the shortest path through liblmdb for the
// same workloads, written in C. One table (LMDB's unnamed main database)
// keyed by the 8-byte big-endian log position, values are the payloads only,
// appends with MDB_APPEND, commits durable (no MDB_NOSYNC / MDB_NOMETASYNC)
// unless `durable` is 0.
//
// Every function returns an LMDB error code (0 on success); raw_error_text
// turns it into a message.

#include <stddef.h>
#include <stdint.h>

typedef struct raw_store raw_store;

/// Opens (creating it when missing) the environment in directory `path`,
/// which must exist, with a fixed map of `map_size` bytes.
int raw_open(const char *path, int durable, size_t map_size, raw_store **store);

/// Closes the environment and frees `store`.
void raw_close(raw_store *store);

/// The position of the last record (0 when the table is empty).
int raw_last_position(raw_store *store, uint64_t *position);

/// Appends `count` records at positions `first_position`, `first_position + 1`,
/// … in one write transaction, record `i` being the `payload_size` bytes at
/// `payloads + i * payload_size`; commits (durably when the store is durable).
int raw_append_batch(raw_store *store, uint64_t first_position, const uint8_t *payloads, size_t payload_size,
                     size_t count);

/// Reads every record from position 1 in order with one cursor in one read
/// transaction, adding every payload byte to `*byte_sum`; counts the records
/// in `*records` and the payload bytes in `*bytes`.
int raw_scan(raw_store *store, uint64_t *records, uint64_t *bytes, uint64_t *byte_sum);

/// Reads `count` records at positions `first_position`, `first_position + stride`,
/// … in one read transaction (point lookups), copying each payload into
/// `buffer + i * payload_capacity` (at most `payload_capacity` bytes each).
int raw_read_positions(raw_store *store, uint64_t first_position, uint64_t stride, size_t count, uint8_t *buffer,
                       size_t payload_capacity);

/// The id of the last committed write transaction of the LMDB environment in
/// directory `path` (opened read-only for the question, then closed): how many
/// write transactions the environment has seen since it was created.
int raw_last_transaction_id(const char *path, uint64_t *transaction_id);

/// The sum of `count` bytes (the same loop the Rapport scan uses to touch the payloads).
uint64_t raw_sum_bytes(const uint8_t *bytes, size_t count);

/// A monotonic clock in nanoseconds (CLOCK_MONOTONIC).
uint64_t raw_now_ns(void);

/// Bytes the C allocator has handed out and not taken back (glibc's
/// `mallinfo2().uordblks`; 0 where there is no glibc): the heap in use.
size_t raw_heap_in_use(void);

/// LMDB's text for an error code.
const char *raw_error_text(int code);

/// A read-only view of one named table of an existing environment (such
/// as a Rapport store's `read-models`), for the baselines of read-model
/// queries.
typedef struct raw_table_reader raw_table_reader;

/// Opens the environment in directory `path` read-only, and its table `table`.
int raw_table_open(const char *path, const char *table, raw_table_reader **reader);

/// Closes the environment and frees `reader`.
void raw_table_close(raw_table_reader *reader);

/// What a query that answers with copies does, at its shortest: in one read
/// transaction, one seek to `first`, then a cursor walk over every key up to
/// `last` (inclusive, `memcmp` order), each value copied into a buffer of its
/// own (`malloc`); then every buffer is freed. `values` and `bytes` count
/// what was copied.
int raw_copy_range(raw_table_reader *reader, const uint8_t *first, size_t first_size, const uint8_t *last,
                   size_t last_size, uint64_t *values, uint64_t *bytes);

#endif
