#include "store/sqlite_faults.h"

#include <sqlite3.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <mutex>

namespace doppel::store {

struct sqlite_faults::state {
  sqlite3_vfs vfs{};  // pAppData points back here
  sqlite3_vfs* real = nullptr;
  sqlite3_io_methods methods{};
  std::string name;

  mutable std::mutex mu;
  mutable std::condition_variable cv;
  std::uint64_t syncs = 0;  // guarded by mu
  bool fail_write = false;  // guarded by mu
  bool fail_sync = false;   // guarded by mu
  bool full = false;        // guarded by mu
  bool hold = false;        // guarded by mu
  int held = 0;             // guarded by mu: syncs waiting on the hold
};

namespace {

using state = sqlite_faults::state;

// A file of this VFS: ours, then the default VFS's file right behind it (szOsFile covers both).
struct shim_file {
  sqlite3_file base;
  state* owner;
};

sqlite3_file* real_file(sqlite3_file* f) {
  return reinterpret_cast<sqlite3_file*>(reinterpret_cast<shim_file*>(f) + 1);
}
state& owner_of(sqlite3_file* f) { return *reinterpret_cast<shim_file*>(f)->owner; }
state& owner_of(sqlite3_vfs* v) { return *static_cast<state*>(v->pAppData); }
sqlite3_vfs* real_vfs(sqlite3_vfs* v) { return owner_of(v).real; }

int shim_close(sqlite3_file* f) {
  sqlite3_file* r = real_file(f);
  return r->pMethods ? r->pMethods->xClose(r) : SQLITE_OK;
}
int shim_read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  sqlite3_file* r = real_file(f);
  return r->pMethods->xRead(r, buf, n, off);
}
int shim_write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  state& s = owner_of(f);
  {
    std::lock_guard lock(s.mu);
    if (s.full) return SQLITE_FULL;
    if (s.fail_write) {
      s.fail_write = false;
      return SQLITE_IOERR_WRITE;
    }
  }
  sqlite3_file* r = real_file(f);
  return r->pMethods->xWrite(r, buf, n, off);
}
int shim_truncate(sqlite3_file* f, sqlite3_int64 size) {
  sqlite3_file* r = real_file(f);
  return r->pMethods->xTruncate(r, size);
}
int shim_sync(sqlite3_file* f, int flags) {
  state& s = owner_of(f);
  {
    std::unique_lock lock(s.mu);
    if (s.hold) {
      ++s.held;
      s.cv.notify_all();
      s.cv.wait(lock, [&] { return !s.hold; });
      --s.held;
    }
    if (s.fail_sync) {
      s.fail_sync = false;
      return SQLITE_IOERR_FSYNC;
    }
  }
  sqlite3_file* r = real_file(f);
  int rc = r->pMethods->xSync(r, flags);
  if (rc == SQLITE_OK) {
    std::lock_guard lock(s.mu);
    ++s.syncs;
  }
  return rc;
}
int shim_file_size(sqlite3_file* f, sqlite3_int64* size) {
  sqlite3_file* r = real_file(f);
  return r->pMethods->xFileSize(r, size);
}
int shim_lock(sqlite3_file* f, int level) {
  sqlite3_file* r = real_file(f);
  return r->pMethods->xLock(r, level);
}
int shim_unlock(sqlite3_file* f, int level) {
  sqlite3_file* r = real_file(f);
  return r->pMethods->xUnlock(r, level);
}
int shim_check_reserved_lock(sqlite3_file* f, int* out) {
  sqlite3_file* r = real_file(f);
  return r->pMethods->xCheckReservedLock(r, out);
}
int shim_file_control(sqlite3_file* f, int op, void* arg) {
  sqlite3_file* r = real_file(f);
  return r->pMethods->xFileControl(r, op, arg);
}
int shim_sector_size(sqlite3_file* f) {
  sqlite3_file* r = real_file(f);
  return r->pMethods->xSectorSize(r);
}
int shim_device_characteristics(sqlite3_file* f) {
  sqlite3_file* r = real_file(f);
  return r->pMethods->xDeviceCharacteristics(r);
}
int shim_shm_map(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
  sqlite3_file* r = real_file(f);
  return r->pMethods->xShmMap(r, page, size, extend, out);
}
int shim_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  sqlite3_file* r = real_file(f);
  return r->pMethods->xShmLock(r, offset, n, flags);
}
void shim_shm_barrier(sqlite3_file* f) {
  sqlite3_file* r = real_file(f);
  r->pMethods->xShmBarrier(r);
}
int shim_shm_unmap(sqlite3_file* f, int delete_flag) {
  sqlite3_file* r = real_file(f);
  return r->pMethods->xShmUnmap(r, delete_flag);
}
int shim_fetch(sqlite3_file* f, sqlite3_int64 off, int n, void** out) {
  sqlite3_file* r = real_file(f);
  return r->pMethods->xFetch(r, off, n, out);
}
int shim_unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) {
  sqlite3_file* r = real_file(f);
  return r->pMethods->xUnfetch(r, off, p);
}

