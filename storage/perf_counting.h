// RocksDB counts every memtable key comparison, block read and the like in a thread-local
// perf context unless the thread says not to (rocksdb::SetPerfLevel is per thread): two
// thread-local lookups in a shared library for each comparison, and a group commit or a
// point read makes hundreds. Nothing of ours reads those counts, so the threads that do
// the store's hot work (the committer's; gRPC's and the workers' as they read) turn them
// off.
#ifndef SAFEGUARDING_STORAGE_PERF_COUNTING_H_
#define SAFEGUARDING_STORAGE_PERF_COUNTING_H_

namespace safeguarding::storage {

// Turns RocksDB's perf counting off on the calling thread; after the first call on a
// thread, costs one check of a thread-local flag of this program.
void StopRocksDbPerfCountingOnThisThread();

}  // namespace safeguarding::storage

#endif  // SAFEGUARDING_STORAGE_PERF_COUNTING_H_
