#include "storage/perf_counting.h"

#include "rocksdb/perf_level.h"

namespace safeguarding::storage {

void StopRocksDbPerfCountingOnThisThread() {
  thread_local bool stopped = false;
  if (stopped) return;
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  stopped = true;
}

}  // namespace safeguarding::storage