int shim_open(sqlite3_vfs* v, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  state& s = owner_of(v);
  auto* file = reinterpret_cast<shim_file*>(f);
  file->owner = &s;
  sqlite3_file* r = real_file(f);
  int rc = s.real->xOpen(s.real, name, r, flags, out_flags);
  // Without methods SQLite does not call xClose; it must see none of ours either.
  file->base.pMethods = r->pMethods ? &s.methods : nullptr;
  return rc;
}
int shim_delete(sqlite3_vfs* v, const char* name, int sync_dir) {
  sqlite3_vfs* r = real_vfs(v);
  return r->xDelete(r, name, sync_dir);
}
int shim_access(sqlite3_vfs* v, const char* name, int flags, int* out) {
  sqlite3_vfs* r = real_vfs(v);
  return r->xAccess(r, name, flags, out);
}
int shim_full_pathname(sqlite3_vfs* v, const char* name, int n, char* out) {
  sqlite3_vfs* r = real_vfs(v);
  return r->xFullPathname(r, name, n, out);
}
void* shim_dl_open(sqlite3_vfs* v, const char* name) {
  sqlite3_vfs* r = real_vfs(v);
  return r->xDlOpen(r, name);
}
void shim_dl_error(sqlite3_vfs* v, int n, char* out) {
  sqlite3_vfs* r = real_vfs(v);
  r->xDlError(r, n, out);
}
void (*shim_dl_sym(sqlite3_vfs* v, void* lib, const char* sym))(void) {
  sqlite3_vfs* r = real_vfs(v);
  return r->xDlSym(r, lib, sym);
}
void shim_dl_close(sqlite3_vfs* v, void* lib) {
  sqlite3_vfs* r = real_vfs(v);
  r->xDlClose(r, lib);
}
int shim_randomness(sqlite3_vfs* v, int n, char* out) {
  sqlite3_vfs* r = real_vfs(v);
  return r->xRandomness(r, n, out);
}
int shim_sleep(sqlite3_vfs* v, int micros) {
  sqlite3_vfs* r = real_vfs(v);
  return r->xSleep(r, micros);
}
int shim_current_time(sqlite3_vfs* v, double* out) {
  sqlite3_vfs* r = real_vfs(v);
  return r->xCurrentTime(r, out);
}
int shim_get_last_error(sqlite3_vfs* v, int n, char* out) {
  sqlite3_vfs* r = real_vfs(v);
  return r->xGetLastError ? r->xGetLastError(r, n, out) : 0;
}
int shim_current_time_int64(sqlite3_vfs* v, sqlite3_int64* out) {
  sqlite3_vfs* r = real_vfs(v);
  return r->xCurrentTimeInt64(r, out);
}

}  // namespace

sqlite_faults::sqlite_faults() : state_(std::make_unique<state>()) {
  state& s = *state_;
  sqlite3_initialize();
  s.real = sqlite3_vfs_find(nullptr);
  // Named after its address: unique among the instances alive, and no counter to share.
  char name[48];
  std::snprintf(name, sizeof name, "doppel-faults-%p", static_cast<void*>(&s));
  s.name = name;
  // The default VFS (unix) has version 3 of both structs; ours offers no more than it does.
  s.vfs.iVersion = std::min(s.real->iVersion, 2);
  s.vfs.szOsFile = static_cast<int>(sizeof(shim_file)) + s.real->szOsFile;
  s.vfs.mxPathname = s.real->mxPathname;
  s.vfs.zName = s.name.c_str();
  s.vfs.pAppData = &s;
  s.vfs.xOpen = shim_open;
  s.vfs.xDelete = shim_delete;
  s.vfs.xAccess = shim_access;
  s.vfs.xFullPathname = shim_full_pathname;
  s.vfs.xDlOpen = shim_dl_open;
  s.vfs.xDlError = shim_dl_error;
  s.vfs.xDlSym = shim_dl_sym;
  s.vfs.xDlClose = shim_dl_close;
  s.vfs.xRandomness = shim_randomness;
  s.vfs.xSleep = shim_sleep;
  s.vfs.xCurrentTime = shim_current_time;
  s.vfs.xGetLastError = shim_get_last_error;
  s.vfs.xCurrentTimeInt64 = shim_current_time_int64;
  s.methods.iVersion = 3;
  s.methods.xClose = shim_close;
  s.methods.xRead = shim_read;
  s.methods.xWrite = shim_write;
  s.methods.xTruncate = shim_truncate;
  s.methods.xSync = shim_sync;
  s.methods.xFileSize = shim_file_size;
  s.methods.xLock = shim_lock;
  s.methods.xUnlock = shim_unlock;
  s.methods.xCheckReservedLock = shim_check_reserved_lock;
  s.methods.xFileControl = shim_file_control;
  s.methods.xSectorSize = shim_sector_size;
  s.methods.xDeviceCharacteristics = shim_device_characteristics;
  s.methods.xShmMap = shim_shm_map;
  s.methods.xShmLock = shim_shm_lock;
  s.methods.xShmBarrier = shim_shm_barrier;
  s.methods.xShmUnmap = shim_shm_unmap;
  s.methods.xFetch = shim_fetch;
  s.methods.xUnfetch = shim_unfetch;
  sqlite3_vfs_register(&s.vfs, 0);
}

sqlite_faults::~sqlite_faults() { sqlite3_vfs_unregister(&state_->vfs); }

const std::string& sqlite_faults::name() const { return state_->name; }

std::uint64_t sqlite_faults::syncs() const {
  std::lock_guard lock(state_->mu);
  return state_->syncs;
}

void sqlite_faults::fail_next_write() {
  std::lock_guard lock(state_->mu);
  state_->fail_write = true;
}

void sqlite_faults::fail_next_sync() {
  std::lock_guard lock(state_->mu);
  state_->fail_sync = true;
}

void sqlite_faults::set_disk_full(bool full) {
  std::lock_guard lock(state_->mu);
  state_->full = full;
}

void sqlite_faults::hold_syncs(bool hold) {
  {
    std::lock_guard lock(state_->mu);
    state_->hold = hold;
  }
  state_->cv.notify_all();
}

void sqlite_faults::wait_for_held_sync() const {
  std::unique_lock lock(state_->mu);
  state_->cv.wait(lock, [&] { return state_->held > 0; });
}

}  // namespace doppel::store
