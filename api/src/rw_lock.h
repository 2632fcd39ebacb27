// api/src/rw_lock.h — a reader/writer lock that lets a waiting writer in.
//
// std::shared_mutex on glibc prefers readers: with a few threads reading back to back, a
// writer waiting to apply its committed batch to the index can starve forever (the
// concurrency test saw exactly that). POSIX's writer-preferring rwlock blocks new readers
// while a writer waits. It meets the SharedMutex requirements, so std::shared_lock and
// std::unique_lock work with it.
#pragma once

#include <pthread.h>

namespace engram::detail {

class RwLock {
 public:
  RwLock() {
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&lock_, &attr);
    pthread_rwlockattr_destroy(&attr);
  }
  ~RwLock() { pthread_rwlock_destroy(&lock_); }
  RwLock(const RwLock&) = delete;
  RwLock& operator=(const RwLock&) = delete;

  void lock() { pthread_rwlock_wrlock(&lock_); }
  bool try_lock() { return pthread_rwlock_trywrlock(&lock_) == 0; }
  void unlock() { pthread_rwlock_unlock(&lock_); }
  void lock_shared() { pthread_rwlock_rdlock(&lock_); }
  bool try_lock_shared() { return pthread_rwlock_tryrdlock(&lock_) == 0; }
  void unlock_shared() { pthread_rwlock_unlock(&lock_); }

 private:
  pthread_rwlock_t lock_;
};

}  // namespace engram::detail
