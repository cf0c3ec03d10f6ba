// A fault-injection seam for the metadata store's SQLite I/O (the SQLite side of what
// timeseries/file_io.h is for the history's logs): an sqlite3_vfs that delegates every call to
// SQLite's default VFS and lets a test count syncs, fail a write, fail a sync, simulate a full
// disk, or hold the writer inside a sync. Nothing registers it unless a test makes one, so it
// costs production nothing; a store uses it when store_options::vfs names it.
// Callers: tests (metadata store, twin graph). Threading: safe for concurrent use; SQLite calls
// it from the store's writer thread and its readers.
// Lifecycle: make it, open stores with vfs = name(), close them, then destroy it (it must outlive
// every connection that uses it; its destructor unregisters the VFS).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace doppel::store {

class sqlite_faults {
 public:
  // Registers a VFS with a name of its own (not as the default).
  sqlite_faults();
  ~sqlite_faults();
  sqlite_faults(const sqlite_faults&) = delete;
  sqlite_faults& operator=(const sqlite_faults&) = delete;

  // The VFS's name, for store_options::vfs.
  const std::string& name() const;

  // Successful syncs (xSync) of any file the VFS opened: the WAL at each commit, the database at
  // WAL checkpoints.
  std::uint64_t syncs() const;
  // The next write (xWrite) fails with SQLITE_IOERR_WRITE, writing nothing.
  void fail_next_write();
  // The next sync fails with SQLITE_IOERR_FSYNC, syncing nothing.
  void fail_next_sync();
  // While full, writes fail with SQLITE_FULL ("database or disk is full"), writing nothing.
  void set_disk_full(bool full);
  // While held, a sync waits (on the thread that calls it, the store's writer) until released;
  // released syncs then proceed as usual. Lets a test queue writes behind a commit in flight.
  void hold_syncs(bool hold);
  // Waits until a sync is waiting on the hold (hold_syncs(true) first).
  void wait_for_held_sync() const;

  struct state;  // the VFS and its counters; in the .cpp

 private:
  std::unique_ptr<state> state_;
};

}  // namespace doppel::store
